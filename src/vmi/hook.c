/*
 * The introspection hook: turns watched exits into events, waits for the
 * client's response when the kind is synchronous, applies it.  Also owns
 * what the hypervisor does on its own behalf for clients: software
 * breakpoints (plant, hit, step over, re-plant), MSR exits through the MSR
 * filter, writes to protected pages (read-only memory slots), and pausing.
 */
#include <errno.h>
#include <sched.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

#define K(reason, kind) [reason] = (kind)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#ifdef __clang__
#pragma GCC diagnostic ignored "-Winitializer-overrides"
#endif
const uint8_t vmi_exit_kind[VMI_NR_EXIT_REASONS] = {
	[0 ... VMI_NR_EXIT_REASONS - 1] = VMSCOPE_STAT_OTHER,
	K(KVM_EXIT_IO, VMSCOPE_EV_IO),
	K(KVM_EXIT_MMIO, VMSCOPE_EV_MMIO),
	K(KVM_EXIT_HLT, VMSCOPE_EV_HLT),
	K(KVM_EXIT_DEBUG, VMSCOPE_EV_SINGLESTEP),
	K(KVM_EXIT_HYPERCALL, VMSCOPE_EV_HYPERCALL),
	K(KVM_EXIT_X86_RDMSR, VMSCOPE_EV_MSR_READ),
	K(KVM_EXIT_X86_WRMSR, VMSCOPE_EV_MSR_WRITE),
	K(KVM_EXIT_SHUTDOWN, VMSCOPE_EV_SHUTDOWN),
	K(KVM_EXIT_INTERNAL_ERROR, VMSCOPE_EV_INTERNAL_ERROR),
};
#pragma GCC diagnostic pop

#define SPIN_NS 100000ULL /* spin this long before sleeping (a wake-up costs ~44 us here) */
#define SPIN_PURE_NS 5000ULL /* of which this long without yielding the CPU */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- Registers ------------------------------------------------------------ */

static void seg_from_kvm(struct vmscope_segment *o, const struct kvm_segment *s)
{
	o->base = s->base;
	o->limit = s->limit;
	o->selector = s->selector;
	o->type = s->type;
	o->flags = (uint8_t)((s->present & 1) | (s->s & 1) << 1 | (s->l & 1) << 2 |
			     (s->db & 1) << 3 | (s->g & 1) << 4 | (s->unusable & 1) << 5 |
			     (s->dpl & 3) << 6);
}

static void seg_to_kvm(struct kvm_segment *s, const struct vmscope_segment *o)
{
	s->base = o->base;
	s->limit = o->limit;
	s->selector = o->selector;
	s->type = o->type & 15;
	s->present = o->flags & 1;
	s->s = (o->flags >> 1) & 1;
	s->l = (o->flags >> 2) & 1;
	s->db = (o->flags >> 3) & 1;
	s->g = (o->flags >> 4) & 1;
	s->unusable = (o->flags >> 5) & 1;
	s->dpl = (o->flags >> 6) & 3;
}

static void regs_from_kvm(struct vmscope_regs *o, const struct kvm_regs *r)
{
	o->rax = r->rax; o->rbx = r->rbx; o->rcx = r->rcx; o->rdx = r->rdx;
	o->rsi = r->rsi; o->rdi = r->rdi; o->rsp = r->rsp; o->rbp = r->rbp;
	o->r8 = r->r8; o->r9 = r->r9; o->r10 = r->r10; o->r11 = r->r11;
	o->r12 = r->r12; o->r13 = r->r13; o->r14 = r->r14; o->r15 = r->r15;
	o->rip = r->rip; o->rflags = r->rflags;
}

static void regs_to_kvm(struct kvm_regs *r, const struct vmscope_regs *o)
{
	r->rax = o->rax; r->rbx = o->rbx; r->rcx = o->rcx; r->rdx = o->rdx;
	r->rsi = o->rsi; r->rdi = o->rdi; r->rsp = o->rsp; r->rbp = o->rbp;
	r->r8 = o->r8; r->r9 = o->r9; r->r10 = o->r10; r->r11 = o->r11;
	r->r12 = o->r12; r->r13 = o->r13; r->r14 = o->r14; r->r15 = o->r15;
	r->rip = o->rip; r->rflags = o->rflags | 2;
}

static void sregs_from_kvm(struct vmscope_regs *o, const struct kvm_sregs *s)
{
	o->cr0 = s->cr0; o->cr2 = s->cr2; o->cr3 = s->cr3; o->cr4 = s->cr4;
	o->cr8 = s->cr8; o->efer = s->efer;
	seg_from_kvm(&o->cs, &s->cs); seg_from_kvm(&o->ds, &s->ds);
	seg_from_kvm(&o->es, &s->es); seg_from_kvm(&o->fs, &s->fs);
	seg_from_kvm(&o->gs, &s->gs); seg_from_kvm(&o->ss, &s->ss);
	seg_from_kvm(&o->tr, &s->tr); seg_from_kvm(&o->ldt, &s->ldt);
	o->gdt_base = s->gdt.base; o->gdt_limit = s->gdt.limit;
	o->idt_base = s->idt.base; o->idt_limit = s->idt.limit;
}

#define MSR_KERNEL_GS_BASE 0xc0000102

static int msr_access(struct vcpu *vcpu, uint32_t index, uint64_t *value, bool write)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = write ? *value : 0 };
	int r = ioctl(vcpu->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &m);

	if (r < 0)
		return -errno;
	if (r != 1)
		return -EINVAL;
	if (!write)
		*value = m.e.data;
	return 0;
}

int vmi__get_regs(struct vcpu *vcpu, struct vmscope_regs *out, bool with_msrs)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(out, 0, sizeof(*out));
	if (!with_msrs && (vcpu->run->kvm_valid_regs & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
				  (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		/* KVM_CAP_SYNC_REGS: KVM copied them into the run page at the exit. */
		regs_from_kvm(out, &vcpu->run->s.regs.regs);
		sregs_from_kvm(out, &vcpu->run->s.regs.sregs);
		return 0;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	regs_from_kvm(out, &r);
	sregs_from_kvm(out, &s);
	if (with_msrs)
		msr_access(vcpu, MSR_KERNEL_GS_BASE, &out->kernel_gs_base, false);
	return 0;
}

int vmi__set_regs(struct vcpu *vcpu, const struct vmscope_regs *in, bool special)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	regs_to_kvm(&r, in);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	if (!special)
		return 0;
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = in->cr0; s.cr2 = in->cr2; s.cr3 = in->cr3; s.cr4 = in->cr4;
	s.cr8 = in->cr8; s.efer = in->efer;
	seg_to_kvm(&s.cs, &in->cs); seg_to_kvm(&s.ds, &in->ds);
	seg_to_kvm(&s.es, &in->es); seg_to_kvm(&s.fs, &in->fs);
	seg_to_kvm(&s.gs, &in->gs); seg_to_kvm(&s.ss, &in->ss);
	seg_to_kvm(&s.tr, &in->tr); seg_to_kvm(&s.ldt, &in->ldt);
	s.gdt.base = in->gdt_base; s.gdt.limit = in->gdt_limit;
	s.idt.base = in->idt_base; s.idt.limit = in->idt_limit;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	uint64_t kgs = in->kernel_gs_base;
	return msr_access(vcpu, MSR_KERNEL_GS_BASE, &kgs, true);
}

int vmi__get_fpu(struct vcpu *vcpu, struct kvm_fpu *out)
{
	return ioctl(vcpu->fd, KVM_GET_FPU, out) < 0 ? -errno : 0;
}

int vmi__set_fpu(struct vcpu *vcpu, const struct kvm_fpu *in)
{
	return ioctl(vcpu->fd, KVM_SET_FPU, in) < 0 ? -errno : 0;
}

/* ---- Rings ------------------------------------------------------------------ */

static struct vmscope_event *ev_begin(struct vcpu *vcpu)
{
	struct vmscope_ring *ring = vcpu->vmi.ev;
	uint32_t slots = vcpu->vm->vmi.core->hdr->ev_slots;
	uint64_t head = ring->head;
	uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);

	return head - tail >= slots ? NULL : &vcpu->vmi.ev_slots[head & (slots - 1)];
}

/*
 * The slot for the next event.  When the ring is full, an asynchronous event
 * is dropped and counted as overflow; a synchronous one is never dropped: it
 * waits for the client to make room, as long as it would wait for its
 * response (the client is detached past that).  NULL: drop the event.
 */
static struct vmscope_event *ev_slot(struct vcpu *vcpu, bool sync, unsigned gen)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint64_t deadline = now_ns() + (uint64_t)core->timeout_ms * 1000000ULL;
	const struct timespec nap = { .tv_nsec = 20000 };
	struct vmscope_event *slot;

	while (!(slot = ev_begin(vcpu))) {
		if (!sync) {
			__atomic_fetch_add(&vcpu->vmi.ev->overflow, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		if (!atomic_load(&core->attached) || atomic_load(&core->gen) != gen ||
		    vm__stopping(vcpu->vm))
			return NULL;
		if (now_ns() >= deadline) {
			char why[128];

			snprintf(why, sizeof(why), "client left vCPU %u's event ring full for %u ms",
				 vcpu->id, core->timeout_ms);
			vmi__detach(core, why);
			return NULL;
		}
		nanosleep(&nap, NULL);
	}
	return slot;
}

static void ev_publish(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	struct vmscope_ring *ring = vcpu->vmi.ev;
	uint64_t one = 1;

	__atomic_store_n(&ring->head, ring->head + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&core->hdr->client_waiting, __ATOMIC_RELAXED)) {
		if (write(core->ev_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("vmi: event eventfd: %s", strerror(errno));
	}
}

static bool rsp_pop(struct vcpu *vcpu, struct vmscope_response *out)
{
	struct vmscope_ring *ring = vcpu->vmi.rsp;
	uint32_t slots = vcpu->vm->vmi.core->hdr->rsp_slots;
	uint64_t tail = ring->tail;
	uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);

	if (head == tail)
		return false;
	/* Copy out before releasing the slot: the client may reuse it at once. */
	memcpy(out, &vcpu->vmi.rsp_slots[tail & (slots - 1)], sizeof(*out));
	__atomic_store_n(&ring->tail, tail + 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * Waits for the response to event seq.  Returns 0, or -ENOTCONN (no client
 * any more), -ETIMEDOUT (the client was detached for it) or -ESHUTDOWN.
 */
static int rsp_wait(struct vcpu *vcpu, uint64_t seq, unsigned gen, struct vmscope_response *out)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	struct vmscope_ring *ring = vcpu->vmi.rsp;
	uint64_t start = now_ns(), deadline = start + (uint64_t)core->timeout_ms * 1000000ULL;

	for (;;) {
		uint64_t t;

		while (rsp_pop(vcpu, out)) {
			if (out->seq == seq)
				return 0;
			log_debug("vmi: vCPU %u: dropping a response to seq %llu", vcpu->id,
				  (unsigned long long)out->seq);
		}
		if (!atomic_load(&core->attached) || atomic_load(&core->gen) != gen)
			return -ENOTCONN;
		if (vm__stopping(vcpu->vm))
			return -ESHUTDOWN;
		t = now_ns();
		if (t >= deadline) {
			char why[160];

			snprintf(why, sizeof(why),
				 "client did not answer event %llu of vCPU %u within %u ms",
				 (unsigned long long)seq, vcpu->id, core->timeout_ms);
			vmi__detach(core, why);
			return -ETIMEDOUT;
		}
		if (t - start < SPIN_NS) {
			/* Past a short pure spin, yield: on a busy host the client may need our core. */
			if (t - start < SPIN_PURE_NS)
				__builtin_ia32_pause();
			else
				sched_yield();
			continue;
		}
		__atomic_store_n(&ring->waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) == ring->tail) {
			struct pollfd pfd[2] = {
				{ .fd = vcpu->vmi.rsp_efd, .events = POLLIN },
				{ .fd = vcpu->vm->stop_efd, .events = POLLIN },
			};
			uint64_t ms = (deadline - t) / 1000000ULL + 1;
			uint64_t v;

			if (poll(pfd, 2, (int)(ms > 1000 ? 1000 : ms)) > 0 && (pfd[0].revents & POLLIN))
				(void)!read(vcpu->vmi.rsp_efd, &v, sizeof(v));
		}
		__atomic_store_n(&ring->waiting, 0, __ATOMIC_RELAXED);
	}
}

/*
 * Sends an event of kind; fill() has filled *ev's kind data.  Returns true
 * with *rsp filled when a synchronous response came back (false: continue
 * by default).
 */
struct ev_ctx {
	struct vmscope_event ev;
	struct vmscope_response rsp;
	bool have_regs;
};

static bool vmi__send(struct vcpu *vcpu, unsigned kind, struct ev_ctx *c)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	bool sync = atomic_load_explicit(&core->sync_mask, memory_order_relaxed) & (1u << kind);
	unsigned gen = atomic_load(&core->gen);
	struct vmscope_event *slot;
	int r;

	if (!(atomic_load_explicit(&core->sub_mask, memory_order_relaxed) & (1u << kind)))
		return false;
	if (!c->have_regs && vmi__get_regs(vcpu, &c->ev.regs, false) == 0)
		c->have_regs = true;
	c->ev.kind = kind;
	c->ev.vcpu = vcpu->id;
	c->ev.seq = ++vcpu->vmi.seq;
	c->ev.flags = sync ? VMSCOPE_EVF_SYNC : 0;
	slot = ev_slot(vcpu, sync, gen);
	if (!slot)
		return false;
	memcpy(slot, &c->ev, sizeof(*slot));
	if (sync) {
		pthread_mutex_lock(&core->lock);
		vcpu->vmi.state = VMI_VCPU_HELD;
		pthread_cond_broadcast(&core->cond);
		pthread_mutex_unlock(&core->lock);
	}
	ev_publish(vcpu);
	if (!sync)
		return false;
	r = rsp_wait(vcpu, c->ev.seq, gen, &c->rsp);
	pthread_mutex_lock(&core->lock);
	vcpu->vmi.state = VMI_VCPU_RUNNING;
	pthread_mutex_unlock(&core->lock);
	if (r < 0)
		return false;
	if (c->rsp.flags & ~VMSCOPE_RSP_ALL) {
		log_warn("vmi: vCPU %u: response with unknown flags 0x%x ignored", vcpu->id,
			 c->rsp.flags);
		return false;
	}
	if (c->rsp.flags & VMSCOPE_RSP_TOGGLE_SS) {
		vcpu->vmi.client_ss = !vcpu->vmi.client_ss;
		atomic_store(&vcpu->vmi.dbg_dirty, true);
	}
	return true;
}

/* Applies SET_REGS from a response (general registers, RIP, RFLAGS). */
static void apply_regs(struct vcpu *vcpu, const struct ev_ctx *c)
{
	struct kvm_regs r;

	regs_to_kvm(&r, &c->rsp.regs);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &r) < 0)
		log_warn("vmi: vCPU %u: setting registers from a response failed: %s", vcpu->id,
			 strerror(errno));
}

/* ---- Kinds ------------------------------------------------------------------- */

static enum vmi_verdict hook_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct ev_ctx c = { 0 };
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	if (!range_within(run->io.data_offset, (uint64_t)size * run->io.count,
			  (uint64_t)vcpu->vm->host->vcpu_mmap_size) || size > 8)
		return VMI_PASS; /* the device model reports it */
	c.ev.u.io.port = run->io.port;
	c.ev.u.io.size = (uint8_t)size;
	c.ev.u.io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
	c.ev.u.io.count = run->io.count;
	if (c.ev.u.io.is_write)
		memcpy(c.ev.u.io.data, data, size);
	if (!vmi__send(vcpu, VMSCOPE_EV_IO, &c))
		return VMI_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		apply_regs(vcpu, &c);
	if ((c.rsp.flags & VMSCOPE_RSP_SET_DATA) && !c.ev.u.io.is_write) {
		for (uint32_t i = 0; i < run->io.count; i++)
			memcpy(data + i * size, c.rsp.data, size);
		return VMI_HANDLED;
	}
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VMI_HANDLED : VMI_PASS;
}

static bool page_protected(struct vmi_core *core, uint64_t page)
{
	bool found = false;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_prot; i++)
		found |= core->prot[i] == page;
	pthread_mutex_unlock(&core->lock);
	return found;
}

/* An MMIO exit at a RAM address: a write to a protected page (or a stale one). */
static enum vmi_verdict hook_ram_access(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	uint8_t *p = vm__gpa_ptr(vcpu->vm, gpa, len);
	struct ev_ctx c = { 0 };

	if (!p || len > 8)
		return VMI_PASS;
	if (!run->mmio.is_write) {
		memcpy(run->mmio.data, p, len);
		return VMI_HANDLED;
	}
	if (page_protected(vcpu->vm->vmi.core, gpa & ~4095ULL)) {
		c.ev.u.page_write.gpa = gpa;
		c.ev.u.page_write.len = len;
		c.ev.u.page_write.page_gpa = gpa & ~4095ULL;
		memcpy(c.ev.u.page_write.data, run->mmio.data, len);
		if (vmi__send(vcpu, VMSCOPE_EV_PAGE_WRITE, &c)) {
			if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
				apply_regs(vcpu, &c);
			if (c.rsp.flags & (VMSCOPE_RSP_DENY | VMSCOPE_RSP_SKIP))
				return VMI_HANDLED;
			if (c.rsp.flags & VMSCOPE_RSP_SET_DATA)
				memcpy(run->mmio.data, c.rsp.data, len);
		}
	}
	memcpy(p, run->mmio.data, len);
	return VMI_HANDLED;
}

static enum vmi_verdict hook_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct ev_ctx c = { 0 };

	if (run->mmio.len > 8)
		return VMI_PASS;
	if (memmap__offset(&vcpu->vm->map, run->mmio.phys_addr, run->mmio.len) >= 0)
		return hook_ram_access(vcpu);
	c.ev.u.mmio.gpa = run->mmio.phys_addr;
	c.ev.u.mmio.len = run->mmio.len;
	c.ev.u.mmio.is_write = run->mmio.is_write;
	if (run->mmio.is_write)
		memcpy(c.ev.u.mmio.data, run->mmio.data, run->mmio.len);
	if (!vmi__send(vcpu, VMSCOPE_EV_MMIO, &c))
		return VMI_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		apply_regs(vcpu, &c);
	if ((c.rsp.flags & VMSCOPE_RSP_SET_DATA) && !run->mmio.is_write) {
		memcpy(run->mmio.data, c.rsp.data, run->mmio.len);
		return VMI_HANDLED;
	}
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VMI_HANDLED : VMI_PASS;
}

static bool msr_watched(struct vmi_core *core, uint32_t index)
{
	bool found = false;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_msrs; i++)
		found |= core->msrs[i] == index;
	pthread_mutex_unlock(&core->lock);
	return found;
}

static enum vmi_verdict hook_msr(struct vcpu *vcpu, unsigned kind)
{
	struct kvm_run *run = vcpu->run;
	bool write = kind == VMSCOPE_EV_MSR_WRITE;
	struct ev_ctx c = { 0 };
	uint64_t value = run->msr.data;
	bool sent = false;

	if (!write && msr_access(vcpu, run->msr.index, &value, false) < 0)
		value = 0;
	if (msr_watched(vcpu->vm->vmi.core, run->msr.index)) {
		c.ev.u.msr.index = run->msr.index;
		c.ev.u.msr.value = value;
		sent = vmi__send(vcpu, kind, &c);
	}
	if (sent && (c.rsp.flags & VMSCOPE_RSP_SET_REGS))
		apply_regs(vcpu, &c);
	run->msr.error = 0;
	if (write) {
		if (sent && (c.rsp.flags & (VMSCOPE_RSP_DENY | VMSCOPE_RSP_SKIP)))
			return VMI_HANDLED;
		if (msr_access(vcpu, run->msr.index, &value, true) < 0)
			run->msr.error = 1; /* the guest gets the #GP it would have had */
	} else {
		if (sent && (c.rsp.flags & VMSCOPE_RSP_SET_DATA))
			memcpy(&value, c.rsp.data, 8);
		run->msr.data = value;
	}
	return VMI_HANDLED;
}

struct vmi_bp *vmi__find_bp(struct vmi_core *core, uint64_t gpa)
{
	for (unsigned i = 0; i < core->nr_bps; i++)
		if (core->bps[i].gpa == gpa)
			return &core->bps[i];
	return NULL;
}

/*
 * The one KVM_SET_GUEST_DEBUG value of a vCPU: the core's own step-over, the
 * client's single-step and every in-process consumer's, software breakpoints.
 */
static uint32_t dbg_control(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint32_t ctl = 0;

	if (vcpu->vmi.client_ss || vcpu->vmi.stepping_bp || atomic_load(&vcpu->vmi.consumer_ss))
		ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	/* kvm_pvm reports int3 as an emulation failure whatever the flags say. */
	if (core && core->nr_bps && !vcpu->vm->host->emulated)
		ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
	return ctl;
}

/*
 * A planted breakpoint was hit at rip (gpa): the client gets its event when
 * it owns it, each owning consumer its callback.  The core steps over it only
 * for the client: a consumer (GDB) stops the guest and steps over by itself.
 */
static enum vmi_verdict bp_hit(struct vcpu *vcpu, struct ev_ctx *c, uint64_t gpa)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint64_t rip = c->ev.regs.rip;
	bool moved = false;
	uint32_t owners;

	pthread_mutex_lock(&core->lock);
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	owners = bp ? bp->owners : 0;
	pthread_mutex_unlock(&core->lock);
	c->ev.u.bp.gpa = gpa;
	c->ev.u.bp.gva = rip;
	if ((owners & VMI_OWNER_CLIENT) && vmi__send(vcpu, VMSCOPE_EV_BREAKPOINT, c) &&
	    (c->rsp.flags & VMSCOPE_RSP_SET_REGS)) {
		apply_regs(vcpu, c);
		moved = c->rsp.regs.rip != rip; /* the client moved on: nothing to step over */
	}
	for (unsigned i = 1; i <= core->nr_consumers; i++)
		if ((owners & (1u << i)) && core->consumers[i].ops->breakpoint)
			core->consumers[i].ops->breakpoint(core->consumers[i].opaque, vcpu, gpa);
	if (!(owners & VMI_OWNER_CLIENT) || moved)
		return VMI_HANDLED;
	/* Step over it before the next KVM_RUN (step_over_begin). */
	vcpu->vmi.step_pending = true;
	vcpu->vmi.step_gpa = gpa;
	return VMI_HANDLED;
}

static void park(struct vcpu *vcpu);

/* True while every vCPU but self is out of the guest (parked or held in an event). */
static bool others_out_of_guest(struct vcpu *self)
{
	struct vm *vm = self->vm;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != self && vm->vcpus[i]->vmi.state == VMI_VCPU_RUNNING)
			return false;
	return true;
}

/*
 * Steps over the breakpoint just hit: the original byte goes back for one
 * instruction (re-planted in hook_debug).  Meanwhile every other vCPU stays
 * out of the guest, or it could run through the restored byte unseen; one
 * vCPU steps at a time, the others wait in the park.
 */
static void step_over_begin(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	unsigned me = vcpu->id + 1, none = 0;
	struct vmi_bp *bp;
	uint8_t *p;

	vcpu->vmi.step_pending = false;
	while (!atomic_compare_exchange_strong(&core->step_owner, &none, me)) {
		none = 0;
		park(vcpu); /* must_park holds it while another vCPU steps */
		if (vm__stopping(vcpu->vm))
			return;
	}
	for (unsigned i = 0; i < vcpu->vm->nr_vcpus; i++)
		if (vcpu->vm->vcpus[i] != vcpu)
			vcpu__kick(vcpu->vm->vcpus[i]);
	pthread_mutex_lock(&core->lock);
	while (!others_out_of_guest(vcpu) && !vm__stopping(vcpu->vm)) {
		/* Timed: a VM that stops says so through vm__stopping, not the condition. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&core->cond, &core->lock, &ts);
	}
	p = vm__gpa_ptr(vcpu->vm, vcpu->vmi.step_gpa, 1);
	bp = vmi__find_bp(core, vcpu->vmi.step_gpa);
	if (bp && p) {
		*p = bp->orig;
		vcpu->vmi.stepping_bp = true;
		atomic_store(&vcpu->vmi.dbg_dirty, true);
	} else {
		atomic_store(&core->step_owner, 0); /* removed meanwhile: nothing to step over */
		pthread_cond_broadcast(&core->cond);
	}
	pthread_mutex_unlock(&core->lock);
}

static enum vmi_verdict hook_debug(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	struct kvm_run *run = vcpu->run;
	struct ev_ctx c = { 0 };

	if (run->debug.arch.exception == 3) { /* hardware KVM, KVM_GUESTDBG_USE_SW_BP */
		int64_t gpa;

		if (vmi__get_regs(vcpu, &c.ev.regs, false) < 0)
			return VMI_HANDLED;
		c.have_regs = true;
		gpa = vmi__gva_to_gpa(vcpu->vm, &c.ev.regs, c.ev.regs.rip, NULL);
		pthread_mutex_lock(&core->lock);
		bool ours = gpa >= 0 && vmi__find_bp(core, (uint64_t)gpa);
		pthread_mutex_unlock(&core->lock);
		if (ours)
			return bp_hit(vcpu, &c, (uint64_t)gpa);
		/* Not ours: give the guest its #BP. */
		struct kvm_vcpu_events ev;
		if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
			ev.exception.injected = 1;
			ev.exception.nr = 3;
			ev.exception.has_error_code = 0;
			ev.flags = 0;
			c.ev.regs.rip++;
			struct kvm_regs r;
			if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0) {
				r.rip++;
				ioctl(vcpu->fd, KVM_SET_REGS, &r);
			}
			ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
		}
		return VMI_HANDLED;
	}
	if (vcpu->vmi.stepping_bp) {
		pthread_mutex_lock(&core->lock);
		uint8_t *p = vm__gpa_ptr(vcpu->vm, vcpu->vmi.step_gpa, 1);
		/* Past the original instruction: re-plant, and let the other vCPUs run. */
		if (p && vmi__find_bp(core, vcpu->vmi.step_gpa))
			*p = 0xcc;
		vcpu->vmi.stepping_bp = false;
		atomic_store(&core->step_owner, 0);
		pthread_cond_broadcast(&core->cond);
		atomic_store(&vcpu->vmi.dbg_dirty, true);
		pthread_mutex_unlock(&core->lock);
	}
	if (vcpu->vmi.client_ss && vmi__send(vcpu, VMSCOPE_EV_SINGLESTEP, &c) &&
	    (c.rsp.flags & VMSCOPE_RSP_SET_REGS))
		apply_regs(vcpu, &c);
	/* Each consumer's step is one instruction: done now, delivered to it alone. */
	uint32_t steps = atomic_exchange(&vcpu->vmi.consumer_ss, 0);
	if (steps) {
		atomic_store(&vcpu->vmi.dbg_dirty, true);
		for (unsigned i = 1; i <= core->nr_consumers; i++)
			if ((steps & (1u << i)) && core->consumers[i].ops->singlestep)
				core->consumers[i].ops->singlestep(core->consumers[i].opaque, vcpu);
	}
	return VMI_HANDLED;
}

static enum vmi_verdict hook_internal(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	struct kvm_run *run = vcpu->run;
	struct ev_ctx c = { 0 };
	uint32_t ndata = run->internal.ndata;

	if (ndata > ARRAY_SIZE(run->internal.data))
		ndata = ARRAY_SIZE(run->internal.data);
	/*
	 * An emulation failure at a planted breakpoint is its int3 (kvm_pvm),
	 * whatever bytes KVM reports: it copies them after the fact, and another
	 * vCPU stepping over the breakpoint may have put the original back.  Not
	 * so when this vCPU is itself stepping over the original instruction
	 * there: then that instruction is what failed.
	 */
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    vmi__get_regs(vcpu, &c.ev.regs, false) == 0) {
		int64_t gpa = vmi__gva_to_gpa(vcpu->vm, &c.ev.regs, c.ev.regs.rip, NULL);
		bool reported_int3 = ndata >= 2 && (run->internal.data[1] & 0xff) >= 1 &&
				     ((run->internal.data[1] >> 8) & 0xff) == 0xcc;

		c.have_regs = true;
		if (gpa >= 0 && !(vcpu->vmi.stepping_bp && vcpu->vmi.step_gpa == (uint64_t)gpa)) {
			pthread_mutex_lock(&core->lock);
			bool ours = vmi__find_bp(core, (uint64_t)gpa) != NULL;
			const uint8_t *p = vm__gpa_ptr(vcpu->vm, (uint64_t)gpa, 1);
			bool gone = p && *p != 0xcc; /* removed since: run the real instruction */
			pthread_mutex_unlock(&core->lock);
			if (ours)
				return bp_hit(vcpu, &c, (uint64_t)gpa);
			if (reported_int3 && gone)
				return VMI_HANDLED;
		}
	}
	c.ev.u.internal.suberror = run->internal.suberror;
	c.ev.u.internal.ndata = ndata;
	memcpy(c.ev.u.internal.data, run->internal.data, ndata * sizeof(uint64_t));
	vmi__send(vcpu, VMSCOPE_EV_INTERNAL_ERROR, &c);
	return VMI_PASS;
}

/* RIP is past the HLT already; skipping it means going on instead of halting. */
static enum vmi_verdict hook_hlt(struct vcpu *vcpu)
{
	struct ev_ctx c = { 0 };

	if (!vmi__send(vcpu, VMSCOPE_EV_HLT, &c))
		return VMI_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		apply_regs(vcpu, &c);
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VMI_HANDLED : VMI_PASS;
}

static enum vmi_verdict hook_hypercall(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct ev_ctx c = { 0 };

	c.ev.u.hypercall.nr = run->hypercall.nr;
	memcpy(c.ev.u.hypercall.args, run->hypercall.args, sizeof(c.ev.u.hypercall.args));
	run->hypercall.ret = (uint64_t)-1000; /* -KVM_ENOSYS unless the client says */
	if (vmi__send(vcpu, VMSCOPE_EV_HYPERCALL, &c)) {
		if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
			apply_regs(vcpu, &c);
		if (c.rsp.flags & VMSCOPE_RSP_SET_DATA)
			memcpy(&run->hypercall.ret, c.rsp.data, 8);
	}
	return VMI_HANDLED;
}

enum vmi_verdict vmi__hook(struct vcpu *vcpu, unsigned kind)
{
	struct ev_ctx c = { 0 };

	if (!vcpu->vm->vmi.core)
		return VMI_PASS;
	switch (kind) {
	case VMSCOPE_EV_IO:
		return hook_io(vcpu);
	case VMSCOPE_EV_MMIO:
		return hook_mmio(vcpu);
	case VMSCOPE_EV_SINGLESTEP:
		return hook_debug(vcpu);
	case VMSCOPE_EV_INTERNAL_ERROR:
		return hook_internal(vcpu);
	case VMSCOPE_EV_MSR_READ:
	case VMSCOPE_EV_MSR_WRITE:
		return hook_msr(vcpu, kind);
	case VMSCOPE_EV_HYPERCALL:
		return hook_hypercall(vcpu);
	case VMSCOPE_EV_HLT:
		return hook_hlt(vcpu);
	case VMSCOPE_EV_SHUTDOWN:
		vmi__send(vcpu, kind, &c);
		return VMI_PASS;
	}
	return VMI_PASS;
}

/* Exits that exist only because of us, when the hook did not take them (a race with detach). */
bool vmi__fallback(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (!vcpu->vm->vmi.core)
			return false;
		hook_msr(vcpu, run->exit_reason == KVM_EXIT_X86_WRMSR ? VMSCOPE_EV_MSR_WRITE
								  : VMSCOPE_EV_MSR_READ);
		return true;
	case KVM_EXIT_DEBUG:
	case KVM_EXIT_INTERNAL_ERROR:
		return vcpu->vm->vmi.core && vmi__hook(vcpu, vmi__exit_kind(run->exit_reason)) == VMI_HANDLED;
	case KVM_EXIT_MMIO:
		if (run->mmio.len <= 8 &&
		    memmap__offset(&vcpu->vm->map, run->mmio.phys_addr, run->mmio.len) >= 0) {
			hook_ram_access(vcpu);
			return true;
		}
		return false;
	}
	return false;
}

/* ---- Pausing ------------------------------------------------------------------- */

/* A client's pause, the core's quiesce, a consumer's all-stop or hold: one park for all. */
static bool must_park(struct vmi_core *core, struct vcpu *vcpu)
{
	unsigned stepper = atomic_load_explicit(&core->step_owner, memory_order_relaxed);

	return (stepper && stepper != vcpu->id + 1) ||
	       atomic_load_explicit(&vcpu->vmi.pause_req, memory_order_relaxed) ||
	       atomic_load_explicit(&core->quiesce, memory_order_relaxed) ||
	       atomic_load_explicit(&core->halt, memory_order_relaxed) ||
	       atomic_load_explicit(&vcpu->vmi.hold, memory_order_relaxed);
}

static void park(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;

	pthread_mutex_lock(&core->lock);
	while (must_park(core, vcpu) && !vm__stopping(vcpu->vm)) {
		unsigned gen = atomic_load(&vcpu->vmi.pause_gen);

		/*
		 * Each client pause is announced once: before the vCPU counts as
		 * parked, or at once when it finds the vCPU parked already (a
		 * resume and a pause that came before it left its park).
		 */
		if (atomic_load(&vcpu->vmi.pause_req) && gen != vcpu->vmi.pause_announced) {
			struct ev_ctx c = { 0 };

			vcpu->vmi.pause_announced = gen; /* under the lock: do_pause() reads it */
			c.ev.u.pause.reason = vcpu->vmi.started ? 0 : 1;
			pthread_mutex_unlock(&core->lock);
			vmi__send(vcpu, VMSCOPE_EV_PAUSE, &c);
			pthread_mutex_lock(&core->lock);
			pthread_cond_broadcast(&core->cond); /* the pause request waits for this */
			continue;
		}
		if (vcpu->vmi.state != VMI_VCPU_PARKED) {
			vcpu->vmi.state = VMI_VCPU_PARKED;
			pthread_cond_broadcast(&core->cond);
		}
		pthread_cond_wait(&core->cond, &core->lock);
	}
	vcpu->vmi.state = VMI_VCPU_RUNNING;
	pthread_mutex_unlock(&core->lock);
}

void vmi__before_run(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;

	if (!core)
		return;
	if (must_park(core, vcpu)) {
		/* An exit the kernel has not completed yet (I/O in, MSR read) completes first. */
		park(vcpu);
	}
	if (vcpu->vmi.step_pending)
		step_over_begin(vcpu);
	if (!vcpu->vmi.started) {
		struct ev_ctx c = { 0 };

		vcpu->vmi.started = true;
		vmi__send(vcpu, VMSCOPE_EV_VCPU_START, &c);
		if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
			apply_regs(vcpu, &c);
	}
	/* Event snapshots come with the exit (KVM_CAP_SYNC_REGS) while a client subscribes. */
	if (core->sync_regs) {
		uint64_t want = atomic_load_explicit(&core->sub_mask, memory_order_relaxed)
					? KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS : 0;

		if (vcpu->run->kvm_valid_regs != want)
			vcpu->run->kvm_valid_regs = want;
	}
	if (atomic_exchange(&vcpu->vmi.dbg_dirty, false)) {
		pthread_mutex_lock(&core->lock);
		struct kvm_guest_debug dbg = { .control = dbg_control(vcpu) };
		pthread_mutex_unlock(&core->lock);
		if (dbg.control != vcpu->vmi.dbg_control) {
			if (ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
				log_warn("vmi: vCPU %u: KVM_SET_GUEST_DEBUG: %s", vcpu->id,
					 strerror(errno));
			else
				vcpu->vmi.dbg_control = dbg.control;
		}
	}
}

void vmi__wake(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint64_t one = 1;

	if (!core)
		return;
	pthread_mutex_lock(&core->lock);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	if (vcpu->vmi.rsp_efd >= 0)
		(void)!write(vcpu->vmi.rsp_efd, &one, sizeof(one));
}

void vmi__refresh_dbg(struct vmi_core *core)
{
	if (!atomic_load(&core->ready))
		return; /* every vCPU loads its flags before its first KVM_RUN */
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++) {
		atomic_store(&core->vm->vcpus[i]->vmi.dbg_dirty, true);
		/* A kick of a stopping VM wakes the vCPU through this (held) lock. */
		if (!vm__stopping(core->vm))
			vcpu__kick(core->vm->vcpus[i]);
	}
}

int vmi__quiesce(struct vmi_core *core)
{
	struct vm *vm = core->vm;
	struct timespec ts;

	atomic_store(&core->quiesce, true);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(vm->vcpus[i]);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	for (;;) {
		bool all = true;

		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			all &= vm->vcpus[i]->vmi.state != VMI_VCPU_RUNNING;
		if (all || vm__stopping(vm))
			return 0;
		if (pthread_cond_timedwait(&core->cond, &core->lock, &ts) == ETIMEDOUT) {
			vmi__unquiesce(core);
			return -ETIMEDOUT;
		}
	}
}

void vmi__unquiesce(struct vmi_core *core)
{
	atomic_store(&core->quiesce, false);
	pthread_cond_broadcast(&core->cond);
}

/* ---- Breakpoints with owners ---------------------------------------------------- */

int vmi__bp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa)
{
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	uint8_t *p = vm__gpa_ptr(core->vm, gpa, 1);

	if (!p)
		return -EFAULT;
	if (bp) {
		if (bp->owners & owner)
			return -EEXIST;
		bp->owners |= owner; /* planted already: one byte, one more owner */
		return 0;
	}
	if (core->nr_bps == VMI_MAX_BPS)
		return -ENOSPC;
	core->bps[core->nr_bps++] = (struct vmi_bp){ .gpa = gpa, .orig = *p, .owners = owner };
	*p = 0xcc;
	vmi__update_watch(core);
	if (!core->vm->host->emulated)
		vmi__refresh_dbg(core);
	return 0;
}

int vmi__bp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa)
{
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	uint8_t *p;

	if (!bp || !(bp->owners & owner))
		return -ENOENT;
	bp->owners &= ~owner;
	if (bp->owners)
		return 0; /* another owner keeps it planted */
	p = vm__gpa_ptr(core->vm, gpa, 1);
	if (p && *p == 0xcc)
		*p = bp->orig;
	*bp = core->bps[--core->nr_bps];
	vmi__update_watch(core);
	if (!core->vm->host->emulated)
		vmi__refresh_dbg(core);
	return 0;
}

int vmi__bp_add(struct vm *vm, uint32_t owner, uint64_t gpa)
{
	struct vmi_core *core = vm->vmi.core;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__bp_add_locked(core, owner, gpa);
	pthread_mutex_unlock(&core->lock);
	return r;
}

int vmi__bp_remove(struct vm *vm, uint32_t owner, uint64_t gpa)
{
	struct vmi_core *core = vm->vmi.core;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__bp_remove_locked(core, owner, gpa);
	pthread_mutex_unlock(&core->lock);
	return r;
}

/* ---- In-process consumers ---------------------------------------------------------- */

int vmi__register_consumer(struct vm *vm, const struct vmi_consumer_ops *ops, void *opaque)
{
	struct vmi_core *core = vm->vmi.core;
	unsigned c;

	if (!core)
		return -ENOTSUP;
	if (core->nr_consumers == VMI_MAX_CONSUMERS)
		return -ENOSPC;
	c = ++core->nr_consumers;
	core->consumers[c].ops = ops;
	core->consumers[c].opaque = opaque;
	return (int)c;
}

struct vcpu *vmi__vcpu(struct vm *vm, unsigned id)
{
	struct vmi_core *core = vm->vmi.core;

	if (!core || !atomic_load_explicit(&core->ready, memory_order_acquire) || id >= vm->nr_vcpus)
		return NULL;
	return vm->vcpus[id];
}

static void kick_all(struct vmi_core *core)
{
	if (!atomic_load(&core->ready))
		return; /* a vCPU not started yet sees the flag before its first KVM_RUN */
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++)
		vcpu__kick(core->vm->vcpus[i]);
}

void vmi__halt(struct vm *vm, int c, bool on)
{
	struct vmi_core *core = vm->vmi.core;

	if (on) {
		atomic_fetch_or(&core->halt, 1u << c);
		kick_all(core);
		return;
	}
	pthread_mutex_lock(&core->lock);
	atomic_fetch_and(&core->halt, ~(1u << c));
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

void vmi__hold(struct vm *vm, int c, unsigned id, bool on)
{
	struct vcpu *v = vmi__vcpu(vm, id);
	struct vmi_core *core = vm->vmi.core;

	if (!v)
		return;
	if (on) {
		atomic_fetch_or(&v->vmi.hold, 1u << c);
		vcpu__kick(v);
		return;
	}
	pthread_mutex_lock(&core->lock);
	atomic_fetch_and(&v->vmi.hold, ~(1u << c));
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

int vmi__step(struct vm *vm, int c, unsigned id, bool on)
{
	struct vcpu *v = vmi__vcpu(vm, id);

	if (!v)
		return -ESRCH;
	if (on && !vm->host->cap_guest_debug)
		return -ENOTSUP;
	if (on)
		atomic_fetch_or(&v->vmi.consumer_ss, 1u << c);
	else
		atomic_fetch_and(&v->vmi.consumer_ss, ~(1u << c));
	atomic_store(&v->vmi.dbg_dirty, true); /* loaded when it leaves its park */
	return 0;
}

int vmi__wait_stopped(struct vm *vm, unsigned timeout_ms)
{
	struct vmi_core *core = vm->vmi.core;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int r = 0;

	pthread_mutex_lock(&core->lock);
	for (;;) {
		struct timespec ts;
		bool all = atomic_load(&core->ready);

		for (unsigned i = 0; all && i < vm->nr_vcpus; i++)
			all &= vm->vcpus[i]->vmi.state != VMI_VCPU_RUNNING;
		if (all || vm__stopping(vm))
			break;
		if (now_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		/* Short waits: the VM may start or stop without a broadcast. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&core->cond, &core->lock, &ts);
	}
	pthread_mutex_unlock(&core->lock);
	return r;
}

void vmi__release_consumer(struct vm *vm, int c)
{
	struct vmi_core *core = vm->vmi.core;
	uint32_t bit = 1u << c;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_bps;) {
		if (core->bps[i].owners & bit) {
			uint64_t gpa = core->bps[i].gpa;
			bool last = core->bps[i].owners == bit;

			vmi__bp_remove_locked(core, bit, gpa);
			if (last)
				continue; /* the last entry moved into slot i */
		}
		i++;
	}
	if (atomic_load(&core->ready)) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = vm->vcpus[i];

			atomic_fetch_and(&v->vmi.hold, ~bit);
			if (atomic_fetch_and(&v->vmi.consumer_ss, ~bit) & bit)
				atomic_store(&v->vmi.dbg_dirty, true);
		}
	}
	atomic_fetch_and(&core->halt, ~bit);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

void vmi__vcpu_exit(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;

	if (!core)
		return;
	/* Out of the guest for good: a vCPU stepping over a breakpoint need not wait for it. */
	pthread_mutex_lock(&core->lock);
	vcpu->vmi.state = VMI_VCPU_PARKED;
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	for (unsigned i = 1; i <= core->nr_consumers; i++)
		if (core->consumers[i].ops->vcpu_exit)
			core->consumers[i].ops->vcpu_exit(core->consumers[i].opaque, vcpu);
}
