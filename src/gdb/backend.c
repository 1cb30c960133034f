/*
 * The stub's debugging backend: the gdb_target_ops the session calls, on top
 * of the introspection core (src/vmi) as an in-process consumer.  Registers,
 * guest page walks, breakpoints (planted by guest-physical address, owned by
 * the stub), single-steps and the all-stop park are the core's; the stub
 * keeps only GDB's view (which vCPU does what, which addresses GDB set).
 *
 * On hardware KVM an int3 exits as KVM_EXIT_DEBUG with KVM_GUESTDBG_USE_SW_BP;
 * on kvm_pvm (guest CPL0 emulated) as an emulation failure with RIP at it: the
 * core recognises both and calls us for the breakpoints we own.  Hardware
 * breakpoints and watchpoints are the core's debug-register slots (hwbp.c);
 * each is refused, with the reason shown in GDB, where the start-up probe
 * found that this host's KVM does not stop on it.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exit_status.h"
#include "gdb/stub_impl.h"
#include "kvm_host.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/vmi.h"

static struct gdb_bp *find_bp_gpa(struct gdb_stub *st, uint64_t gpa)
{
	for (unsigned i = 0; i < st->nr_bps; i++)
		if (st->bps[i].gpa == gpa)
			return &st->bps[i];
	return NULL;
}

void gdb_stub__request_stop(struct gdb_stub *st, const struct gdb_stop *why)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&st->lock);
	first = !st->halt;
	if (first) {
		st->halt = true;
		st->stop = *why;
		st->stop_pending = true;
		vmi__halt(st->vm, st->cid, true); /* every vCPU parks in the core */
	}
	pthread_mutex_unlock(&st->lock);
	if (first && write(st->event_fd, &one, sizeof(one)) < 0)
		log_warn("gdb: cannot signal a stop: %s", strerror(errno));
}

/* ---- Core callbacks (vCPU threads) --------------------------------------------- */

static void on_breakpoint(void *opaque, struct vcpu *vcpu, uint64_t gpa)
{
	struct gdb_stub *st = opaque;
	struct gdb_stop stop = { .kind = GDB_STOP_SWBREAK, .vcpu = vcpu->id };

	(void)gpa;
	__atomic_fetch_add(&st->nr_bp_hits, 1, __ATOMIC_RELAXED);
	gdb_stub__request_stop(st, &stop);
}

static void on_hw_breakpoint(void *opaque, struct vcpu *vcpu, unsigned slot, uint64_t addr,
			     unsigned type)
{
	struct gdb_stub *st = opaque;
	struct gdb_stop stop = { .kind = GDB_STOP_HWBREAK, .vcpu = vcpu->id };

	(void)slot;
	if (type != VMSCOPE_HWBP_EXEC) {
		stop.kind = GDB_STOP_WATCH;
		stop.addr = addr;
		stop.wp_type = GDB_WP_WRITE;
		/* The piece that fired belongs to one of GDB's watches: report that one's kind. */
		pthread_mutex_lock(&st->lock);
		for (unsigned i = 0; i < st->nr_hw; i++)
			if (st->hw[i].type != GDB_BP_HW && addr >= st->hw[i].addr &&
			    addr - st->hw[i].addr < st->hw[i].len)
				stop.wp_type = st->hw[i].type;
		pthread_mutex_unlock(&st->lock);
	}
	__atomic_fetch_add(&st->nr_hw_hits, 1, __ATOMIC_RELAXED);
	gdb_stub__request_stop(st, &stop);
}

static void on_singlestep(void *opaque, struct vcpu *vcpu)
{
	struct gdb_stub *st = opaque;
	struct gdb_stop stop = { .kind = GDB_STOP_STEP, .vcpu = vcpu->id };

	if (vcpu->id < GDB_MAX_VCPUS) {
		pthread_mutex_lock(&st->lock);
		st->act[vcpu->id] = GDB_ACT_STOP;
		pthread_mutex_unlock(&st->lock);
	}
	__atomic_fetch_add(&st->nr_steps, 1, __ATOMIC_RELAXED);
	gdb_stub__request_stop(st, &stop);
}

static void on_vcpu_exit(void *opaque, struct vcpu *vcpu)
{
	struct gdb_stub *st = opaque;

	(void)vcpu;
	pthread_mutex_lock(&st->ops_lock); /* let a packet in progress finish */
	pthread_mutex_unlock(&st->ops_lock);
}

static const struct vmi_consumer_ops gdb_consumer_ops = {
	.breakpoint = on_breakpoint,
	.hw_breakpoint = on_hw_breakpoint,
	.singlestep = on_singlestep,
	.vcpu_exit = on_vcpu_exit,
};

int gdb_stub__attach_core(struct gdb_stub *st)
{
	int c = vmi__register_consumer(st->vm, &gdb_consumer_ops, st);

	if (c < 0)
		return c;
	st->cid = c;
	st->owner = 1u << c;
	return 0;
}

/* ---- Waiting for the vCPUs (server thread) ------------------------------------- */

int gdb_stub__wait_parked(struct gdb_stub *st)
{
	return vmi__wait_stopped(st->vm, 5000);
}

void gdb_stub__release(struct gdb_stub *st)
{
	pthread_mutex_lock(&st->lock);
	st->nr_bps = 0;
	st->nr_hw = 0;
	for (unsigned i = 0; i < st->nr_vcpus; i++)
		st->act[i] = GDB_ACT_CONT;
	st->halt = false;
	st->stop_pending = false;
	/* Our breakpoints (a client's stay), steps, holds and all-stop, in one go. */
	vmi__release_consumer(st->vm, st->cid);
	pthread_mutex_unlock(&st->lock);
}

/* ---- Target operations (server thread; every vCPU parked) --------------------- */

static struct vcpu *vcpu_of(struct gdb_stub *st, unsigned id)
{
	return id < st->nr_vcpus ? vmi__vcpu(st->vm, id) : NULL;
}

/* The registers of vCPU id, and the vCPU into *vp unless vp is NULL; -ESRCH: no such vCPU. */
static int vcpu_regs(struct gdb_stub *st, unsigned id, struct vmscope_regs *r, struct vcpu **vp)
{
	struct vcpu *v = vcpu_of(st, id);

	if (!v)
		return -ESRCH;
	if (vp)
		*vp = v;
	return vmi__get_regs(v, r, true);
}

static unsigned op_nr_vcpus(void *t)
{
	return ((struct gdb_stub *)t)->nr_vcpus;
}

static int op_get_regs(void *t, unsigned id, struct gdb_regs *g)
{
	struct vcpu *v;
	struct vmscope_regs r;
	struct kvm_fpu f;
	const struct vmscope_segment *segs[6];
	int err = vcpu_regs(t, id, &r, &v);

	if (err < 0)
		return err;
	memset(g, 0, sizeof(*g));
	g->gpr[0] = r.rax; g->gpr[1] = r.rbx; g->gpr[2] = r.rcx; g->gpr[3] = r.rdx;
	g->gpr[4] = r.rsi; g->gpr[5] = r.rdi; g->gpr[6] = r.rbp; g->gpr[7] = r.rsp;
	g->gpr[8] = r.r8; g->gpr[9] = r.r9; g->gpr[10] = r.r10; g->gpr[11] = r.r11;
	g->gpr[12] = r.r12; g->gpr[13] = r.r13; g->gpr[14] = r.r14; g->gpr[15] = r.r15;
	g->rip = r.rip;
	g->eflags = (uint32_t)r.rflags;
	segs[GDB_CS] = &r.cs; segs[GDB_SS] = &r.ss; segs[GDB_DS] = &r.ds;
	segs[GDB_ES] = &r.es; segs[GDB_FS] = &r.fs; segs[GDB_GS] = &r.gs;
	for (int i = 0; i < 6; i++)
		g->seg[i] = segs[i]->selector;
	g->fs_base = r.fs.base;
	g->gs_base = r.gs.base;
	g->cr0 = r.cr0; g->cr2 = r.cr2; g->cr3 = r.cr3; g->cr4 = r.cr4; g->cr8 = r.cr8;
	g->efer = r.efer;
	g->k_gs_base = r.kernel_gs_base;
	if (vmi__get_fpu(v, &f) == 0) {
		uint32_t tag = 0;

		for (int i = 0; i < 8; i++) {
			memcpy(g->st[i], f.fpr[i], 10);
			tag |= ((f.ftwx >> i) & 1 ? 0u : 3u) << (2 * i); /* abridged -> full */
		}
		g->fctrl = f.fcw; g->fstat = f.fsw; g->ftag = tag;
		g->fioff = (uint32_t)f.last_ip; g->fiseg = (uint32_t)(f.last_ip >> 32);
		g->fooff = (uint32_t)f.last_dp; g->foseg = (uint32_t)(f.last_dp >> 32);
		g->fop = f.last_opcode;
		memcpy(g->xmm, f.xmm, sizeof(g->xmm));
		g->mxcsr = f.mxcsr;
	}
	return 0;
}

static int op_set_regs(void *t, unsigned id, const struct gdb_regs *g)
{
	struct vcpu *v;
	struct vmscope_regs r;
	struct kvm_fpu f;
	bool special;
	int err = vcpu_regs(t, id, &r, &v);

	if (err < 0)
		return err;
	r.rax = g->gpr[0]; r.rbx = g->gpr[1]; r.rcx = g->gpr[2]; r.rdx = g->gpr[3];
	r.rsi = g->gpr[4]; r.rdi = g->gpr[5]; r.rbp = g->gpr[6]; r.rsp = g->gpr[7];
	r.r8 = g->gpr[8]; r.r9 = g->gpr[9]; r.r10 = g->gpr[10]; r.r11 = g->gpr[11];
	r.r12 = g->gpr[12]; r.r13 = g->gpr[13]; r.r14 = g->gpr[14]; r.r15 = g->gpr[15];
	r.rip = g->rip;
	r.rflags = (r.rflags & ~0xffffffffULL) | g->eflags | 2;
	/* Selectors are shown, not changed: loading one needs its descriptor. */
	special = r.fs.base != g->fs_base || r.gs.base != g->gs_base || r.cr0 != g->cr0 ||
		  r.cr2 != g->cr2 || r.cr3 != g->cr3 || r.cr4 != g->cr4 || r.cr8 != g->cr8 ||
		  r.efer != g->efer || r.kernel_gs_base != g->k_gs_base;
	r.fs.base = g->fs_base; r.gs.base = g->gs_base;
	r.cr0 = g->cr0; r.cr2 = g->cr2; r.cr3 = g->cr3; r.cr4 = g->cr4; r.cr8 = g->cr8;
	r.efer = g->efer;
	r.kernel_gs_base = g->k_gs_base;
	err = vmi__set_regs(v, &r, special);
	if (err < 0)
		return err;
	if (vmi__get_fpu(v, &f) == 0) {
		struct kvm_fpu n = f;
		uint8_t ftwx = 0;

		for (int i = 0; i < 8; i++) {
			memcpy(n.fpr[i], g->st[i], 10);
			if (((g->ftag >> (2 * i)) & 3) != 3)
				ftwx |= (uint8_t)(1u << i);
		}
		n.fcw = (uint16_t)g->fctrl; n.fsw = (uint16_t)g->fstat; n.ftwx = ftwx;
		n.last_opcode = (uint16_t)g->fop;
		n.last_ip = (uint64_t)g->fiseg << 32 | g->fioff;
		n.last_dp = (uint64_t)g->foseg << 32 | g->fooff;
		memcpy(n.xmm, g->xmm, sizeof(n.xmm));
		n.mxcsr = g->mxcsr;
		if (memcmp(&n, &f, sizeof(n)) != 0 && (err = vmi__set_fpu(v, &n)) < 0)
			return err;
	}
	return 0;
}

/* Copies between buf and guest virtual memory, page by page, until an unmapped page. */
static long access_mem(struct gdb_stub *st, unsigned id, uint64_t va, void *buf, size_t len,
		       bool write)
{
	struct vmscope_regs s;
	size_t done = 0;
	int err = vcpu_regs(st, id, &s, NULL);

	if (err < 0)
		return err;
	while (done < len) {
		uint64_t a = va + done;
		size_t n = 4096 - (a & 4095);
		int64_t gpa = vmi__gva_to_gpa(st->vm, &s, a, NULL);
		uint8_t *p;

		if (n > len - done)
			n = len - done;
		if (gpa < 0 || !(p = vm__gpa_ptr(st->vm, (uint64_t)gpa, n)))
			break;
		if (write)
			memcpy(p, (const uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, p, n);
		done += n;
	}
	return done ? (long)done : -EFAULT;
}

static long op_read_mem(void *t, unsigned id, uint64_t va, void *buf, size_t len)
{
	return access_mem(t, id, va, buf, len, false);
}

static long op_write_mem(void *t, unsigned id, uint64_t va, const void *buf, size_t len)
{
	return access_mem(t, id, va, (void *)buf, len, true);
}

static int op_insert_bp(void *t, unsigned id, enum gdb_bp_type type, uint64_t va, uint64_t kind,
			const char **why)
{
	struct gdb_stub *st = t;
	struct vmscope_regs s;
	struct gdb_bp *bp;
	int64_t gpa;
	uint8_t *p;
	bool user;
	int err;

	if (type != GDB_BP_SW) {
		pthread_mutex_lock(&st->lock);
		err = gdb_hw__insert(st, type, va, kind, why);
		pthread_mutex_unlock(&st->lock);
		return err;
	}
	if (!host_debug__sw_bp_ok(&st->vm->host->dbg)) {
		*why = st->vm->host->dbg.sw_bp == HOST_DBG_TO_GUEST
			       ? "software breakpoints cannot work on this host: its KVM lets the guest "
				 "take int3 itself (probed at start-up; QEMU's emulated SVM does this)"
			       : "software breakpoints cannot work on this host: its KVM does not "
				 "intercept int3 (probed at start-up; see 'monitor host')";
		log_warn("gdb: breakpoint at 0x%llx refused: int3 %s on this host",
			 (unsigned long long)va, host_debug__name(st->vm->host->dbg.sw_bp));
		return -EOPNOTSUPP;
	}
	if ((err = vcpu_regs(st, id, &s, NULL)) < 0)
		return err;
	gpa = vmi__gva_to_gpa(st->vm, &s, va, &user);
	if (gpa < 0 || !(p = vm__gpa_ptr(st->vm, (uint64_t)gpa, 1))) {
		*why = "the address is not mapped in the current address space of the selected "
		       "vCPU (breakpoints are planted by physical address, so the page must be "
		       "mapped when GDB inserts it)";
		log_warn("gdb: breakpoint at 0x%llx refused: not mapped under vCPU %u's CR3 0x%llx",
			 (unsigned long long)va, id, (unsigned long long)s.cr3);
		return -EFAULT;
	}
	if (user && st->vm->host->emulated) {
		*why = "user-mode breakpoints cannot be intercepted on this host: under kvm_pvm "
		       "guest CPL3 code runs natively and its int3 goes to the guest's own #BP "
		       "handler; only kernel-mode (CPL0) code can be stopped";
		log_warn("gdb: breakpoint at 0x%llx refused: it is in a user page, and on this "
			 "host (kvm_pvm) guest user mode runs natively, so its int3 cannot be "
			 "intercepted; break in kernel-mode code instead",
			 (unsigned long long)va);
		return -EPERM;
	}
	pthread_mutex_lock(&st->lock);
	bp = find_bp_gpa(st, (uint64_t)gpa);
	if (bp) {
		bp->refs++;
	} else if (st->nr_bps == GDB_STUB_MAX_BPS) {
		err = -ENOSPC;
	} else {
		/* The core plants it, or adds us as an owner of a client's. */
		err = vmi__bp_add(st->vm, st->owner, (uint64_t)gpa);
		if (err == 0)
			st->bps[st->nr_bps++] = (struct gdb_bp){ .gva = va, .gpa = (uint64_t)gpa,
								 .refs = 1 };
	}
	pthread_mutex_unlock(&st->lock);
	return err;
}

static int op_remove_bp(void *t, unsigned id, enum gdb_bp_type type, uint64_t va, uint64_t kind)
{
	struct gdb_stub *st = t;
	int r = -ENOENT;

	(void)id;
	pthread_mutex_lock(&st->lock);
	if (type != GDB_BP_SW) {
		r = gdb_hw__remove(st, type, va, kind);
		pthread_mutex_unlock(&st->lock);
		return r;
	}
	/* By the address GDB planted it at: the page tables may have changed since. */
	for (unsigned i = 0; i < st->nr_bps; i++) {
		struct gdb_bp *bp = &st->bps[i];

		if (bp->gva != va)
			continue;
		if (--bp->refs == 0) {
			/* The byte stays while a client still owns the breakpoint. */
			vmi__bp_remove(st->vm, st->owner, bp->gpa);
			*bp = st->bps[--st->nr_bps];
		}
		r = 0;
		break;
	}
	pthread_mutex_unlock(&st->lock);
	return r;
}

/*
 * On kvm_pvm, guest user mode runs natively and is not single-stepped: a step
 * of an instruction that returns to user mode does not end where GDB expects
 * (the step trap shows up at a later kernel entry, in a state that confuses
 * the debugger).  Such a step is refused with the reason.
 */
static bool step_enters_user(struct gdb_stub *st, unsigned id)
{
	struct vmscope_regs r;
	uint8_t insn[3] = { 0 };
	uint64_t cs = 0;
	unsigned cs_at;

	if (vcpu_regs(st, id, &r, NULL) < 0 || (r.cs.selector & 3) != 0)
		return false;
	if (access_mem(st, id, r.rip, insn, sizeof(insn), false) < 2)
		return false;
	switch (vmi__user_return(insn, &cs_at)) {
	case VMI_RET_USER:
		return true;
	case VMI_RET_IRET:
		/* The vCPU is stopped at it: the CS it pops is there to read. */
		return access_mem(st, id, r.rsp + cs_at, &cs, 2, false) == 2 && (cs & 3) == 3;
	case VMI_RET_NONE:
		break;
	}
	return false;
}

static int op_resume(void *t, const enum gdb_action *acts, const char **why)
{
	struct gdb_stub *st = t;

	if (st->vm->host->emulated) {
		for (unsigned i = 0; i < st->nr_vcpus; i++) {
			if (acts[i] != GDB_ACT_STEP || !step_enters_user(st, i))
				continue;
			*why = "cannot single-step into guest user mode on this host (kvm_pvm runs "
			       "user mode natively, unobserved): set a breakpoint at the next "
			       "kernel entry (e.g. the syscall or interrupt handler) and continue";
			log_warn("gdb: refused to single-step vCPU %u into user mode (kvm_pvm)", i);
			return -EPERM;
		}
	}
	pthread_mutex_lock(&st->lock);
	for (unsigned i = 0; i < st->nr_vcpus; i++) {
		int err = vmi__step(st->vm, st->cid, i, acts[i] == GDB_ACT_STEP);

		if (err < 0 && acts[i] == GDB_ACT_STEP) {
			pthread_mutex_unlock(&st->lock);
			*why = "single-step is not available: this host's KVM does not intercept it "
			       "(probed at start-up; see 'monitor host')";
			return err;
		}
	}
	for (unsigned i = 0; i < st->nr_vcpus; i++) {
		st->act[i] = acts[i];
		vmi__hold(st->vm, st->cid, i, acts[i] == GDB_ACT_STOP);
	}
	st->halt = false;
	st->stop_pending = false;
	vmi__halt(st->vm, st->cid, false);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

static void op_interrupt(void *t)
{
	struct gdb_stub *st = t;
	struct gdb_stop stop = { .kind = GDB_STOP_INTERRUPT, .vcpu = st->g_vcpu };

	__atomic_fetch_add(&st->nr_interrupts, 1, __ATOMIC_RELAXED);
	gdb_stub__request_stop(st, &stop);
}

static void op_detach(void *t)
{
	gdb_stub__release(t);
}

static void op_kill(void *t)
{
	struct gdb_stub *st = t;

	log_info("gdb: killed by the debugger");
	vm__stop(st->vm, VM_STOP_SIGNAL, EXIT_SIGNAL_BASE + 9);
	gdb_stub__release(st);
}

static int op_monitor(void *t, const char *cmd, char *out, size_t outsz)
{
	struct gdb_stub *st = t;
	size_t o = 0;

#define OUT(...) do { int n_ = snprintf(out + o, outsz - o, __VA_ARGS__); \
		if (n_ > 0) o += (size_t)n_ < outsz - o ? (size_t)n_ : outsz - o - 1; } while (0)
	if (strcmp(cmd, "help") == 0) {
		OUT("vmscope monitor commands:\n"
		    "  stats              exits per vCPU and the stub's counters\n"
		    "  phys ADDR [LEN]    hex dump of guest-physical memory (LEN <= 256)\n"
		    "  host               what this host's KVM offers the debugger\n");
		return 0;
	}
	if (strcmp(cmd, "stats") == 0) {
		for (unsigned i = 0; i < st->nr_vcpus; i++) {
			struct vcpu *v = vcpu_of(st, i);

			OUT("vCPU %u: %llu exits\n", i,
			    v ? (unsigned long long)atomic_load(&v->nr_exits) : 0ULL);
		}
		OUT("gdb: %llu breakpoint hits, %llu hardware breakpoint/watchpoint hits, "
		    "%llu single-steps, %llu interrupts, %u breakpoints and %u hardware ones set\n",
		    (unsigned long long)st->nr_bp_hits, (unsigned long long)st->nr_hw_hits,
		    (unsigned long long)st->nr_steps, (unsigned long long)st->nr_interrupts,
		    st->nr_bps, st->nr_hw);
		return 0;
	}
	if (strcmp(cmd, "host") == 0) {
		const struct kvm_host *h = st->vm->host;

		OUT("KVM: %s\n", h->emulated ? "kvm_pvm (guest CPL0 emulated, CPL3 native)"
					     : "hardware-assisted");
		OUT("int3 (software breakpoints): %s%s\n", host_debug__name(h->dbg.sw_bp),
		    h->dbg.sw_bp == HOST_DBG_EMULATION_FAILURE
			    ? ", recognised by vmscope; kernel-mode breakpoints only" : "");
		OUT("single-step: %s\n", host_debug__name(h->dbg.singlestep));
		OUT("debug-register breakpoints (hbreak): %s\n", host_debug__name(h->dbg.hw_bp));
		OUT("debug-register watchpoints (watch, awatch; rwatch as awatch): %s\n",
		    host_debug__name(h->dbg.hw_watch));
		return 0;
	}
	if (strncmp(cmd, "phys ", 5) == 0) {
		unsigned long long addr, len = 64;
		const uint8_t *p;
		int n = sscanf(cmd + 5, "%llx %llx", &addr, &len);

		if (n < 1 || len == 0 || len > 256) {
			OUT("usage: phys ADDR [LEN], hex, LEN <= 0x100\n");
			return -EINVAL;
		}
		p = vm__gpa_ptr(st->vm, addr, len);
		if (!p) {
			OUT("0x%llx+0x%llx is not guest RAM\n", addr, len);
			return -EFAULT;
		}
		for (unsigned long long i = 0; i < len; i++) {
			if (i % 16 == 0)
				OUT("%016llx:", addr + i);
			OUT(" %02x", p[i]);
			if (i % 16 == 15 || i + 1 == len)
				OUT("\n");
		}
		return 0;
	}
#undef OUT
	return -ENOENT;
}

const struct gdb_target_ops gdb_stub_ops = {
	.nr_vcpus = op_nr_vcpus,
	.get_regs = op_get_regs,
	.set_regs = op_set_regs,
	.read_mem = op_read_mem,
	.write_mem = op_write_mem,
	.insert_bp = op_insert_bp,
	.remove_bp = op_remove_bp,
	.resume = op_resume,
	.interrupt = op_interrupt,
	.detach = op_detach,
	.kill = op_kill,
	.monitor = op_monitor,
};
