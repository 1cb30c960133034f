/*
 * vmscope-ctl's live commands on a running VM (--socket PATH), one function
 * each, listed in vmscope-ctl.c's command table; the VM comes attached.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/testguest.h"
#include "vmscope/vmscope.h"

#include "ctl_hwwatch.h"
#include "ctl.h"
#include "ctl_num.h"
#include "ctl_testguest.h"
#include "ctl_watch.h"

/* The VM a signal stops (its event loop); the one thing a handler can reach. */
static vmscope_t *interrupted_vm;

static int die_vm(vmscope_t *vm, const char *what, int r)
{
	fprintf(stderr, "vmscope-ctl: %s: %s\n", what,
		vm && vmscope_last_error(vm)[0] ? vmscope_last_error(vm) : strerror(-r));
	return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
	return ctl__parse_u64(s, UINT64_MAX, out);
}

static void hexdump(uint64_t addr, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		printf("%016" PRIx64 ": ", addr + i);
		for (size_t j = i; j < i + 16; j++) {
			if (j < n)
				printf("%02x ", p[j]);
			else
				printf("   ");
		}
		printf(" ");
		for (size_t j = i; j < i + 16 && j < n; j++)
			putchar(p[j] >= 32 && p[j] < 127 ? p[j] : '.');
		putchar('\n');
	}
}

static void print_regs(const struct vmscope_regs *r)
{
	printf("rax %016" PRIx64 " rbx %016" PRIx64 " rcx %016" PRIx64 " rdx %016" PRIx64 "\n",
	       r->rax, r->rbx, r->rcx, r->rdx);
	printf("rsi %016" PRIx64 " rdi %016" PRIx64 " rsp %016" PRIx64 " rbp %016" PRIx64 "\n",
	       r->rsi, r->rdi, r->rsp, r->rbp);
	printf("r8  %016" PRIx64 " r9  %016" PRIx64 " r10 %016" PRIx64 " r11 %016" PRIx64 "\n",
	       r->r8, r->r9, r->r10, r->r11);
	printf("r12 %016" PRIx64 " r13 %016" PRIx64 " r14 %016" PRIx64 " r15 %016" PRIx64 "\n",
	       r->r12, r->r13, r->r14, r->r15);
	printf("rip %016" PRIx64 " rflags %08" PRIx64 " efer %" PRIx64 "\n", r->rip, r->rflags, r->efer);
	printf("cr0 %" PRIx64 " cr2 %" PRIx64 " cr3 %" PRIx64 " cr4 %" PRIx64 "\n", r->cr0, r->cr2,
	       r->cr3, r->cr4);
	printf("cs %04x ds %04x es %04x fs %04x gs %04x ss %04x fs_base %" PRIx64 " gs_base %" PRIx64
	       " kernel_gs_base %" PRIx64 "\n",
	       r->cs.selector, r->ds.selector, r->es.selector, r->fs.selector, r->gs.selector,
	       r->ss.selector, r->fs.base, r->gs.base, r->kernel_gs_base);
}

/* ---- Events ------------------------------------------------------------------- */

static int print_event(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		       void *opaque)
{
	struct ctl *c = opaque;

	(void)vm;
	(void)rsp;
	if (c->o->json) {
		printf("{\"kind\":\"%s\",\"vcpu\":%u,\"seq\":%" PRIu64 ",\"rip\":%" PRIu64
		       ",\"cr3\":%" PRIu64 ",\"rax\":%" PRIu64 ",\"rdi\":%" PRIu64 ",\"rsi\":%" PRIu64
		       ",\"rdx\":%" PRIu64,
		       vmscope_event_name(ev->kind), ev->vcpu, ev->seq, ev->regs.rip, ev->regs.cr3,
		       ev->regs.rax, ev->regs.rdi, ev->regs.rsi, ev->regs.rdx);
		switch (ev->kind) {
		case VMSCOPE_EV_IO:
			printf(",\"port\":%u,\"size\":%u,\"write\":%u,\"count\":%u", ev->u.io.port,
			       ev->u.io.size, ev->u.io.is_write, ev->u.io.count);
			break;
		case VMSCOPE_EV_MMIO:
			printf(",\"gpa\":%" PRIu64 ",\"len\":%u,\"write\":%u", ev->u.mmio.gpa,
			       ev->u.mmio.len, ev->u.mmio.is_write);
			break;
		case VMSCOPE_EV_BREAKPOINT:
			printf(",\"gpa\":%" PRIu64 ",\"gva\":%" PRIu64, ev->u.bp.gpa, ev->u.bp.gva);
			break;
		case VMSCOPE_EV_HW_BREAKPOINT:
			printf(",\"addr\":%" PRIu64 ",\"slot\":%u,\"type\":%u,\"len\":%u,\"dr6\":%" PRIu64,
			       ev->u.hw_bp.addr, ev->u.hw_bp.slot, ev->u.hw_bp.type, ev->u.hw_bp.len,
			       ev->u.hw_bp.dr6);
			break;
		case VMSCOPE_EV_MSR_READ:
		case VMSCOPE_EV_MSR_WRITE:
			printf(",\"msr\":%u,\"value\":%" PRIu64, ev->u.msr.index, ev->u.msr.value);
			break;
		case VMSCOPE_EV_PAGE_WRITE:
			printf(",\"gpa\":%" PRIu64 ",\"len\":%u", ev->u.page_write.gpa,
			       ev->u.page_write.len);
			break;
		}
		printf("}\n");
	} else {
		printf("vcpu %u seq %" PRIu64 " %-10s rip 0x%" PRIx64, ev->vcpu, ev->seq,
		       vmscope_event_name(ev->kind), ev->regs.rip);
		switch (ev->kind) {
		case VMSCOPE_EV_IO:
			printf(" port 0x%x %s size %u count %u", ev->u.io.port,
			       ev->u.io.is_write ? "out" : "in", ev->u.io.size, ev->u.io.count);
			break;
		case VMSCOPE_EV_MMIO:
			printf(" gpa 0x%" PRIx64 " %s len %u", ev->u.mmio.gpa,
			       ev->u.mmio.is_write ? "write" : "read", ev->u.mmio.len);
			break;
		case VMSCOPE_EV_BREAKPOINT:
			printf(" gpa 0x%" PRIx64 " rax 0x%" PRIx64 " rdi 0x%" PRIx64 " rsi 0x%" PRIx64
			       " rdx 0x%" PRIx64, ev->u.bp.gpa, ev->regs.rax, ev->regs.rdi,
			       ev->regs.rsi, ev->regs.rdx);
			break;
		case VMSCOPE_EV_HW_BREAKPOINT:
			printf(" addr 0x%" PRIx64 " slot %u dr6 0x%" PRIx64 " rax 0x%" PRIx64
			       " rdi 0x%" PRIx64 " rsi 0x%" PRIx64 " rdx 0x%" PRIx64, ev->u.hw_bp.addr,
			       ev->u.hw_bp.slot, ev->u.hw_bp.dr6, ev->regs.rax, ev->regs.rdi,
			       ev->regs.rsi, ev->regs.rdx);
			break;
		case VMSCOPE_EV_MSR_READ:
		case VMSCOPE_EV_MSR_WRITE:
			printf(" msr 0x%x value 0x%" PRIx64, ev->u.msr.index, ev->u.msr.value);
			break;
		case VMSCOPE_EV_PAGE_WRITE:
			printf(" gpa 0x%" PRIx64 " len %u", ev->u.page_write.gpa, ev->u.page_write.len);
			break;
		}
		printf("\n");
	}
	fflush(stdout);
	c->seen_events++;
	return c->o->max_events >= 0 && c->seen_events >= c->o->max_events;
}

static void on_sigint(int sig)
{
	(void)sig;
	vmscope_stop(interrupted_vm);
}

static int run_loop(struct ctl *c)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	int r;

	interrupted_vm = c->vm;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = vmscope_event_loop(c->vm, c->o->timeout_ms);
	return r < 0 ? die_vm(c->vm, "events", r) : 0;
}

/*
 * Streams events (events, break, protect, watch).  A guest held before its
 * first instruction (--vmi-wait) starts once the subscriptions are in place:
 * this client is the only one, so nobody else could start it.
 */
static int stream_events(struct ctl *c)
{
	if (vmscope_attach_flags(c->vm) & VMSCOPE_ATTACH_PAUSED) {
		int r = vmscope_resume(c->vm, VMSCOPE_ALL_VCPUS);

		if (r < 0)
			return die_vm(c->vm, "resume", r);
	}
	return run_loop(c);
}

static int kind_of(const char *name)
{
	for (unsigned k = 0; k < VMSCOPE_EV_NR; k++)
		if (strcmp(vmscope_event_name(k), name) == 0)
			return (int)k;
	return -1;
}

/* ---- The live commands, one function each ------------------------------------ */

static int cmd_pause_resume(struct ctl *c, bool pause)
{
	unsigned which = c->o->have_vcpu ? c->o->vcpu : VMSCOPE_ALL_VCPUS;
	int r = pause ? vmscope_pause(c->vm, which) : vmscope_resume(c->vm, which);

	if (r < 0)
		return die_vm(c->vm, pause ? "pause" : "resume", r);
	if (pause) {
		/* Detaching resumes the guest: stay attached until interrupted or timeout. */
		fprintf(stderr, "vmscope-ctl: paused; the guest resumes when vmscope-ctl exits\n");
		run_loop(c);
	}
	return 0;
}

int ctl_live__pause(struct ctl *c, int argc, char **argv)
{
	(void)argc, (void)argv;
	return cmd_pause_resume(c, true);
}

int ctl_live__resume(struct ctl *c, int argc, char **argv)
{
	(void)argc, (void)argv;
	return cmd_pause_resume(c, false);
}

int ctl_live__regs(struct ctl *c, int argc, char **argv)
{
	struct vmscope_regs regs;
	int r = vmscope_sample_regs(c->vm, c->o->vcpu, &regs);

	(void)argc, (void)argv;
	if (r < 0)
		return die_vm(c->vm, "regs", r);
	print_regs(&regs);
	return 0;
}

int ctl_live__read(struct ctl *c, int argc, char **argv)
{
	uint64_t addr, len;
	uint8_t *buf;
	int64_t n;
	int status = 0;

	(void)argc;
	if (parse_u64(argv[0], &addr) || parse_u64(argv[1], &len) || len > (1 << 24))
		return CTL_BAD_ARGS;
	buf = malloc(len ? len : 1);
	if (!buf)
		return die_vm(NULL, "read", -ENOMEM);
	n = c->o->have_cr3 ? vmscope_read_va(c->vm, c->o->cr3, addr, buf, len)
			   : vmscope_read_pa(c->vm, addr, buf, len);
	if (n < 0)
		status = die_vm(c->vm, "read", (int)n);
	else
		hexdump(addr, buf, (size_t)n);
	if (n >= 0 && (uint64_t)n < len) {
		fprintf(stderr, "vmscope-ctl: read: only %" PRId64 " bytes mapped\n", n);
		status = 1;
	}
	free(buf);
	return status;
}

int ctl_live__write(struct ctl *c, int argc, char **argv)
{
	size_t n = strlen(argv[1]) / 2;
	uint8_t buf[4096];
	uint64_t addr;
	int64_t w;

	(void)argc;
	if (parse_u64(argv[0], &addr) || strlen(argv[1]) % 2 || n > sizeof(buf))
		return CTL_BAD_ARGS;
	for (size_t i = 0; i < n; i++) {
		char hex[3] = { argv[1][2 * i], argv[1][2 * i + 1], 0 };
		char *end;

		buf[i] = (uint8_t)strtoul(hex, &end, 16);
		if (*end)
			return CTL_BAD_ARGS;
	}
	w = c->o->have_cr3 ? vmscope_write_va(c->vm, c->o->cr3, addr, buf, n)
			   : vmscope_write_pa(c->vm, addr, buf, n);
	return w == (int64_t)n ? 0 : die_vm(c->vm, "write", w < 0 ? (int)w : -EFAULT);
}

int ctl_live__translate(struct ctl *c, int argc, char **argv)
{
	uint64_t cr3, va, pa, ps;
	int r;

	(void)argc;
	if (parse_u64(argv[0], &cr3) || parse_u64(argv[1], &va))
		return CTL_BAD_ARGS;
	r = vmscope_translate(c->vm, cr3, va, 0, &pa, &ps);
	if (r < 0)
		return die_vm(c->vm, "translate", r);
	printf("0x%" PRIx64 " -> 0x%" PRIx64 " (page size 0x%" PRIx64 ")\n", va, pa, ps);
	return 0;
}

/* break ADDR: an int3, or with --hw a debug register. */
int ctl_live__break(struct ctl *c, int argc, char **argv)
{
	uint64_t addr, gva, gpa = 0;
	unsigned slot = 0;
	int r;

	(void)argc;
	if (parse_u64(argv[0], &addr))
		return CTL_BAD_ARGS;
	if (c->o->hw) {
		gva = addr;
		r = vmscope_subscribe(c->vm, VMSCOPE_EV_HW_BREAKPOINT, 0, print_event, c);
		if (r == 0)
			r = c->o->have_cr3
				? vmscope_set_hwbp(c->vm, addr, VMSCOPE_HWBP_EXEC, 1, &slot)
				: vmscope_set_hwbp_pa(c->vm, addr, VMSCOPE_HWBP_EXEC, 1, &gva, &slot);
		if (r < 0)
			return die_vm(c->vm, "break --hw", r);
		fprintf(stderr, "vmscope-ctl: hardware breakpoint at 0x%" PRIx64 " (slot %u)\n", gva,
			slot);
		return stream_events(c);
	}
	r = vmscope_subscribe(c->vm, VMSCOPE_EV_BREAKPOINT, 0, print_event, c);
	if (r == 0)
		r = c->o->have_cr3 ? vmscope_set_bp_va(c->vm, c->o->cr3, addr, &gpa)
				   : vmscope_set_bp_pa(c->vm, gpa = addr);
	if (r < 0)
		return die_vm(c->vm, "break", r);
	fprintf(stderr, "vmscope-ctl: breakpoint at gpa 0x%" PRIx64 "%s\n", gpa,
		(vmscope_attach_flags(c->vm) & VMSCOPE_ATTACH_EMULATED)
			? " (this host sees kernel-mode hits only)" : "");
	return stream_events(c);
}

int ctl_live__protect(struct ctl *c, int argc, char **argv)
{
	uint64_t addr, gpa, page;
	int r;

	(void)argc;
	if (parse_u64(argv[0], &addr))
		return CTL_BAD_ARGS;
	gpa = addr;
	r = c->o->have_cr3 ? vmscope_translate(c->vm, c->o->cr3, addr, 0, &gpa, NULL) : 0;
	page = gpa & ~(uint64_t)0xfff;
	if (r == 0)
		r = vmscope_subscribe(c->vm, VMSCOPE_EV_PAGE_WRITE, 0, print_event, c);
	if (r == 0)
		r = vmscope_protect_page(c->vm, page);
	if (r < 0)
		return die_vm(c->vm, "protect", r);
	fprintf(stderr, "vmscope-ctl: page 0x%" PRIx64 " protected: its writes follow\n", page);
	return stream_events(c);
}

int ctl_live__events(struct ctl *c, int argc, char **argv)
{
	uint64_t caps = vmscope_caps(c->vm);
	int r = 0;

	if (c->o->nr_msrs)
		r = vmscope_watch_msrs(c->vm, c->o->msrs, c->o->nr_msrs);
	for (int i = 0; i < argc && r == 0; i++) {
		int k = kind_of(argv[i]);

		if (k < 0) {
			fprintf(stderr, "vmscope-ctl: unknown event kind '%s'\n", argv[i]);
			return 2;
		}
		if ((k == VMSCOPE_EV_MSR_READ || k == VMSCOPE_EV_MSR_WRITE) && !c->o->nr_msrs) {
			fprintf(stderr, "vmscope-ctl: %s events are for the MSRs named with "
				"--msr INDEX[,INDEX...]\n", argv[i]);
			return 2;
		}
		r = vmscope_subscribe(c->vm, (unsigned)k, 0, print_event, c);
	}
	for (unsigned k = 0; argc == 0 && k < VMSCOPE_EV_NR && r == 0; k++)
		if ((caps & (1u << k)) && k != VMSCOPE_EV_BREAKPOINT && k != VMSCOPE_EV_SINGLESTEP)
			r = vmscope_subscribe(c->vm, k, 0, print_event, c);
	return r < 0 ? die_vm(c->vm, "subscribe", r) : stream_events(c);
}

int ctl_live__stats(struct ctl *c, int argc, char **argv)
{
	uint64_t counts[VMSCOPE_EV_NR + 1];

	(void)argc, (void)argv;
	for (unsigned i = 0; i < vmscope_vcpu_count(c->vm); i++) {
		vmscope_exit_stats(c->vm, i, counts);
		printf("vcpu %u:", i);
		for (unsigned k = 0; k <= VMSCOPE_EV_NR; k++)
			if (counts[k])
				printf(" %s=%" PRIu64, k < VMSCOPE_EV_NR ? vmscope_event_name(k) : "other",
				       counts[k]);
		printf(" overflow=%" PRIu64 "\n", vmscope_event_overflow(c->vm, i));
	}
	return 0;
}

static const char *guest_elf_of(const struct ctl *c)
{
	return c->o->guest_elf ? c->o->guest_elf : testguest__default_elf();
}

/* The test guest's task table. */
int ctl_live__tasks(struct ctl *c, int argc, char **argv)
{
	const char *path = guest_elf_of(c);
	struct tg_task_table tt;
	uint64_t va, pa;
	int r = testguest__symbol(path, "tg_task_table", &va, &pa);

	(void)argc, (void)argv;
	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: tasks: cannot find tg_task_table in %s: %s\n", path,
			strerror(-r));
		return 1;
	}
	r = testguest__read_tasks(c->vm, pa, &tt);
	if (r == -EINVAL) {
		fprintf(stderr, "vmscope-ctl: tasks: no task table at 0x%" PRIx64
			" (not the test guest?)\n", pa);
		return 1;
	}
	if (r < 0)
		return die_vm(c->vm, "tasks: reading the task table", r);
	testguest__print_tasks(c->vm, &tt, c->o->json);
	return 0;
}

/* watch ADDR LEN [w|rw]: a hardware watchpoint; watch alone: follow the test guest. */
int ctl_live__watch(struct ctl *c, int argc, char **argv)
{
	unsigned type = VMSCOPE_HWBP_WRITE;
	uint64_t addr, len;
	int status;

	if (argc == 0)
		return ctl_watch(c->vm, guest_elf_of(c), c->o->timeout_ms);
	if (argc == 1 || parse_u64(argv[0], &addr) || parse_u64(argv[1], &len) || len > 8)
		return CTL_BAD_ARGS;
	if (argc == 3 && strcmp(argv[2], "rw") == 0) {
		type = VMSCOPE_HWBP_RW;
	} else if (argc == 3 && strcmp(argv[2], "w") != 0) {
		fprintf(stderr, "vmscope-ctl: watch: '%s': w (writes) or rw (reads and writes); "
			"x86 has no read-only watch\n", argv[2]);
		return 2;
	}
	status = ctl_hw_watch(c->vm, addr, c->o->have_cr3, (unsigned)len, type, c->o->max_events,
			      c->o->json);
	return status ? status : stream_events(c);
}
