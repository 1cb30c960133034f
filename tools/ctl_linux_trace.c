/*
 * strace for a whole live Linux guest: a breakpoint on entry_SYSCALL_64 (the
 * first instruction the CPU runs after `syscall`), each hit decoded against
 * the kernel's own sys_call_table.  The vCPU is held only while one line is
 * formatted.  The breakpoint is an int3, or with --hw (and where the host
 * cannot intercept int3) a debug register, which leaves the kernel text as
 * it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_num.h"

struct trace {
	vmscope_linux_t *lx;
	int json;
	uint64_t entry_pa, entry_va;
	bool hw;
	unsigned long count;
};

static vmscope_t *trace_vm;

static void on_signal(int sig)
{
	(void)sig;
	if (trace_vm)
		vmscope_stop(trace_vm);
}

static int on_breakpoint(vmscope_t *vm, const struct vmscope_event *ev,
			 struct vmscope_response *rsp, void *opaque)
{
	struct trace *t = opaque;
	struct vmscope_linux_syscall sc;

	(void)vm;
	(void)rsp; /* continue: the hypervisor steps over the original instruction */
	if (t->hw ? ev->u.hw_bp.addr != t->entry_va : ev->u.bp.gpa != t->entry_pa)
		return 0;
	vmscope_linux_syscall_decode(t->lx, &ev->regs, &sc);
	t->count++;
	if (t->json)
		printf("{\"vcpu\":%u,\"pid\":%d,\"comm\":\"%s\",\"nr\":%" PRIu64 ",\"name\":\"%s\","
		       "\"args\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		       ",%" PRIu64 "]}\n",
		       ev->vcpu, sc.pid, sc.comm, sc.nr, sc.name, sc.args[0], sc.args[1],
		       sc.args[2], sc.args[3], sc.args[4], sc.args[5]);
	else
		printf("%5d %-15s %s(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
		       ", 0x%" PRIx64 ", 0x%" PRIx64 ")\n",
		       sc.pid, sc.comm, sc.name[0] ? sc.name : "?", sc.args[0], sc.args[1],
		       sc.args[2], sc.args[3], sc.args[4], sc.args[5]);
	fflush(stdout);
	return 0;
}

/* trace [SECONDS]: it attaches and learns the kernel itself, from a paused VM. */
int ctl_linux__trace(struct ctl *c, int argc, char **argv)
{
	const char *socket_path = c->o->socket;
	struct trace t = { .json = c->o->json, .hw = c->o->hw };
	int err = 0, r;
	uint64_t va, seconds = 0;
	vmscope_t *vm;

	if (argc == 1 && ctl__parse_u64(argv[0], 86400, &seconds)) {
		fprintf(stderr, "vmscope-ctl: trace [SECONDS], at most 86400\n");
		return 2;
	}

	if (!socket_path) {
		fprintf(stderr, "vmscope-ctl: trace needs a live guest (--socket)\n");
		return 2;
	}
	vm = vmscope_attach(socket_path, &err);
	if (!vm) {
		fprintf(stderr, "vmscope-ctl: %s: %s\n", socket_path, vmscope_last_error(NULL));
		return 1;
	}
	/* The kernel is learnt from a still picture. */
	if ((r = vmscope_pause(vm, VMSCOPE_ALL_VCPUS)) < 0) {
		fprintf(stderr, "vmscope-ctl: pause: %s\n", vmscope_last_error(vm));
		vmscope_close(vm);
		return 1;
	}
	t.lx = vmscope_linux_open(vm, &c->o->linux_opts, &err);
	if (!t.lx) {
		fprintf(stderr, "vmscope-ctl: no Linux kernel found: %s\n", vmscope_last_error(vm));
		vmscope_close(vm);
		return 1;
	}
	r = vmscope_linux_syscall_entry(t.lx, &va, &t.entry_pa);
	t.entry_va = va;
	if (!(vmscope_caps(vm) & (1u << VMSCOPE_EV_BREAKPOINT)) &&
	    (vmscope_caps(vm) & (1u << VMSCOPE_EV_HW_BREAKPOINT)) && !t.hw) {
		fprintf(stderr, "vmscope-ctl: this host cannot intercept int3: tracing with a "
				"debug-register breakpoint\n");
		t.hw = true;
	}
	if (r == 0)
		r = vmscope_subscribe(vm, t.hw ? VMSCOPE_EV_HW_BREAKPOINT : VMSCOPE_EV_BREAKPOINT, 1,
				      on_breakpoint, &t);
	if (r == 0)
		r = t.hw ? vmscope_set_hwbp(vm, va, VMSCOPE_HWBP_EXEC, 1, NULL)
			 : vmscope_set_bp_pa(vm, t.entry_pa);
	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: trace: %s\n", vmscope_last_error(vm));
		goto out;
	}
	if (vmscope_attach_flags(vm) & VMSCOPE_ATTACH_EMULATED)
		fprintf(stderr, "vmscope-ctl: note: this host runs guest kernel code emulated; "
				"tracing is slow\n");
	fprintf(stderr, "vmscope-ctl: tracing system calls at entry_SYSCALL_64 0x%" PRIx64
			" (physical 0x%" PRIx64 ") with %s\n", va, t.entry_pa,
		t.hw ? "a debug-register breakpoint" : "an int3 breakpoint");
	trace_vm = vm;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	vmscope_resume(vm, VMSCOPE_ALL_VCPUS);
	r = vmscope_event_loop(vm, seconds > 0 ? (int)seconds * 1000 : -1);
	if (r > 0)
		r = 0; /* the number of events delivered */
	vmscope_pause(vm, VMSCOPE_ALL_VCPUS);
	if (t.hw)
		vmscope_clear_hwbp(vm, va, VMSCOPE_HWBP_EXEC, 1);
	else
		vmscope_clear_bp_pa(vm, t.entry_pa);
	vmscope_resume(vm, VMSCOPE_ALL_VCPUS);
	fprintf(stderr, "vmscope-ctl: %lu system calls\n", t.count);
out:
	trace_vm = NULL;
	vmscope_linux_close(t.lx);
	vmscope_close(vm);
	return r < 0 ? 1 : 0;
}
