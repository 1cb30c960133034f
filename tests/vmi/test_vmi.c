/*
 * Introspection end to end: vmscope runs the embedded test guest as a child
 * process (--vmi-wait), this test attaches through libvmscope before the
 * guest runs and checks each kind of event against what the guest does.
 *   test_vmi VMSCOPE GUEST_ELF CASE
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmi_harness.h"
#include "vmscope/testguest.h"
#include "work.h"

static const char *vmscope_bin, *guest_elf;
static struct vmi_child child;
static vmscope_t *vm;
static bool emulated; /* the hypervisor says its KVM emulates kernel mode (kvm_pvm) */

/* The guest printed the right result for every task (serial console). */
static void check_results(void)
{
	const char *out = slurp(child.serial);
	static const char *const names[] = { "alpha", "beta", "gamma", "delta" };

	for (uint32_t id = 1; id <= 4; id++) {
		char line[96];

		snprintf(line, sizeof(line), "task %u (%s): result 0x%016" PRIx64, id, names[id - 1],
			 tg_work(id));
		CHECK(strstr(out, line), "serial output lacks '%s':\n%s", line, out);
	}
	CHECK(strstr(out, "all 4 tasks done"), "guest did not finish:\n%s", out);
}

static void start_with(const char *const *options)
{
	vmi_child__start(&child, vmscope_bin, options);
	vm = vmi_child__attach(&child);
	CHECK(vmscope_attach_flags(vm) & VMSCOPE_ATTACH_PAUSED, "vCPUs should wait (--vmi-wait)");
	emulated = vmscope_attach_flags(vm) & VMSCOPE_ATTACH_EMULATED;
}

static void start(const char *timeout)
{
	const char *const options[] = { "--vmi-timeout", timeout, NULL };

	start_with(timeout ? options : NULL);
}

static void finish(int want_status)
{
	int st;

	if (vm)
		vmscope_close(vm);
	vm = NULL;
	st = vmi_child__wait(&child);
	CHECK(st == want_status, "vmscope exited with %d, want %d; log:\n%s", st, want_status,
	      slurp(child.log));
}

/*
 * Whether this host's KVM intercepts int3 (vmscope probes it at start-up):
 * QEMU's emulated SVM lets the guest take it, and vmscope then refuses
 * breakpoints, saying why.
 */
static bool have_sw_bp(void)
{
	return vmscope_caps(vm) & (1u << VMSCOPE_EV_BREAKPOINT);
}

static int on_nothing(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp,
		      void *o)
{
	(void)v; (void)ev; (void)rsp; (void)o;
	return 0;
}

/* Breakpoints are refused with the probe's reason, and the guest is unharmed. */
static void check_bp_refused(void)
{
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_BREAKPOINT, 1, on_nothing, NULL) == -ENOTSUP,
	      "breakpoint events offered where int3 is not intercepted");
	CHECK(strstr(vmscope_last_error(vm), "probed at start"), "reason: %s",
	      vmscope_last_error(vm));
	CHECK(vmscope_set_bp_pa(vm, elf_sym(guest_elf, "tg_syscall_entry")) == -ENOTSUP,
	      "breakpoint planted where int3 is not intercepted");
	CHECK(strstr(vmscope_last_error(vm), "int3: "), "reason: %s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	finish(0);
	check_results(); /* no stray #BP reached the guest */
}

/* Runs the event loop until the guest ends (the hypervisor goes away). */
static void loop_until_exit(void)
{
	for (;;) {
		int r = vmscope_event_loop(vm, 1000);

		if (r == -ECONNRESET)
			return;
		if (r == 0 && waitpid(child.pid, NULL, WNOHANG) == child.pid) {
			CHECK(0, "vmscope ended but the loop did not notice");
		}
	}
}

/* ---- port I/O, asynchronous ------------------------------------------------------ */

static long io_events, io_ucalls, io_exits, pause_events, start_events;

static int on_io(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)rsp; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_IO, "kind %u", ev->kind);
	CHECK(!(ev->flags & VMSCOPE_EVF_SYNC), "async subscription got a sync event");
	io_events++;
	if (ev->u.io.port == TG_PORT_UCALL && ev->u.io.is_write)
		io_ucalls++;
	if (ev->u.io.port == TG_PORT_DEBUG_EXIT)
		io_exits++;
	return 0;
}

static int on_misc(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)rsp; (void)o;
	if (ev->kind == VMSCOPE_EV_VCPU_START) {
		CHECK(ev->regs.rip != 0, "start rip");
		start_events++;
	}
	if (ev->kind == VMSCOPE_EV_PAUSE)
		pause_events++;
	return 0;
}

static void case_io(void)
{
	start(NULL);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_IO, 0, on_io, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_VCPU_START, 0, on_misc, NULL) == 0, "%s", vmscope_last_error(vm));
	/* Synchronous: never dropped, however full the ring gets with I/O events meanwhile. */
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_PAUSE, 1, on_misc, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_pause(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	struct vmscope_regs regs;
	CHECK(vmscope_get_regs(vm, 0, &regs) == 0, "%s", vmscope_last_error(vm));
	CHECK(regs.cr0 & 1 && regs.efer & 0x400, "long mode: cr0 %" PRIx64 " efer %" PRIx64, regs.cr0, regs.efer);
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	/* Ucalls: BOOT, 4 TASK_DONE, CPUS, DONE; none lost, not even the last exit. */
	CHECK(io_ucalls == 7, "%ld ucall events, want 7", io_ucalls);
	CHECK(io_exits == 1, "%ld debug-exit events: the guest's last exit must reach the client",
	      io_exits);
	CHECK(io_events > io_ucalls, "%ld I/O events", io_events);
	CHECK(start_events == 1, "%ld vcpu-start events", start_events);
	CHECK(pause_events >= 1, "%ld pause events", pause_events);
	finish(0);
	check_results();
}

/* ---- MSR write of LSTAR, synchronous ------------------------------------------------ */

static uint64_t lstar_seen;

static int on_msr(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)rsp; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_MSR_WRITE && (ev->flags & VMSCOPE_EVF_SYNC), "kind");
	if (ev->u.msr.index == 0xc0000082)
		lstar_seen = ev->u.msr.value;
	return 0;
}

static void case_msr(void)
{
	uint32_t lstar = 0xc0000082;

	start(NULL);
	CHECK(vmscope_watch_msrs(vm, &lstar, 1) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_MSR_WRITE, 1, on_msr, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(lstar_seen == elf_sym(guest_elf, "tg_syscall_entry"), "LSTAR 0x%" PRIx64, lstar_seen);
	finish(0);
	check_results();
}

/* ---- breakpoint on the system-call entry; register change; single-step ------------- */

static long sys_count[8], bp_hits, steps;
static uint64_t entry, last_step_rip;
static int stepping;
static uint64_t write_len_ok;

static int on_bp(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_BREAKPOINT, "kind %u", ev->kind);
	CHECK(ev->u.bp.gva == entry && ev->regs.rip == entry, "rip 0x%" PRIx64, ev->regs.rip);
	bp_hits++;
	if (ev->regs.rax < 8)
		sys_count[ev->regs.rax]++;
	if (ev->regs.rax == TG_SYS_WRITE) {
		/* (buf, len): a user buffer and the line's length. */
		CHECK(ev->regs.rdi >= 0x40000000 && ev->regs.rdi < 0x40200000, "buf 0x%" PRIx64, ev->regs.rdi);
		CHECK(ev->regs.rsi > 30 && ev->regs.rsi < 60, "len %" PRIu64, ev->regs.rsi);
		write_len_ok++;
	}
	if (ev->regs.rax == TG_SYS_EXIT && ev->regs.rdi == 0 && bp_hits > 0) {
		CHECK(ev->regs.rdi == 0, "exit code");
	}
	if (ev->regs.rax == TG_SYS_GETID && !stepping && steps == 0) {
		/* Single-step the next few kernel instructions. */
		rsp->flags |= VMSCOPE_RSP_TOGGLE_SS;
		stepping = 1;
		last_step_rip = entry;
	}
	return 0;
}

static int on_step(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_SINGLESTEP, "kind");
	if (getenv("VMI_TEST_VERBOSE"))
		fprintf(stderr, "step %ld rip 0x%" PRIx64 "\n", steps, ev->regs.rip);
	/* swapgs (3 bytes), mov %rsp,%gs:16 (9), mov %gs:8,%rsp (9), push %gs:16 (8): consecutive. */
	CHECK(ev->regs.rip > last_step_rip && ev->regs.rip - last_step_rip <= 15,
	      "step %ld: rip 0x%" PRIx64 " after 0x%" PRIx64, steps, ev->regs.rip, last_step_rip);
	last_step_rip = ev->regs.rip;
	if (++steps == 4) {
		rsp->flags |= VMSCOPE_RSP_TOGGLE_SS;
		stepping = 0;
	}
	return 0;
}

static void case_breakpoint(void)
{
	uint64_t gpa;

	start(NULL);
	if (!have_sw_bp()) {
		check_bp_refused();
		return;
	}
	entry = elf_sym(guest_elf, "tg_syscall_entry");
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_BREAKPOINT, 1, on_bp, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_SINGLESTEP, 1, on_step, NULL) == 0, "%s", vmscope_last_error(vm));
	/* By virtual address through the guest's page tables (kernel CR3 of vCPU 0 at entry). */
	struct vmscope_regs regs;
	CHECK(vmscope_get_regs(vm, 0, &regs) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_set_bp_va(vm, regs.cr3, entry, &gpa) == 0, "%s", vmscope_last_error(vm));
	CHECK(gpa == entry, "gpa 0x%" PRIx64, gpa);
	CHECK(vmscope_set_bp_pa(vm, gpa) == -EEXIST, "second breakpoint at the same place");
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	/* Every task: getid, 3 yields, write, exit. */
	CHECK(bp_hits == 24, "%ld system calls seen", bp_hits);
	CHECK(sys_count[TG_SYS_GETID] == 4 && sys_count[TG_SYS_YIELD] == 12 &&
	      sys_count[TG_SYS_WRITE] == 4 && sys_count[TG_SYS_EXIT] == 4,
	      "getid %ld yield %ld write %ld exit %ld", sys_count[TG_SYS_GETID],
	      sys_count[TG_SYS_YIELD], sys_count[TG_SYS_WRITE], sys_count[TG_SYS_EXIT]);
	CHECK(write_len_ok == 4, "write args");
	CHECK(steps == 4, "%ld single-steps", steps);
	finish(0);
	check_results();
}

/* ---- hardware breakpoints and watchpoints ------------------------------------------ */

#define TEXT_START 0x100000 /* the test guest's kernel text, up to its page tables */
#define TEXT_END   0x102000

static long hw_hits, hw_sys[8], hw_watch_hits, hw_watch_bad;
static uint64_t hw_text_sum, hw_last_total, hw_total_gpa, hw_percpu;

/* FNV-1a over the kernel text, read from guest memory as it is now. */
static uint64_t text_sum(vmscope_t *v)
{
	static uint8_t text[TEXT_END - TEXT_START];
	uint64_t h = 0xcbf29ce484222325ULL;

	CHECK(vmscope_read_pa(v, TEXT_START, text, sizeof(text)) == (int64_t)sizeof(text), "text");
	for (size_t i = 0; i < sizeof(text); i++)
		h = (h ^ text[i]) * 0x100000001b3ULL;
	return h;
}

static int on_hwbp(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp,
		   void *o)
{
	(void)rsp; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_HW_BREAKPOINT, "kind %u", ev->kind);
	if (ev->u.hw_bp.type == VMSCOPE_HWBP_WRITE) {
		uint64_t now = 0;

		/* A trap: the write is done, RIP is past it, the vCPU waits for us. */
		CHECK(vmscope_read_pa(v, hw_total_gpa, &now, 8) == 8, "read");
		hw_watch_bad += now != hw_last_total + 1;
		hw_last_total = now;
		hw_watch_hits++;
		return 0;
	}
	CHECK(ev->u.hw_bp.addr == entry && ev->regs.rip == entry && ev->u.hw_bp.len == 1,
	      "hit at 0x%" PRIx64 ", rip 0x%" PRIx64, ev->u.hw_bp.addr, ev->regs.rip);
	CHECK(ev->u.hw_bp.dr6 & (1u << ev->u.hw_bp.slot), "dr6 0x%" PRIx64 " slot %u",
	      ev->u.hw_bp.dr6, ev->u.hw_bp.slot);
	/* Before swapgs: the kernel's per-CPU base is in KERNEL_GS_BASE, which the event carries. */
	CHECK(ev->regs.kernel_gs_base - hw_percpu < 0x1000, "kernel_gs_base 0x%" PRIx64 ", per-CPU "
	      "data at 0x%" PRIx64, ev->regs.kernel_gs_base, hw_percpu);
	if (ev->regs.rax < 8)
		hw_sys[ev->regs.rax]++;
	/* Stopped at the breakpoint, and not one byte of the text differs. */
	CHECK(text_sum(v) == hw_text_sum, "kernel text changed under a hardware breakpoint");
	hw_hits++;
	return 0;
}

static void case_hwbp(void)
{
	uint64_t gva = 0, spare[3] = { 0x116000, 0x116001, 0x116002 };
	unsigned slot = 9, nspare = 3;
	bool watch;

	start(NULL);
	entry = elf_sym(guest_elf, "tg_syscall_entry");
	hw_total_gpa = elf_sym(guest_elf, "tg_total_syscalls");
	hw_percpu = elf_sym(guest_elf, "tg_percpu");
	if (!(vmscope_caps(vm) & (1u << VMSCOPE_EV_HW_BREAKPOINT))) {
		CHECK(vmscope_set_hwbp(vm, entry, VMSCOPE_HWBP_EXEC, 1, NULL) == -ENOTSUP, "offered");
		CHECK(strstr(vmscope_last_error(vm), "probed at start"), "%s", vmscope_last_error(vm));
		CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
		finish(0);
		check_results();
		return;
	}
	hw_text_sum = text_sum(vm);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HW_BREAKPOINT, 1, on_hwbp, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	/* By physical address: the one executable mapping of it, the kernel's identity map. */
	CHECK(vmscope_set_hwbp_pa(vm, entry, VMSCOPE_HWBP_EXEC, 1, &gva, &slot) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(gva == entry && slot == 0, "gva 0x%" PRIx64 " slot %u", gva, slot);
	CHECK(vmscope_set_hwbp(vm, entry, VMSCOPE_HWBP_EXEC, 1, NULL) == -EEXIST, "set twice");
	CHECK(vmscope_set_hwbp(vm, entry, VMSCOPE_HWBP_EXEC, 2, NULL) == -EINVAL, "exec len 2");
	CHECK(vmscope_set_hwbp(vm, hw_total_gpa + 4, VMSCOPE_HWBP_WRITE, 8, NULL) == -EINVAL,
	      "misaligned watch");
	CHECK(vmscope_set_hwbp(vm, hw_total_gpa, 2, 8, NULL) == -EINVAL, "I/O kind");
	CHECK(vmscope_set_hwbp(vm, 0x8000000000000000ULL, VMSCOPE_HWBP_EXEC, 1, NULL) == -EINVAL,
	      "non-canonical");
	/* Watch the global counter where the host stops on data watchpoints; kvm_pvm does not. */
	watch = vmscope_set_hwbp(vm, hw_total_gpa, VMSCOPE_HWBP_WRITE, 8, &slot) == 0;
	if (!watch)
		CHECK(strstr(vmscope_last_error(vm), "watchpoints: this KVM ignores it (probed at start)"),
		      "%s", vmscope_last_error(vm));
	else
		nspare = 2;
	/* The rest of the four slots on code that never runs, then one too many. */
	for (unsigned i = 0; i < nspare; i++)
		CHECK(vmscope_set_hwbp(vm, spare[i], VMSCOPE_HWBP_EXEC, 1, NULL) == 0, "%s",
		      vmscope_last_error(vm));
	CHECK(vmscope_set_hwbp(vm, 0x116003, VMSCOPE_HWBP_EXEC, 1, NULL) == -ENOSPC, "fifth slot");
	CHECK(strstr(vmscope_last_error(vm), "all 4 debug-register slots are taken"), "%s",
	      vmscope_last_error(vm));
	for (unsigned i = 0; i < nspare; i++)
		CHECK(vmscope_clear_hwbp(vm, spare[i], VMSCOPE_HWBP_EXEC, 1) == 0, "%s",
		      vmscope_last_error(vm));
	CHECK(vmscope_clear_hwbp(vm, spare[0], VMSCOPE_HWBP_EXEC, 1) == -ENOENT, "clear twice");
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	/* Every task: getid, 3 yields, write, exit; the guest went on after each hit. */
	CHECK(hw_hits == 24, "%ld system calls seen", hw_hits);
	CHECK(hw_sys[TG_SYS_GETID] == 4 && hw_sys[TG_SYS_YIELD] == 12 &&
	      hw_sys[TG_SYS_WRITE] == 4 && hw_sys[TG_SYS_EXIT] == 4, "getid %ld yield %ld "
	      "write %ld exit %ld", hw_sys[TG_SYS_GETID], hw_sys[TG_SYS_YIELD],
	      hw_sys[TG_SYS_WRITE], hw_sys[TG_SYS_EXIT]);
	if (watch)
		CHECK(hw_watch_hits == 24 && hw_watch_bad == 0, "%ld watch hits, %ld not +1",
		      hw_watch_hits, hw_watch_bad);
	finish(0);
	check_results();
}

/* ---- a register change in a response takes effect ------------------------------- */

static uint64_t total_syscalls_gpa, task_table_gpa;
static int changed;

static int on_bp_setreg(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)o;
	if (ev->regs.rax == TG_SYS_EXIT && !changed) {
		/* exit(code, result): replace the result the task reports. */
		rsp->regs.rsi = 0x1234567890abcdefULL;
		rsp->flags |= VMSCOPE_RSP_SET_REGS;
		changed = 1;
	}
	return 0;
}

static uint64_t task1_result, denied, allowed;

static int on_io_end(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)rsp; (void)o;
	if (ev->u.io.port == TG_PORT_DEBUG_EXIT) {
		struct tg_task_table tt;

		CHECK(vmscope_read_pa(v, task_table_gpa, &tt, sizeof(tt)) == (int64_t)sizeof(tt), "read");
		for (unsigned i = 0; i < 4; i++)
			if (tt.tasks[i].result == 0x1234567890abcdefULL)
				task1_result = tt.tasks[i].result;
		if (total_syscalls_gpa) {
			uint64_t total;

			CHECK(vmscope_read_pa(v, total_syscalls_gpa, &total, 8) == 8, "read");
			CHECK(total == 0, "denied writes reached memory: %" PRIu64, total);
			CHECK(tt.tasks[0].syscalls == 6, "other writes lost: %" PRIu64, tt.tasks[0].syscalls);
		}
	}
	return 0;
}

static void case_setregs(void)
{
	start(NULL);
	if (!have_sw_bp()) {
		check_bp_refused(); /* setregs_io sets registers on every host */
		return;
	}
	task_table_gpa = elf_sym(guest_elf, "tg_task_table");
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_BREAKPOINT, 1, on_bp_setreg, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_IO, 1, on_io_end, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_set_bp_pa(vm, elf_sym(guest_elf, "tg_syscall_entry")) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(changed && task1_result == 0x1234567890abcdefULL, "the result register change did not reach the guest");
	finish(0);
}

/*
 * Registers set in the response to an exit that KVM completes only on the
 * next KVM_RUN (the KVM API's KVM_RUN notes): an I/O exit (the guest's final
 * debug-exit write) and an MSR write (its LSTAR write).  The exit is skipped
 * (SKIP, DENY) and RIP sent to code planted over tg_park, which exits with
 * 77.  Set before the completion, the new RIP would be lost to it: KVM on
 * SVM then moves RIP to the instruction after the wrmsr, whatever it was.
 */
static void plant_exit_77(vmscope_t *v, const struct vmscope_event *ev,
			  struct vmscope_response *rsp)
{
	/* mov eax, 77; mov dx, 0x501; out dx, eax; hlt */
	static const uint8_t code[] = { 0xb8, 77, 0, 0, 0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4 };
	uint64_t park = elf_sym(guest_elf, "tg_park");

	CHECK(vmscope_write_pa(v, park, code, sizeof(code)) == (int64_t)sizeof(code), "%s",
	      vmscope_last_error(v));
	rsp->regs = ev->regs;
	rsp->regs.rip = park;
	rsp->flags |= VMSCOPE_RSP_SET_REGS;
	changed = 1;
}

static int on_io_redirect(vmscope_t *v, const struct vmscope_event *ev,
			  struct vmscope_response *rsp, void *o)
{
	(void)o;
	if (ev->u.io.port == TG_PORT_DEBUG_EXIT && !changed) {
		plant_exit_77(v, ev, rsp);
		rsp->flags |= VMSCOPE_RSP_SKIP;
	}
	return 0;
}

static int on_msr_redirect(vmscope_t *v, const struct vmscope_event *ev,
			   struct vmscope_response *rsp, void *o)
{
	(void)o;
	if (!changed) {
		plant_exit_77(v, ev, rsp);
		rsp->flags |= VMSCOPE_RSP_DENY;
	}
	return 0;
}

static void case_setregs_io(void)
{
	start(NULL);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_IO, 1, on_io_redirect, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(changed, "no debug-exit event");
	finish(77);
	check_results();
}

static void case_setregs_msr(void)
{
	uint32_t lstar = 0xc0000082;

	start(NULL);
	CHECK(vmscope_watch_msrs(vm, &lstar, 1) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_MSR_WRITE, 1, on_msr_redirect, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(changed, "no LSTAR write event");
	finish(77); /* the guest never got to its tasks */
}

/* ---- page protection: writes seen, denied writes leave memory unchanged ------------ */

/*
 * The page of tg_task_table: the guest kernel writes task states and counters
 * there.  Writes to tasks[0].syscalls are denied; all others are let through.
 * (Not the page of tg_total_syscalls: it also holds the GDT and TSS, and the
 * CPU's own descriptor writes into a read-only slot stall this host's KVM.)
 */
static uint64_t deny_gpa;

static int on_page(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_PAGE_WRITE, "kind");
	if (getenv("VMI_TEST_VERBOSE") && denied + allowed < 40)
		fprintf(stderr, "page write gpa 0x%" PRIx64 " len %u rip 0x%" PRIx64 "\n",
			ev->u.page_write.gpa, ev->u.page_write.len, ev->regs.rip);
	CHECK(ev->u.page_write.page_gpa == (task_table_gpa & ~4095ULL), "page");
	if (ev->u.page_write.gpa == deny_gpa) {
		rsp->flags |= VMSCOPE_RSP_DENY;
		denied++;
	} else {
		allowed++;
	}
	return 0;
}

static int on_io_end_protect(vmscope_t *v, const struct vmscope_event *ev,
			     struct vmscope_response *rsp, void *o)
{
	(void)rsp; (void)o;
	if (ev->u.io.port == TG_PORT_DEBUG_EXIT) {
		struct tg_task_table tt;

		CHECK(vmscope_read_pa(v, task_table_gpa, &tt, sizeof(tt)) == (int64_t)sizeof(tt), "read");
		CHECK(tt.tasks[0].syscalls == 0, "denied writes reached memory: %" PRIu64,
		      tt.tasks[0].syscalls);
		CHECK(tt.tasks[1].syscalls == 6, "allowed writes lost: %" PRIu64, tt.tasks[1].syscalls);
		CHECK(tt.tasks[0].state == TG_TASK_EXITED, "task 1 state %u", tt.tasks[0].state);
		total_syscalls_gpa = 1; /* checked */
	}
	return 0;
}

static void case_protect(void)
{
	start(NULL);
	task_table_gpa = elf_sym(guest_elf, "tg_task_table");
	deny_gpa = task_table_gpa + offsetof(struct tg_task_table, tasks[0].syscalls);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_PAGE_WRITE, 1, on_page, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_IO, 1, on_io_end_protect, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_protect_page(vm, task_table_gpa & ~4095ULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_protect_page(vm, 0x123) == -EINVAL, "unaligned page accepted");
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(denied == 6, "%" PRIu64 " writes to tasks[0].syscalls seen", denied);
	CHECK(allowed > 20, "%" PRIu64 " other writes seen", allowed);
	CHECK(total_syscalls_gpa == 1, "end of guest not seen");
	finish(0);
	check_results();
}

/* ---- reliability: a client killed mid-event; a client that stops answering -------- */

static int kill_pipe = -1;

/*
 * Announces the event, then never answers: the parent kills this client
 * here.  It tells the parent what held the vCPU: 'b' a breakpoint, 'i' an
 * I/O event (where int3 is not intercepted).
 */
static int on_event_block(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp,
			  void *o)
{
	(void)v; (void)rsp; (void)o;
	(void)!write(kill_pipe, ev->kind == VMSCOPE_EV_BREAKPOINT ? "b" : "i", 1);
	for (;;)
		pause();
	return 0;
}

static void case_kill(void)
{
	int pipefd[2];
	pid_t client;
	char c;

	vmi_child__start(&child, vmscope_bin, NULL);
	CHECK(pipe(pipefd) == 0, "pipe");
	client = fork();
	if (client == 0) {
		vmscope_t *cv = vmi_child__attach(&child);
		bool bp = vmscope_caps(cv) & (1u << VMSCOPE_EV_BREAKPOINT);

		kill_pipe = pipefd[1];
		entry = elf_sym(guest_elf, "tg_syscall_entry");
		if (vmscope_subscribe(cv, bp ? VMSCOPE_EV_BREAKPOINT : VMSCOPE_EV_IO, 1, on_event_block,
				      NULL) < 0 ||
		    vmscope_protect_page(cv, elf_sym(guest_elf, "tg_task_table") & ~4095ULL) < 0 ||
		    (bp && vmscope_set_bp_pa(cv, entry) < 0) || vmscope_resume(cv, VMSCOPE_ALL_VCPUS) < 0) {
			fprintf(stderr, "client set-up failed: %s\n", vmscope_last_error(cv));
			_exit(1);
		}
		vmscope_event_loop(cv, 60000);
		_exit(1);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &c, 1) == 1, "client did not get its event");
	kill(client, SIGKILL);
	waitpid(client, NULL, 0);
	finish(0);
	check_results();
	CHECK(strstr(slurp(child.log), "client detached (client closed the connection)"),
	      "log:\n%s", slurp(child.log));
	CHECK(strstr(slurp(child.log), c == 'b' ? "1 breakpoint(s) restored, 0 debug-register slot(s) freed, 1 page(s) unprotected"
					       : "0 breakpoint(s) restored, 0 debug-register slot(s) freed, 1 page(s) unprotected"),
	      "log:\n%s", slurp(child.log));
}

static int on_event_hang(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)ev; (void)rsp; (void)o;
	usleep(800 * 1000); /* past --vmi-timeout 200 */
	return 1;
}

static void case_timeout(void)
{
	start("200");
	/* A breakpoint holds the vCPU, or an I/O event where int3 is not intercepted. */
	CHECK(vmscope_subscribe(vm, have_sw_bp() ? VMSCOPE_EV_BREAKPOINT : VMSCOPE_EV_IO, 1,
				on_event_hang, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(!have_sw_bp() || vmscope_set_bp_pa(vm, elf_sym(guest_elf, "tg_syscall_entry")) == 0,
	      "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_event_loop(vm, 10000) == 1, "no event");
	finish(0);
	check_results();
	CHECK(strstr(slurp(child.log), "did not answer"), "log:\n%s", slurp(child.log));
}

/* ---- HLT, without the in-kernel irqchip ------------------------------------------- */

static const char *const no_irqchip_2cpus[] = { "--irqchip", "off", "--cpus", "boot=2", NULL };
static long hlt_events, hlt_skips;
static uint64_t park_rip;

/*
 * vCPU 1 runs alone and parks with `cli; hlt` when its tasks are done: the
 * first two HLTs are skipped, the third halts it and lets vCPU 0 run.
 */
static int on_hlt(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)o;
	CHECK(ev->kind == VMSCOPE_EV_HLT && (ev->flags & VMSCOPE_EVF_SYNC), "kind %u", ev->kind);
	CHECK(ev->vcpu == 1, "HLT from vCPU %u", ev->vcpu);
	CHECK(ev->regs.rip == park_rip, "HLT event at RIP 0x%" PRIx64 ", want 0x%" PRIx64,
	      ev->regs.rip, park_rip);
	CHECK(!(ev->regs.rflags & 0x200), "interrupts are on at the park");
	hlt_events++;
	if (hlt_skips < 2) {
		rsp->flags |= VMSCOPE_RSP_SKIP;
		hlt_skips++;
	} else {
		CHECK(vmscope_resume(v, 0) == 0, "%s", vmscope_last_error(v));
	}
	return 0;
}

static void case_hlt(void)
{
	park_rip = elf_sym(guest_elf, "tg_park") + 2; /* past `cli` (fa) and `hlt` (f4) */
	start_with(no_irqchip_2cpus);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HLT, 1, on_hlt, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, 1) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	/* Two skipped (the vCPU ran on through `jmp tg_park`), the third one halted it. */
	CHECK(hlt_events == 3, "%ld HLT events, want 3", hlt_events);
	finish(0);
	check_results();
}

/* vCPU 0 is sent to the park at once: vCPU 1 runs every task, halts, and the VM ends. */
static int on_start_park(vmscope_t *v, const struct vmscope_event *ev,
			 struct vmscope_response *rsp, void *o)
{
	(void)v; (void)o;
	if (ev->vcpu == 0) {
		rsp->regs.rip = park_rip - 2;
		rsp->flags |= VMSCOPE_RSP_SET_REGS;
	}
	return 0;
}

static int on_hlt_count(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp,
			void *o)
{
	(void)v; (void)rsp; (void)o;
	CHECK(ev->regs.rip == park_rip, "HLT event at RIP 0x%" PRIx64, ev->regs.rip);
	hlt_events++;
	return 0;
}

static void case_all_halted(void)
{
	park_rip = elf_sym(guest_elf, "tg_park") + 2;
	start_with(no_irqchip_2cpus);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_VCPU_START, 1, on_start_park, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HLT, 0, on_hlt_count, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	CHECK(hlt_events == 2, "%ld HLT events, want one per vCPU", hlt_events);
	finish(5);
	CHECK(strstr(slurp(child.serial), "all 4 tasks done") == NULL, "vCPU 0 was not parked");
	CHECK(strstr(slurp(child.log), "every vCPU has halted"), "log:\n%s", slurp(child.log));
}

/*
 * ---- MMIO, internal error, shutdown: code the client plants ------------------------
 * At its VCPU_START event the client writes a few instructions into guest
 * RAM and points RIP at them; the guest's own code never runs.
 */
#define SCRATCH_GPA 0x3f00000 /* unused by the test guest, identity-mapped at its entry */
#define MMIO_GPA    0xd0000000u /* in the hole below 4 GiB: no device there */

static const uint8_t *plant_code;
static size_t plant_len;
static long mmio_reads, internal_errors, shutdowns;

static int on_start_plant(vmscope_t *v, const struct vmscope_event *ev,
			  struct vmscope_response *rsp, void *o)
{
	(void)o;
	(void)ev;
	CHECK(vmscope_write_pa(v, SCRATCH_GPA, plant_code, plant_len) == (int64_t)plant_len, "%s",
	      vmscope_last_error(v));
	rsp->regs.rip = SCRATCH_GPA;
	rsp->flags |= VMSCOPE_RSP_SET_REGS;
	return 0;
}

/* The guest reads MMIO_GPA; the client supplies 42, which the guest then exits with. */
static int on_mmio(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	uint32_t value = 42;

	(void)v; (void)o;
	CHECK(ev->kind == VMSCOPE_EV_MMIO && ev->u.mmio.gpa == MMIO_GPA && !ev->u.mmio.is_write &&
	      ev->u.mmio.len == 4, "MMIO event: gpa 0x%" PRIx64 " len %u write %u", ev->u.mmio.gpa,
	      ev->u.mmio.len, ev->u.mmio.is_write);
	memcpy(rsp->data, &value, sizeof(value));
	rsp->flags |= VMSCOPE_RSP_SET_DATA;
	mmio_reads++;
	return 0;
}

/* Hardware KVM on AMD SVM: the CPU flags say svm and the host is not kvm_pvm. */
static bool host_is_svm(void)
{
	const char *cpuinfo = slurp("/proc/cpuinfo");

	return !emulated && strstr(cpuinfo, " svm");
}

static int on_end(vmscope_t *v, const struct vmscope_event *ev, struct vmscope_response *rsp, void *o)
{
	(void)v; (void)rsp; (void)o;
	if (ev->kind == VMSCOPE_EV_SHUTDOWN && host_is_svm()) {
		/* KVM re-initialises the vCPU after a triple fault on SVM: the state is lost. */
		CHECK(ev->flags & VMSCOPE_EVF_REGS_RESET, "shutdown on SVM without REGS_RESET");
		CHECK(ev->regs.rip == 0xfff0 && ev->regs.cs.base == 0xffff0000,
		      "reset state: RIP 0x%" PRIx64 " CS base 0x%" PRIx64, ev->regs.rip, ev->regs.cs.base);
		shutdowns++;
		return 0;
	}
	CHECK(!(ev->flags & VMSCOPE_EVF_REGS_RESET), "REGS_RESET where the registers are kept");
	CHECK(ev->regs.rip == SCRATCH_GPA, "event at RIP 0x%" PRIx64, ev->regs.rip);
	if (ev->kind == VMSCOPE_EV_INTERNAL_ERROR) {
		CHECK(ev->u.internal.suberror == 1, "suberror %u (want emulation)", ev->u.internal.suberror);
		internal_errors++;
	}
	if (ev->kind == VMSCOPE_EV_SHUTDOWN)
		shutdowns++;
	return 0;
}

static void run_planted(const uint8_t *code, size_t len, unsigned kind, vmscope_event_fn fn,
			int sync, int want_status)
{
	plant_code = code;
	plant_len = len;
	start(NULL);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_VCPU_START, 1, on_start_plant, NULL) == 0, "%s",
	      vmscope_last_error(vm));
	CHECK(vmscope_subscribe(vm, kind, sync, fn, NULL) == 0, "%s", vmscope_last_error(vm));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	loop_until_exit();
	finish(want_status);
	vmi_child__cleanup(&child);
}

static void case_exits(void)
{
	/* mov ebx, MMIO_GPA; mov eax, [rbx]; mov dx, 0x501; out dx, eax; hlt */
	static const uint8_t mmio[] = { 0xbb, 0x00, 0x00, 0x00, 0xd0, 0x8b, 0x03,
					0x66, 0xba, 0x01, 0x05, 0xef, 0xf4 };
	static const uint8_t ud2[] = { 0x0f, 0x0b }; /* no IDT yet: #UD, #DF, triple fault */
	static const uint8_t clac[] = { 0x0f, 0x01, 0xca };

	run_planted(mmio, sizeof(mmio), VMSCOPE_EV_MMIO, on_mmio, 1, 42);
	CHECK(mmio_reads == 1, "%ld MMIO events", mmio_reads);
	run_planted(ud2, sizeof(ud2), VMSCOPE_EV_SHUTDOWN, on_end, 0, 3);
	CHECK(shutdowns == 1, "%ld shutdown events", shutdowns);
	/* Only this host's kernel-mode emulator refuses clac (HOST-NOTES); hardware runs it. */
	if (emulated) {
		run_planted(clac, sizeof(clac), VMSCOPE_EV_INTERNAL_ERROR, on_end, 1, 1);
		CHECK(internal_errors == 1, "%ld internal-error events", internal_errors);
	}
}

/* ---- events this host cannot deliver are refused, with the reason ------------------ */

/* The `sysretq` (48 0f 07) that starts each task in user mode. */
static uint64_t sysretq_gpa(void)
{
	uint64_t start = elf_sym(guest_elf, "tg_task_start");
	uint8_t code[64];

	CHECK(vmscope_read_pa(vm, start, code, sizeof(code)) == (int64_t)sizeof(code), "read");
	for (size_t i = 0; i + 3 <= sizeof(code); i++)
		if (code[i] == 0x48 && code[i + 1] == 0x0f && code[i + 2] == 0x07)
			return start + i;
	CHECK(0, "no sysretq in tg_task_start");
	return 0;
}

static void case_refused(void)
{
	start(NULL);
	CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HLT, 0, on_misc, NULL) == -ENOTSUP, "HLT");
	CHECK(strstr(vmscope_last_error(vm), "--irqchip off"), "reason: %s", vmscope_last_error(vm));
	if (emulated) {
		CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HYPERCALL, 0, on_misc, NULL) == -ENOTSUP,
		      "hypercall events on kvm_pvm");
		CHECK(strstr(vmscope_last_error(vm), "vmcall"), "reason: %s", vmscope_last_error(vm));
		/* Its step would never end: user mode is not single-stepped here. */
		CHECK(vmscope_set_bp_pa(vm, sysretq_gpa()) == -ENOTSUP, "breakpoint on sysretq");
		CHECK(strstr(vmscope_last_error(vm), "sysret"), "reason: %s", vmscope_last_error(vm));
	} else {
		CHECK(vmscope_subscribe(vm, VMSCOPE_EV_HYPERCALL, 0, on_misc, NULL) == 0, "%s",
		      vmscope_last_error(vm));
	}
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	finish(0);
	check_results();
}

/* ---- one client at a time; the second one is told why ---------------------------- */

static void case_busy(void)
{
	int err = 0;
	vmscope_t *second;

	start(NULL);
	second = vmscope_attach(child.sock, &err);
	CHECK(!second && err == -EBUSY, "second client: err %d", err);
	CHECK(strstr(vmscope_last_error(NULL), "busy"), "%s", vmscope_last_error(NULL));
	CHECK(vmscope_resume(vm, VMSCOPE_ALL_VCPUS) == 0, "%s", vmscope_last_error(vm));
	finish(0);
	check_results();
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } cases[] = {
		{ "io", case_io }, { "msr", case_msr }, { "breakpoint", case_breakpoint },
		{ "setregs", case_setregs }, { "setregs_io", case_setregs_io },
		{ "setregs_msr", case_setregs_msr },
		{ "protect", case_protect }, { "kill", case_kill },
		{ "timeout", case_timeout }, { "busy", case_busy }, { "hlt", case_hlt },
		{ "all_halted", case_all_halted }, { "refused", case_refused },
		{ "exits", case_exits }, { "hwbp", case_hwbp },
	};

	kvm_required();
	if (argc != 4) {
		fprintf(stderr, "usage: test_vmi VMSCOPE GUEST_ELF CASE\n");
		return 2;
	}
	vmscope_bin = argv[1];
	guest_elf = argv[2];
	alarm(90);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[3], cases[i].name) == 0) {
			cases[i].fn();
			vmi_child__cleanup(&child);
			printf("ok %s\n", argv[3]);
			return 0;
		}
	}
	fprintf(stderr, "unknown case %s\n", argv[3]);
	return 2;
}
