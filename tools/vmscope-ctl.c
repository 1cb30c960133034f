/*
 * vmscope-ctl: a command-line client of a running vmscope (--vmi-socket),
 * built on libvmscope.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmscope/testguest.h"
#include "vmscope/vmscope.h"

#include "ctl_api.h"
#include "ctl_linux.h"
#include "ctl_num.h"
#include "ctl_testguest.h"
#include "ctl_hwwatch.h"
#include "ctl_watch.h"


static const char *sock_path;
static const char *guest_elf;
static int json;
static uint64_t cr3_opt;
static int have_cr3;
static int hw;
static uint32_t msrs[VMSCOPE_MAX_WATCHED_MSRS];
static unsigned nr_msrs;
static unsigned vcpu_opt;
static vmscope_t *g_vm;

static void usage(FILE *f)
{
	fputs("Usage: vmscope-ctl --socket PATH [options] COMMAND [ARGS]\n"
	      "Commands:\n"
	      "  pause | resume                 stop or restart all vCPUs (--vcpu N: one)\n"
	      "  regs                           registers of --vcpu N (default 0; pauses briefly)\n"
	      "  read ADDR LEN                  hex dump; physical, or virtual with --cr3 X\n"
	      "  write ADDR HEXBYTES            write bytes; physical, or virtual with --cr3 X\n"
	      "  translate CR3 VA               virtual to physical\n"
	      "  break ADDR                     breakpoint (virtual with --cr3), print hits;\n"
	      "                                 --hw: a debug register, guest memory untouched\n"
	      "  protect ADDR                   protect the page of ADDR (virtual with --cr3): print\n"
	      "                                 every write to it (the writes still happen)\n"
	      "  events [KIND...]               stream events (default: all async kinds); --json;\n"
	      "                                 msr-read and msr-write need --msr INDEX[,INDEX...]\n"
	      "  stats                          exit counts by kind, per vCPU\n"
	      "  tasks                          the test guest's task table (--guest-elf PATH)\n"
	      "  watch ADDR LEN [w|rw]          hardware watchpoint on LEN (1, 2, 4, 8) bytes, writes\n"
	      "                                 (w, default) or reads and writes (rw; x86 has no\n"
	      "                                 read-only watch): each hit with RIP, old and new value\n"
	      "  watch                          follow the test guest: its system-call entry (LSTAR),\n"
	      "                                 every system call with its task, the task table\n"
	      "Options: --socket PATH, --vcpu N, --cr3 X, --json, --count N, --timeout MS,\n"
	      "         --guest-elf PATH, --hw, --msr INDEX[,INDEX...]\n"
	      "A hardware breakpoint or watchpoint takes a virtual address with --cr3 X (any X:\n"
	      "debug registers watch linear addresses), else a physical one, looked up in vCPU 0's\n"
	      "page tables.\n"
	      "Linux guests: on a dump (--core FILE, --raw FILE) or live (--socket PATH), with\n"
	      "[--vmlinux FILE] [--system-map FILE] [--json]:\n"
	      "  info                           what was found about the kernel, and how\n"
	      "  ps                             processes: pid, parent, state, user ids, page-table root\n"
	      "  lsmod                          loaded modules, as /proc/modules\n"
	      "  dmesg                          the kernel log buffer\n"
	      "  cmdline PID                    a process's command line, read from its memory\n"
	      "  read PID VA LEN                hex dump of a process's memory (with --core/--raw)\n"
	      "  syscalls                       the kernel's system-call table\n"
	      "  sym NAME                       run-time address of a kernel symbol\n"
	      "  trace [SECONDS]                trace a live guest's system calls (--hw: with a\n"
	      "                                 debug register, kernel text untouched)\n", f);
	ctl_api__usage(f);
	fputs("Options may stand before or after the command.\n"
	      "\n"
	      "Examples:\n"
	      "  vmscope-ctl --socket /tmp/vm.sock watch\n"
	      "                                 follow the test guest's system calls (vmscope\n"
	      "                                 started with --vmi-socket /tmp/vm.sock --vmi-wait)\n"
	      "  vmscope-ctl --socket /tmp/vm.sock events io msr-write --msr 0xc0000082 --json\n"
	      "                                 stream its port I/O and its LSTAR writes as JSON\n"
	      "  vmscope-ctl --socket /tmp/vm.sock ps\n"
	      "                                 the processes of a running Linux guest\n"
	      "  vmscope-ctl --core guest.core ps\n"
	      "                                 the same in a core dump\n", f);
}

static int die_vm(const char *what, int r)
{
	fprintf(stderr, "vmscope-ctl: %s: %s\n", what,
		g_vm && vmscope_last_error(g_vm)[0] ? vmscope_last_error(g_vm) : strerror(-r));
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

/* ---- The test guest's tasks ------------------------------------------------ */

static int cmd_tasks(vmscope_t *vm)
{
	const char *path = guest_elf ? guest_elf : testguest__default_elf();
	struct tg_task_table tt;
	uint64_t va, pa;
	int r = testguest__symbol(path, "tg_task_table", &va, &pa);

	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: tasks: cannot find tg_task_table in %s: %s\n", path,
			strerror(-r));
		return 1;
	}
	r = testguest__read_tasks(vm, pa, &tt);
	if (r == -EINVAL) {
		fprintf(stderr, "vmscope-ctl: tasks: no task table at 0x%" PRIx64 " (not the test guest?)\n", pa);
		return 1;
	}
	if (r < 0)
		return die_vm("tasks: reading the task table", r);
	testguest__print_tasks(vm, &tt, json);
	return 0;
}

/* ---- Events ------------------------------------------------------------------- */

static long max_events = -1, seen_events;

static int print_event(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		       void *opaque)
{
	(void)vm;
	(void)rsp;
	(void)opaque;
	if (json) {
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
	seen_events++;
	return max_events >= 0 && seen_events >= max_events;
}

static void on_sigint(int sig)
{
	(void)sig;
	vmscope_stop(g_vm);
}

static int run_loop(vmscope_t *vm, int timeout_ms)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	int r;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = vmscope_event_loop(vm, timeout_ms);
	return r < 0 ? die_vm("events", r) : 0;
}

/*
 * Streams events (events, break).  A guest held before its first instruction
 * (--vmi-wait) starts once the subscriptions are in place: this client is
 * the only one, so nobody else could start it.
 */
static int stream_events(vmscope_t *vm, int timeout_ms)
{
	if (vmscope_attach_flags(vm) & VMSCOPE_ATTACH_PAUSED) {
		int r = vmscope_resume(vm, VMSCOPE_ALL_VCPUS);

		if (r < 0)
			return die_vm("resume", r);
	}
	return run_loop(vm, timeout_ms);
}

/* --msr INDEX[,INDEX...]: the MSRs that MSR events are for. */
static int parse_msrs(const char *list)
{
	char buf[256], *save = NULL;
	uint64_t v;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (nr_msrs == VMSCOPE_MAX_WATCHED_MSRS || parse_u64(t, &v) || v > UINT32_MAX) {
			fprintf(stderr, "vmscope-ctl: --msr: '%s': at most %d MSR indexes of 32 bits\n",
				t, VMSCOPE_MAX_WATCHED_MSRS);
			return -1;
		}
		msrs[nr_msrs++] = (uint32_t)v;
	}
	return nr_msrs ? 0 : -1;
}

static int kind_of(const char *name)
{
	for (unsigned k = 0; k < VMSCOPE_EV_NR; k++)
		if (strcmp(vmscope_event_name(k), name) == 0)
			return (int)k;
	return -1;
}

static bool takes_value(const char *arg)
{
	static const char *const with_value[] = {
		"--socket", "--vcpu", "--cr3", "--count", "--timeout", "--guest-elf", "--api-socket",
		"--core", "--raw", "--vmlinux", "--system-map", "--msr", "-s", "-c", "-r", "-n", "-t",
		"-g",
	};

	for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
		if (strcmp(arg, with_value[k]) == 0)
			return true;
	return false;
}

/*
 * The arguments that are neither options nor options' values, in order,
 * gathered into out (which has room for argc): the command word and its
 * arguments, wherever the options stand.  Returns how many.
 */
static int positional_args(int argc, char **argv, char **out)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				out[n++] = argv[i];
			break;
		}
		if (argv[i][0] != '-')
			out[n++] = argv[i];
		else
			i += takes_value(argv[i]);
	}
	return n;
}

/* Where the command word is: the first positional argument (-1 when there is none). */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return i;
		i += takes_value(argv[i]);
	}
	return -1;
}

/* The value of --api-socket (as "--api-socket PATH" or "--api-socket=PATH"), or NULL. */
static const char *api_socket_option(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--api-socket") == 0)
			return i + 1 < argc ? argv[i + 1] : "";
		if (strncmp(argv[i], "--api-socket=", 13) == 0)
			return argv[i] + 13;
	}
	return NULL;
}

/*
 * Linux views belong to ctl_linux.c: its commands, and anything on a dump or
 * image (--core, --raw) or given kernel symbols (--vmlinux, --system-map).
 */
static bool is_linux_command_line(int argc, char **argv)
{
	static const char *const linux_words[] = {
		"info", "ps", "lsmod", "dmesg", "cmdline", "syscalls", "sym", "trace",
		"--core", "--raw", "--vmlinux", "--system-map",
	};
	int ci = command_index(argc, argv);
	const char *cmd = ci < 0 ? NULL : argv[ci];

	for (size_t k = 0; k < sizeof(linux_words) / sizeof(linux_words[0]); k++) {
		if (cmd && strcmp(cmd, linux_words[k]) == 0)
			return true;
		for (int i = 1; i < argc && linux_words[k][0] == '-'; i++)
			if (strcmp(argv[i], linux_words[k]) == 0)
				return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, 0, 's' }, { "vcpu", required_argument, 0, 'c' },
		{ "cr3", required_argument, 0, 'r' },    { "json", no_argument, 0, 'j' },
		{ "count", required_argument, 0, 'n' },  { "timeout", required_argument, 0, 't' },
		{ "guest-elf", required_argument, 0, 'g' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' },     { "hw", no_argument, &hw, 1 },
		{ "msr", required_argument, 0, 'm' },
		{ 0, 0, 0, 0 },
	};
	int timeout_ms = -1, c, err = 0, status = 0;
	const char *cmd;
	vmscope_t *vm;
	uint64_t v;

	const char *api_socket = api_socket_option(argc, argv);

	/* The REST API (--api-socket) and the Linux views have their own verbs. */
	if (api_socket) {
		char *args[argc > 0 ? argc : 1];
		int n = positional_args(argc, argv, args);

		if (!api_socket[0] || n == 0)
			goto bad;
		return ctl_api__run(api_socket, args[0], n - 1, args + 1);
	}
	if (is_linux_command_line(argc, argv))
		return ctl_linux(argc, argv);
	sock_path = getenv("VMSCOPE_SOCKET");
	while ((c = getopt_long(argc, argv, "s:c:r:jn:t:g:m:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock_path = optarg; break;
		case 'c': if (parse_u64(optarg, &v) || v >= VMSCOPE_MAX_VCPUS) goto bad; vcpu_opt = (unsigned)v; break;
		case 'r': if (parse_u64(optarg, &cr3_opt)) goto bad; have_cr3 = 1; break;
		case 'j': json = 1; break;
		case 'n': if (parse_u64(optarg, &v)) goto bad; max_events = (long)v; break;
		case 't': if (parse_u64(optarg, &v) || v > 86400000) goto bad; timeout_ms = (int)v; break;
		case 'g': guest_elf = optarg; break;
		case 'm': if (parse_msrs(optarg)) goto bad; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vmscope-ctl " VMSCOPE_VERSION "\n"); return 0;
		case 0: break; /* a flag (--hw) */
		default: goto bad;
		}
	}
	if (optind >= argc || !sock_path)
		goto bad;
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;

	vm = g_vm = vmscope_attach(sock_path, &err);
	if (!vm) {
		fprintf(stderr, "vmscope-ctl: attach %s: %s\n", sock_path, vmscope_last_error(NULL));
		return 1;
	}
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
		unsigned which = argc ? vcpu_opt : VMSCOPE_ALL_VCPUS;
		int r = !strcmp(cmd, "pause") ? vmscope_pause(vm, which) : vmscope_resume(vm, which);

		status = r < 0 ? die_vm(cmd, r) : 0;
		if (!strcmp(cmd, "pause") && r == 0) {
			/* Detaching resumes the guest: stay attached until interrupted or timeout. */
			fprintf(stderr, "vmscope-ctl: paused; the guest resumes when vmscope-ctl exits\n");
			run_loop(vm, timeout_ms);
		}
	} else if (!strcmp(cmd, "regs")) {
		struct vmscope_regs regs;
		int r = vmscope_sample_regs(vm, vcpu_opt, &regs);

		if (r < 0)
			status = die_vm("regs", r);
		else
			print_regs(&regs);
	} else if (!strcmp(cmd, "read") && argc == 2) {
		uint64_t addr, len;
		uint8_t *buf;
		int64_t n;

		if (parse_u64(argv[0], &addr) || parse_u64(argv[1], &len) || len > (1 << 24))
			goto bad_vm;
		buf = malloc(len ? len : 1);
		n = have_cr3 ? vmscope_read_va(vm, cr3_opt, addr, buf, len)
			     : vmscope_read_pa(vm, addr, buf, len);
		if (n < 0)
			status = die_vm("read", (int)n);
		else
			hexdump(addr, buf, (size_t)n);
		if (n >= 0 && (uint64_t)n < len)
			fprintf(stderr, "vmscope-ctl: read: only %" PRId64 " bytes mapped\n", n), status = 1;
		free(buf);
	} else if (!strcmp(cmd, "write") && argc == 2) {
		uint64_t addr;
		size_t n = strlen(argv[1]) / 2;
		uint8_t buf[4096];
		int64_t w;

		if (parse_u64(argv[0], &addr) || strlen(argv[1]) % 2 || n > sizeof(buf))
			goto bad_vm;
		for (size_t i = 0; i < n; i++) {
			char hex[3] = { argv[1][2 * i], argv[1][2 * i + 1], 0 };
			char *end;

			buf[i] = (uint8_t)strtoul(hex, &end, 16);
			if (*end)
				goto bad_vm;
		}
		w = have_cr3 ? vmscope_write_va(vm, cr3_opt, addr, buf, n)
			     : vmscope_write_pa(vm, addr, buf, n);
		if (w != (int64_t)n)
			status = die_vm("write", w < 0 ? (int)w : -EFAULT);
	} else if (!strcmp(cmd, "translate") && argc == 2) {
		uint64_t cr3, va, pa, ps;
		int r;

		if (parse_u64(argv[0], &cr3) || parse_u64(argv[1], &va))
			goto bad_vm;
		r = vmscope_translate(vm, cr3, va, 0, &pa, &ps);
		if (r < 0)
			status = die_vm("translate", r);
		else
			printf("0x%" PRIx64 " -> 0x%" PRIx64 " (page size 0x%" PRIx64 ")\n", va, pa, ps);
	} else if (!strcmp(cmd, "break") && argc == 1 && hw) {
		uint64_t addr, gva;
		unsigned slot = 0;
		int r;

		if (parse_u64(argv[0], &addr))
			goto bad_vm;
		gva = addr;
		r = vmscope_subscribe(vm, VMSCOPE_EV_HW_BREAKPOINT, 0, print_event, NULL);
		if (r == 0)
			r = have_cr3 ? vmscope_set_hwbp(vm, addr, VMSCOPE_HWBP_EXEC, 1, &slot)
				     : vmscope_set_hwbp_pa(vm, addr, VMSCOPE_HWBP_EXEC, 1, &gva, &slot);
		if (r < 0)
			status = die_vm("break --hw", r);
		else {
			fprintf(stderr, "vmscope-ctl: hardware breakpoint at 0x%" PRIx64 " (slot %u)\n",
				gva, slot);
			status = stream_events(vm, timeout_ms);
		}
	} else if (!strcmp(cmd, "break") && argc == 1) {
		uint64_t addr, gpa = 0;
		int r;

		if (parse_u64(argv[0], &addr))
			goto bad_vm;
		r = vmscope_subscribe(vm, VMSCOPE_EV_BREAKPOINT, 0, print_event, NULL);
		if (r == 0)
			r = have_cr3 ? vmscope_set_bp_va(vm, cr3_opt, addr, &gpa)
				     : vmscope_set_bp_pa(vm, gpa = addr);
		if (r < 0)
			status = die_vm("break", r);
		else {
			fprintf(stderr, "vmscope-ctl: breakpoint at gpa 0x%" PRIx64 "%s\n", gpa,
				(vmscope_attach_flags(vm) & VMSCOPE_ATTACH_EMULATED)
					? " (this host sees kernel-mode hits only)" : "");
			status = stream_events(vm, timeout_ms);
		}
	} else if (!strcmp(cmd, "protect") && argc == 1) {
		uint64_t addr, gpa, page;
		int r;

		if (parse_u64(argv[0], &addr))
			goto bad_vm;
		gpa = addr;
		r = have_cr3 ? vmscope_translate(vm, cr3_opt, addr, 0, &gpa, NULL) : 0;
		page = gpa & ~(uint64_t)0xfff;
		if (r == 0)
			r = vmscope_subscribe(vm, VMSCOPE_EV_PAGE_WRITE, 0, print_event, NULL);
		if (r == 0)
			r = vmscope_protect_page(vm, page);
		if (r < 0)
			status = die_vm("protect", r);
		else {
			fprintf(stderr, "vmscope-ctl: page 0x%" PRIx64 " protected: its writes follow\n",
				page);
			status = stream_events(vm, timeout_ms);
		}
	} else if (!strcmp(cmd, "events")) {
		uint64_t caps = vmscope_caps(vm);
		int r = 0;

		if (nr_msrs)
			r = vmscope_watch_msrs(vm, msrs, nr_msrs);
		for (int i = 0; i < argc && r == 0; i++) {
			int k = kind_of(argv[i]);

			if (k < 0) {
				fprintf(stderr, "vmscope-ctl: unknown event kind '%s'\n", argv[i]);
				vmscope_close(vm);
				return 2;
			}
			if ((k == VMSCOPE_EV_MSR_READ || k == VMSCOPE_EV_MSR_WRITE) && !nr_msrs) {
				fprintf(stderr, "vmscope-ctl: %s events are for the MSRs named with "
					"--msr INDEX[,INDEX...]\n", argv[i]);
				vmscope_close(vm);
				return 2;
			}
			r = vmscope_subscribe(vm, (unsigned)k, 0, print_event, NULL);
		}
		for (unsigned k = 0; argc == 0 && k < VMSCOPE_EV_NR && r == 0; k++)
			if ((caps & (1u << k)) && k != VMSCOPE_EV_BREAKPOINT && k != VMSCOPE_EV_SINGLESTEP)
				r = vmscope_subscribe(vm, k, 0, print_event, NULL);
		status = r < 0 ? die_vm("subscribe", r) : stream_events(vm, timeout_ms);
	} else if (!strcmp(cmd, "stats")) {
		uint64_t counts[VMSCOPE_EV_NR + 1];

		for (unsigned i = 0; i < vmscope_vcpu_count(vm); i++) {
			vmscope_exit_stats(vm, i, counts);
			printf("vcpu %u:", i);
			for (unsigned k = 0; k <= VMSCOPE_EV_NR; k++)
				if (counts[k])
					printf(" %s=%" PRIu64, k < VMSCOPE_EV_NR ? vmscope_event_name(k) : "other",
					       counts[k]);
			printf(" overflow=%" PRIu64 "\n", vmscope_event_overflow(vm, i));
		}
	} else if (!strcmp(cmd, "tasks")) {
		status = cmd_tasks(vm);
	} else if (!strcmp(cmd, "watch") && (argc == 2 || argc == 3)) {
		uint64_t addr, len;
		unsigned type = VMSCOPE_HWBP_WRITE;

		if (parse_u64(argv[0], &addr) || parse_u64(argv[1], &len) || len > 8)
			goto bad_vm;
		if (argc == 3 && strcmp(argv[2], "rw") == 0)
			type = VMSCOPE_HWBP_RW;
		else if (argc == 3 && strcmp(argv[2], "w") != 0) {
			fprintf(stderr, "vmscope-ctl: watch: '%s': w (writes) or rw (reads and writes); "
				"x86 has no read-only watch\n", argv[2]);
			vmscope_close(vm);
			return 2;
		}
		status = ctl_hw_watch(vm, addr, have_cr3, (unsigned)len, type, max_events, json);
		if (status == 0)
			status = stream_events(vm, timeout_ms);
	} else if (!strcmp(cmd, "watch") && argc == 0) {
		status = ctl_watch(vm, guest_elf ? guest_elf : testguest__default_elf(), timeout_ms);
	} else {
		goto bad_vm;
	}
	vmscope_close(vm);
	return status;
bad_vm:
	vmscope_close(g_vm);
bad:
	usage(stderr);
	return 2;
}
