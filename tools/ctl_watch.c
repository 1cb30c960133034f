#include "ctl_watch.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl_testguest.h"

#define MSR_LSTAR 0xc0000082u

struct watch {
	uint64_t task_table_pa;
	uint64_t entry;      /* the system-call entry, once known */
	unsigned nr_calls;
	unsigned nr_exits;
	bool table_shown;
};

static vmscope_t *watched;

static void watch__stop(int sig)
{
	(void)sig;
	vmscope_stop(watched);
}

static void watch__show_tasks(vmscope_t *vm, struct watch *w, const char *when)
{
	struct tg_task_table tt;

	if (testguest__read_tasks(vm, w->task_table_pa, &tt) < 0)
		return;
	printf("watch: task table %s (read from guest memory; USER-NAME through each task's CR3):\n",
	       when);
	testguest__print_tasks(vm, &tt, false);
}

static int watch__plant(vmscope_t *vm, struct watch *w, uint64_t cr3, uint64_t entry)
{
	uint64_t gpa;
	int r = vmscope_set_bp_va(vm, cr3, entry, &gpa);

	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: watch: breakpoint at 0x%" PRIx64 ": %s\n", entry,
			vmscope_last_error(vm));
		return r;
	}
	w->entry = entry;
	printf("watch: breakpoint on the system-call entry 0x%" PRIx64 " (guest-physical 0x%" PRIx64
	       ")\n", entry, gpa);
	return 0;
}

/* The guest writing LSTAR: its system-call entry becomes known. */
static int watch__on_msr(vmscope_t *vm, const struct vmscope_event *ev,
			 struct vmscope_response *rsp, void *opaque)
{
	struct watch *w = opaque;

	(void)rsp;
	if (ev->u.msr.index != MSR_LSTAR || w->entry)
		return 0;
	printf("watch: vCPU %u wrote LSTAR = 0x%" PRIx64 " at RIP 0x%" PRIx64 "\n", ev->vcpu,
	       ev->u.msr.value, ev->regs.rip);
	watch__plant(vm, w, ev->regs.cr3, ev->u.msr.value);
	return 0;
}

/* Prints the text a task asked to write, read through its own page tables. */
static void watch__print_write(vmscope_t *vm, const struct vmscope_regs *r)
{
	char text[81];
	size_t len = r->rsi < sizeof(text) - 1 ? r->rsi : sizeof(text) - 1;
	int64_t n = vmscope_read_va(vm, r->cr3, r->rdi, text, len);

	if (n < 0) {
		printf("write(0x%" PRIx64 ", %" PRIu64 ") [buffer not mapped]", r->rdi, r->rsi);
		return;
	}
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = 0;
	for (int64_t i = 0; i < n; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = '.';
	printf("write(0x%" PRIx64 ", %" PRIu64 ") \"%s\"", r->rdi, r->rsi, text);
}

static int watch__on_syscall(vmscope_t *vm, const struct vmscope_event *ev,
			     struct vmscope_response *rsp, void *opaque)
{
	struct watch *w = opaque;
	const struct vmscope_regs *r = &ev->regs;
	struct tg_task_table tt;
	const struct tg_task *t = NULL;
	char name[TG_TASK_NAME_LEN + 1] = "?";

	(void)rsp;
	if (ev->u.bp.gva != w->entry && ev->regs.rip != w->entry)
		return 0;
	if (!w->table_shown) {
		watch__show_tasks(vm, w, "at the first system call");
		w->table_shown = true;
	}
	if (testguest__read_tasks(vm, w->task_table_pa, &tt) == 0)
		t = testguest__task_by_cr3(&tt, r->cr3);
	if (t) {
		memcpy(name, t->name, TG_TASK_NAME_LEN);
		name[TG_TASK_NAME_LEN] = 0;
	}
	w->nr_calls++;
	printf("watch: vCPU %u task %u (%s): ", ev->vcpu, t ? t->id : 0, name);
	switch (r->rax) {
	case TG_SYS_WRITE:
		watch__print_write(vm, r);
		break;
	case TG_SYS_YIELD:
		printf("yield()");
		break;
	case TG_SYS_EXIT:
		printf("exit(%" PRIu64 ", result 0x%" PRIx64 ")", r->rdi, r->rsi);
		w->nr_exits++;
		break;
	case TG_SYS_GETID:
		printf("getid()");
		break;
	default:
		printf("unknown system call %" PRIu64, r->rax);
	}
	printf("\n");
	if (t && r->rax == TG_SYS_EXIT && w->nr_exits == tt.nr_tasks)
		watch__show_tasks(vm, w, "as the last task exits");
	fflush(stdout);
	return 0;
}

/* The system-call entry, if the guest has installed it already. */
static uint64_t watch__current_entry(vmscope_t *vm, uint64_t *cr3)
{
	struct vmscope_regs regs;
	uint64_t lstar = 0;

	if (vmscope_pause(vm, VMSCOPE_ALL_VCPUS) < 0)
		return 0;
	if (vmscope_get_msr(vm, 0, MSR_LSTAR, &lstar) < 0 || vmscope_get_regs(vm, 0, &regs) < 0)
		lstar = 0;
	*cr3 = regs.cr3;
	return lstar;
}

int ctl_watch(vmscope_t *vm, const char *guest_elf, int timeout_ms)
{
	struct sigaction sa = { .sa_handler = watch__stop };
	struct watch w = { 0 };
	uint32_t lstar = MSR_LSTAR;
	uint64_t va, cr3 = 0, entry;
	int r = testguest__symbol(guest_elf, "tg_task_table", &va, &w.task_table_pa);

	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: watch: cannot find tg_task_table in %s: %s\n", guest_elf,
			strerror(-r));
		return 1;
	}
	r = vmscope_subscribe(vm, VMSCOPE_EV_BREAKPOINT, 1, watch__on_syscall, &w);
	if (r == 0)
		r = vmscope_watch_msrs(vm, &lstar, 1);
	if (r == 0)
		r = vmscope_subscribe(vm, VMSCOPE_EV_MSR_WRITE, 1, watch__on_msr, &w);
	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: watch: %s\n", vmscope_last_error(vm));
		return 1;
	}
	printf("watch: attached: %u vCPU(s), %" PRIu64 " MiB of guest RAM mapped%s\n",
	       vmscope_vcpu_count(vm), vmscope_ram_size(vm) >> 20,
	       (vmscope_attach_flags(vm) & VMSCOPE_ATTACH_EMULATED)
		       ? "; host KVM emulates kernel mode: kernel-mode breakpoints only" : "");
	entry = watch__current_entry(vm, &cr3);
	if (entry && watch__plant(vm, &w, cr3, entry) < 0)
		return 1;
	if (!entry)
		printf("watch: the guest has not installed its system-call entry yet; watching LSTAR\n");
	vmscope_resume(vm, VMSCOPE_ALL_VCPUS);

	watched = vm;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = vmscope_event_loop(vm, timeout_ms);
	/* The loop reports a hang-up only once no events are left: ask again to tell. */
	if (r >= 0)
		r = vmscope_event_loop(vm, 100) == -ECONNRESET ? -ECONNRESET : r;
	printf("watch: %u system call(s) seen, %u task exit(s); %s\n", w.nr_calls, w.nr_exits,
	       r == -ECONNRESET ? "the guest has ended" : "detaching");
	return r < 0 && r != -ECONNRESET ? 1 : 0;
}
