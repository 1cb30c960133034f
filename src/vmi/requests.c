/*
 * What each control-socket request does, once vmi_msg__parse (msg.c) has
 * checked it; called on the control thread with the core's lock held.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvm_ioctl.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"
#include "vmi/requests.h"

/*
 * True when the step over a breakpoint at gpa may end in user mode.  Every
 * iret counts, whatever CS it will pop: that stack does not exist yet when
 * the breakpoint is planted.  (The GDB stub's step check, which runs from
 * a stopped vCPU, reads the CS and refuses only an iret to user mode.)
 * Bytes past the end of RAM read as 0.
 */
static bool returns_to_user_mode(struct vm *vm, uint64_t gpa)
{
	uint8_t insn[3] = { 0 };

	for (unsigned i = 0; i < sizeof(insn); i++) {
		const uint8_t *b = vm__gpa_ptr(vm, gpa + i, 1);

		insn[i] = b ? *b : 0;
	}
	return vmi__user_return(insn, NULL) != VMI_RET_NONE;
}

int vmi__reply_fail(struct vmi_reply *rp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->h.error, sizeof(rp->h.error), fmt, ap);
	va_end(ap);
	rp->h.status = err;
	return 0;
}

static bool vcpu_stopped(struct vcpu *v)
{
	return v->vmi->state != VMI_VCPU_RUNNING;
}

/*
 * Stopped for the pause just requested: held in a synchronous event, or
 * parked and, when the client listens for PAUSE events, having announced
 * this pause.  (A vCPU still asleep in its park from before a resume has
 * not, and must wake to do it: only its thread writes its event ring.)
 */
static bool vcpu_paused(struct vmi_core *core, struct vcpu *v)
{
	bool listens = atomic_load(&core->sub_mask) & (1u << VMSCOPE_EV_PAUSE);

	if (v->vmi->state == VMI_VCPU_HELD)
		return true;
	return v->vmi->state == VMI_VCPU_PARKED &&
	       (!listens || v->vmi->pause_announced == atomic_load(&v->vmi->pause_gen));
}

int vmi__pause_vcpus(struct vmi_core *core, uint32_t which, bool pause, struct vmi_reply *rp)
{
	struct vm *vm = core->vm;
	struct timespec ts;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (which != VMSCOPE_ALL_VCPUS && which != i)
			continue;
		if (pause)
			atomic_fetch_add(&vm->vcpus[i]->vmi->pause_gen, 1);
		atomic_store(&vm->vcpus[i]->vmi->pause_req, pause);
		if (pause)
			vcpu__kick(vm->vcpus[i]);
	}
	pthread_cond_broadcast(&core->cond);
	if (!pause)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	for (;;) {
		bool all = true;

		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			if (which == VMSCOPE_ALL_VCPUS || which == i)
				all &= vcpu_paused(core, vm->vcpus[i]);
		if (all)
			return 0;
		if (vm__stopping(vm))
			return vmi__reply_fail(rp, -ESHUTDOWN, "the VM is stopping");
		if (pthread_cond_timedwait(&core->cond, &core->lock, &ts) == ETIMEDOUT)
			return vmi__reply_fail(rp, -ETIMEDOUT, "vCPUs did not stop within 5 s");
	}
}

static int add_protect(struct vmi_core *core, uint64_t gpa, bool add, struct vmi_reply *rp)
{
	unsigned i, n = core->nr_prot;
	int r;

	for (i = 0; i < n && core->prot[i] < gpa; i++)
		;
	if (add) {
		if (i < n && core->prot[i] == gpa)
			return 0;
		if (n == VMI_MAX_PROTECTED)
			return vmi__reply_fail(rp, -ENOSPC, "at most %d protected pages", VMI_MAX_PROTECTED);
		memmove(&core->prot[i + 1], &core->prot[i], (n - i) * sizeof(core->prot[0]));
		core->prot[i] = gpa;
		core->nr_prot++;
	} else {
		if (i == n || core->prot[i] != gpa)
			return vmi__reply_fail(rp, -ENOENT, "page is not protected");
		memmove(&core->prot[i], &core->prot[i + 1], (n - i - 1) * sizeof(core->prot[0]));
		core->nr_prot--;
	}
	r = vmi__quiesce(core);
	if (r < 0)
		return vmi__reply_fail(rp, r, "vCPUs did not stop to change the memory slots");
	r = vmi__rebuild_slots(core);
	vmi__unquiesce(core);
	vmi__update_watch(core);
	return r < 0 ? vmi__reply_fail(rp, r, "KVM refused the memory slots") : 0;
}

/*
 * The handlers, one per row of VMI_MESSAGES (msg.h).  v is the vCPU the
 * request names (stopped when its row says so), NULL when it names none or
 * all.  Each returns the reply's payload size; a failure is set in rp.
 * The reasons travel in the reply: at most 63 characters each (abi.h).
 */
typedef size_t request_fn(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			  struct vmi_reply *rp);

static size_t req_subscribe(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			    struct vmi_reply *rp)
{
	const struct kvm_host *host = core->vm->host;
	unsigned kind = m->u.subscribe.kind, bit = 1u << kind;
	int r;

	(void)v;
	if (!(core->caps & bit)) {
		const char *why = "this host's KVM cannot deliver it", *what = "";

		if (kind == VMSCOPE_EV_HLT)
			why = "HLT stays in KVM (in-kernel irqchip): use --irqchip off";
		else if (kind == VMSCOPE_EV_HYPERCALL)
			why = host->emulated ? "kvm_pvm never completes a vmcall (see the README)"
					     : "KVM_CAP_EXIT_HYPERCALL is absent";
		else if (kind == VMSCOPE_EV_BREAKPOINT)
			what = "int3: ", why = host_debug__why(host->dbg.sw_bp);
		else if (kind == VMSCOPE_EV_SINGLESTEP)
			what = "single-step: ", why = host_debug__why(host->dbg.singlestep);
		else if (kind == VMSCOPE_EV_MSR_READ || kind == VMSCOPE_EV_MSR_WRITE)
			why = "KVM_CAP_X86_USER_SPACE_MSR/MSR_FILTER absent";
		vmi__reply_fail(rp, -ENOTSUP, "%s%s", what, why);
		return 0;
	}
	if (m->u.subscribe.sync && kind == VMSCOPE_EV_SHUTDOWN) {
		vmi__reply_fail(rp, -EINVAL, "shutdown events are asynchronous only");
		return 0;
	}
	atomic_fetch_or(&core->sub_mask, bit);
	if (m->u.subscribe.sync)
		atomic_fetch_or(&core->sync_mask, bit);
	else
		atomic_fetch_and(&core->sync_mask, ~bit);
	vmi__update_watch(core);
	if (kind == VMSCOPE_EV_MSR_READ || kind == VMSCOPE_EV_MSR_WRITE) {
		r = vmi__update_msr_filter(core);
		if (r < 0)
			vmi__reply_fail(rp, r, "KVM refused the MSR filter");
	}
	return 0;
}

static size_t req_unsubscribe(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			      struct vmi_reply *rp)
{
	unsigned bit = 1u << m->u.subscribe.kind;

	(void)v, (void)rp;
	atomic_fetch_and(&core->sub_mask, ~bit);
	atomic_fetch_and(&core->sync_mask, ~bit);
	vmi__update_watch(core);
	vmi__update_msr_filter(core);
	return 0;
}

static size_t req_pause(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			struct vmi_reply *rp)
{
	(void)v;
	vmi__pause_vcpus(core, m->u.vcpu.vcpu, true, rp);
	return 0;
}

static size_t req_resume(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			 struct vmi_reply *rp)
{
	(void)v;
	vmi__pause_vcpus(core, m->u.vcpu.vcpu, false, rp);
	return 0;
}

static size_t req_get_regs(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			   struct vmi_reply *rp)
{
	struct vmscope_msg_regs *out = (void *)rp->payload;
	int r;

	(void)core, (void)m;
	memset(out, 0, sizeof(*out));
	out->vcpu = v->id;
	r = vmi__get_regs(v, &out->regs, true);
	if (r < 0)
		vmi__reply_fail(rp, r, "%s", kvm_ioctl__why());
	return sizeof(*out);
}

static size_t req_set_regs(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			   struct vmi_reply *rp)
{
	int r = vmi__set_regs(v, &m->u.regs.regs, true);

	(void)core;
	if (r < 0)
		vmi__reply_fail(rp, r, "KVM refused the registers");
	return 0;
}

static size_t req_msr(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
		      struct vmi_reply *rp)
{
	bool write = m->hdr.type == VMSCOPE_MSG_SET_MSR;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} k = { .hdr.nmsrs = 1, .e.index = m->u.msr.index, .e.data = m->u.msr.value };
	struct vmscope_msg_msr *out = (void *)rp->payload;

	(void)core;
	if ((write ? vcpu_ioctl(v, KVM_SET_MSRS, &k) : vcpu_ioctl(v, KVM_GET_MSRS, &k)) != 1) {
		vmi__reply_fail(rp, -EINVAL, "KVM refused MSR 0x%x", m->u.msr.index);
		return 0;
	}
	*out = m->u.msr;
	out->value = k.e.data;
	return sizeof(*out);
}

static size_t req_set_bp(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			 struct vmi_reply *rp)
{
	struct vm *vm = core->vm;
	uint64_t gpa = m->u.gpa.gpa;
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	uint8_t *p = vm__gpa_ptr(vm, gpa, 1);
	int r;

	(void)v;
	if (!host_debug__sw_bp_ok(&vm->host->dbg)) {
		vmi__reply_fail(rp, -ENOTSUP, "int3: %s", host_debug__why(vm->host->dbg.sw_bp));
		return 0;
	}
	if (bp && (bp->owners & VMI_OWNER_CLIENT)) {
		vmi__reply_fail(rp, -EEXIST, "a breakpoint is already there");
		return 0;
	}
	if (!bp && *p == 0xcc) {
		vmi__reply_fail(rp, -EINVAL, "the guest already has an int3 there");
		return 0;
	}
	if (vm->host->emulated && !bp && returns_to_user_mode(vm, gpa)) {
		vmi__reply_fail(rp, -ENOTSUP, "sysret/sysexit/iret: no step to user mode here");
		return 0;
	}
	r = vmi__bp_add_locked(core, VMI_OWNER_CLIENT, gpa);
	if (r == -ENOSPC)
		vmi__reply_fail(rp, r, "at most %d breakpoints", VMI_MAX_BPS);
	else if (r < 0)
		vmi__reply_fail(rp, r, "cannot plant a breakpoint there");
	return 0;
}

static size_t req_clear_bp(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			   struct vmi_reply *rp)
{
	(void)v;
	if (vmi__bp_remove_locked(core, VMI_OWNER_CLIENT, m->u.gpa.gpa) < 0)
		vmi__reply_fail(rp, -ENOENT, "no breakpoint there");
	return 0;
}

static size_t req_set_hwbp(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			   struct vmi_reply *rp)
{
	const struct vmscope_msg_hwbp *req = &m->u.hwbp;
	const struct kvm_host *host = core->vm->host;
	struct vmscope_msg_hwbp *out = (void *)rp->payload;
	unsigned slot = 0;
	int r;

	(void)v;
	if (req->type == VMSCOPE_HWBP_EXEC && !host_debug__hw_bp_ok(&host->dbg)) {
		vmi__reply_fail(rp, -ENOTSUP, "hw breakpoints: %s", host_debug__why(host->dbg.hw_bp));
		return 0;
	}
	if (req->type != VMSCOPE_HWBP_EXEC && !host_debug__hw_watch_ok(&host->dbg)) {
		vmi__reply_fail(rp, -ENOTSUP, "watchpoints: %s", host_debug__why(host->dbg.hw_watch));
		return 0;
	}
	/* Going on after an execute hit is a single-step with the slot left out. */
	if (req->type == VMSCOPE_HWBP_EXEC && !host_debug__step_ok(&host->dbg)) {
		vmi__reply_fail(rp, -ENOTSUP, "exec: no single-step to go on after a hit");
		return 0;
	}
	r = vmi__hwbp_add_locked(core, VMI_OWNER_CLIENT, req->addr, req->type, req->len, &slot);
	if (r == -ENOSPC) {
		vmi__reply_fail(rp, r, "all %u debug-register slots are taken", VMSCOPE_HWBP_SLOTS);
		return 0;
	}
	if (r == -EEXIST) {
		vmi__reply_fail(rp, r, "already set");
		return 0;
	}
	if (r < 0) {
		vmi__reply_fail(rp, r, "cannot set it");
		return 0;
	}
	*out = *req;
	out->slot = slot;
	return sizeof(*out);
}

static size_t req_clear_hwbp(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			     struct vmi_reply *rp)
{
	(void)v;
	if (vmi__hwbp_remove_locked(core, VMI_OWNER_CLIENT, m->u.hwbp.addr, m->u.hwbp.type,
				    m->u.hwbp.len) < 0)
		vmi__reply_fail(rp, -ENOENT, "no hardware breakpoint of this kind there");
	return 0;
}

static size_t req_singlestep(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			     struct vmi_reply *rp)
{
	const struct kvm_host *host = core->vm->host;

	if (!host_debug__step_ok(&host->dbg)) {
		vmi__reply_fail(rp, -ENOTSUP, "single-step: %s", host_debug__why(host->dbg.singlestep));
		return 0;
	}
	v->vmi->client_ss = m->u.vcpu.enable;
	atomic_store(&v->vmi->dbg_dirty, true);
	vcpu__kick(v);
	return 0;
}

static size_t req_protect(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			  struct vmi_reply *rp)
{
	(void)v;
	if (!core->vm->host->cap_readonly_mem) {
		vmi__reply_fail(rp, -ENOTSUP, "KVM_CAP_READONLY_MEM is absent");
		return 0;
	}
	add_protect(core, m->u.gpa.gpa, m->hdr.type == VMSCOPE_MSG_PROTECT, rp);
	return 0;
}

static size_t req_inject(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			 struct vmi_reply *rp)
{
	struct kvm_vcpu_events ev;

	(void)core;
	if (vcpu_ioctl(v, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		vmi__reply_fail(rp, -errno, "%s", kvm_ioctl__why());
		return 0;
	}
	if (ev.exception.injected || ev.exception.pending) {
		vmi__reply_fail(rp, -EBUSY, "an exception is already pending");
		return 0;
	}
	ev.exception.injected = 1;
	ev.exception.nr = m->u.inject.vector;
	ev.exception.has_error_code = m->u.inject.has_error;
	ev.exception.error_code = m->u.inject.error_code;
	ev.flags = 0;
	if (vcpu_ioctl(v, KVM_SET_VCPU_EVENTS, &ev) < 0)
		vmi__reply_fail(rp, -errno, "KVM refused the exception");
	return 0;
}

static size_t req_msr_watch(struct vmi_core *core, struct vcpu *v, const struct vmi_msg *m,
			    struct vmi_reply *rp)
{
	int r;

	(void)v;
	if (!core->usermsr_enabled) {
		vmi__reply_fail(rp, -ENOTSUP, "KVM_CAP_X86_USER_SPACE_MSR/MSR_FILTER absent");
		return 0;
	}
	core->nr_msrs = m->u.msr_watch.nr;
	memcpy(core->msrs, m->u.msr_watch.index, sizeof(core->msrs));
	r = vmi__update_msr_filter(core);
	if (r < 0)
		vmi__reply_fail(rp, r, "KVM refused the MSR filter");
	return 0;
}

/* The dispatcher's columns of VMI_MESSAGES. */
struct request_rule {
	uint32_t type;
	int vcpu_at;
	bool stopped;
	request_fn *handle;
};

#define REQUEST_RULE(t, size, vcpu, all, stopped_, check, handler)                         \
	{ .type = VMSCOPE_MSG_##t, .vcpu_at = (vcpu), .stopped = (stopped_), .handle = (handler) },
static const struct request_rule requests[] = { VMI_MESSAGES(REQUEST_RULE) };

size_t vmi__handle_request(struct vmi_core *core, const struct vmi_msg *m, struct vmi_reply *rp)
{
	const struct request_rule *rule = NULL;
	struct vcpu *v = NULL;
	uint32_t id;

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]) && !rule; i++)
		if (requests[i].type == m->hdr.type && requests[i].handle)
			rule = &requests[i];
	if (!rule) {
		vmi__reply_fail(rp, -EINVAL, "unexpected request");
		return 0;
	}
	if (rule->vcpu_at >= 0) {
		/* vmi_msg__parse checked it: below nr_vcpus, or VMSCOPE_ALL_VCPUS where allowed. */
		memcpy(&id, (const uint8_t *)m + rule->vcpu_at, sizeof(id));
		if (id != VMSCOPE_ALL_VCPUS)
			v = core->vm->vcpus[id];
	}
	if (v && rule->stopped && !vcpu_stopped(v)) {
		vmi__reply_fail(rp, -EBUSY, "vCPU %u is running: pause it first", v->id);
		return 0;
	}
	return rule->handle(core, v, m, rp);
}
