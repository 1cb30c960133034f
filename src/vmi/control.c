/*
 * The control socket (--vmi-socket): one controlling client at a time, on
 * its own thread.  Attach hands over the guest-RAM memfd, the event-channel
 * memfd and the eventfds; every later request is parsed by vmi_msg__parse
 * (msg.c) before anything acts on it.  A client that goes away, hangs past
 * --vmi-timeout or is told to detach loses all its hooks (vmi__detach).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/msg.h"
#include "vmi/core.h"

#define EV_SLOTS 256
#define RSP_SLOTS 16

/* ---- Watch mask, MSR filter, memory slots ----------------------------------- */

void vmi__update_watch(struct vmi_core *core)
{
	unsigned sub = atomic_load(&core->sub_mask);
	unsigned mask = sub;

	if (sub & (1u << VMSCOPE_EV_PAGE_WRITE) || core->nr_prot)
		mask |= 1u << VMSCOPE_EV_MMIO;
	if (sub & (1u << VMSCOPE_EV_BREAKPOINT) || core->nr_bps)
		mask |= 1u << VMSCOPE_EV_INTERNAL_ERROR;
	if (core->usermsr_enabled)
		mask |= 1u << VMSCOPE_EV_MSR_READ | 1u << VMSCOPE_EV_MSR_WRITE;
	/* Debug exits always reach the hook: only we turn single-step on. */
	mask |= 1u << VMSCOPE_EV_SINGLESTEP;
	atomic_store(&core->vm->vmi.watch_mask, mask);
	if (core->hdr) {
		core->hdr->watch_mask = sub;
		core->hdr->sync_mask = atomic_load(&core->sync_mask);
	}
}

int vmi__update_msr_filter(struct vmi_core *core)
{
	static uint8_t deny[1]; /* bit 0 clear: the one MSR of the range is denied */
	unsigned sub = atomic_load(&core->sub_mask);
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	uint32_t flags = 0;

	if (!core->usermsr_enabled)
		return core->nr_msrs ? -ENOTSUP : 0;
	if (sub & (1u << VMSCOPE_EV_MSR_READ))
		flags |= KVM_MSR_FILTER_READ;
	if (sub & (1u << VMSCOPE_EV_MSR_WRITE))
		flags |= KVM_MSR_FILTER_WRITE;
	for (unsigned i = 0; flags && i < core->nr_msrs && i < KVM_MSR_FILTER_MAX_RANGES; i++)
		f.ranges[i] = (struct kvm_msr_filter_range){
			.flags = flags, .nmsrs = 1, .base = core->msrs[i], .bitmap = deny,
		};
	if (ioctl(core->vm->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return -errno;
	return 0;
}

static int set_slot(struct vmi_core *core, unsigned slot, uint64_t gpa, uint64_t size,
		    bool ro)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = ro ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};

	if (size) {
		uint8_t *p = vm__gpa_ptr(core->vm, gpa, size);

		if (!p)
			return -EFAULT;
		r.userspace_addr = (uint64_t)(uintptr_t)p;
	}
	return ioctl(core->vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* Lays the RAM out again: protected pages in read-only slots, the rest read-write. */
int vmi__rebuild_slots(struct vmi_core *core)
{
	const struct memmap *map = &core->vm->map;
	unsigned n = 0;
	int r = 0;

	for (unsigned i = 0; i < core->nr_slots; i++)
		set_slot(core, i, 0, 0, false);
	for (unsigned i = 0; i < map->nr_regions && r == 0; i++) {
		uint64_t cur = map->regions[i].gpa, end = cur + map->regions[i].size;

		for (unsigned j = 0; j < core->nr_prot && r == 0; j++) {
			uint64_t p = core->prot[j];

			if (p < cur || p >= end)
				continue;
			if (p > cur)
				r = set_slot(core, n++, cur, p - cur, false);
			if (r == 0)
				r = set_slot(core, n++, p, 4096, true);
			cur = p + 4096;
		}
		if (r == 0 && cur < end)
			r = set_slot(core, n++, cur, end - cur, false);
	}
	core->nr_slots = n;
	if (r < 0)
		log_error("vmi: rebuilding the memory slots failed: %s", strerror(-r));
	return r;
}

/* ---- Detach -------------------------------------------------------------------- */

void vmi__detach(struct vmi_core *core, const char *why)
{
	struct vm *vm = core->vm;
	unsigned nbps = 0, nprot;
	uint64_t gpas[VMI_MAX_BPS];

	pthread_mutex_lock(&core->lock);
	if (!atomic_load(&core->attached)) {
		pthread_mutex_unlock(&core->lock);
		return;
	}
	atomic_store(&core->attached, false);
	atomic_store(&core->sub_mask, 0);
	atomic_store(&core->sync_mask, 0);
	atomic_fetch_add(&core->gen, 1);
	/* The client's breakpoints only: an in-process consumer keeps its own. */
	for (unsigned i = 0; i < core->nr_bps; i++)
		if (core->bps[i].owners & VMI_OWNER_CLIENT)
			gpas[nbps++] = core->bps[i].gpa;
	for (unsigned i = 0; i < nbps; i++)
		vmi__bp_remove_locked(core, VMI_OWNER_CLIENT, gpas[i]);
	core->nr_msrs = 0;
	vmi__update_msr_filter(core);
	nprot = core->nr_prot;
	if (nprot) {
		core->nr_prot = 0;
		if (vmi__quiesce(core) == 0) {
			vmi__rebuild_slots(core);
			vmi__unquiesce(core);
		} else {
			/* Writes still reach RAM through the MMIO fallback. */
			log_error("vmi: could not stop the vCPUs to unprotect pages");
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		v->vmi.client_ss = false;
		atomic_store(&v->vmi.dbg_dirty, true);
		atomic_store(&v->vmi.pause_req, false);
	}
	vmi__update_watch(core);
	pthread_cond_broadcast(&core->cond);
	if (core->sock.client_fd >= 0)
		shutdown(core->sock.client_fd, SHUT_RDWR); /* the control thread closes it */
	pthread_mutex_unlock(&core->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vmi__wake(vm->vcpus[i]);
	log_warn("vmi: client detached (%s): hooks removed, %u breakpoint(s) restored, "
		 "%u page(s) unprotected, vCPUs resumed", why, nbps, nprot);
}

/* ---- Requests --------------------------------------------------------------- */

struct reply {
	struct vmscope_msg_reply_hdr h;
	uint8_t payload[VMSCOPE_MSG_MAX];
};

static int send_reply(int fd, struct reply *rp, size_t payload, const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = rp, .iov_len = sizeof(rp->h) + payload };
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VMSCOPE_MAX_VCPUS + 3))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	rp->h.hdr.len = (uint32_t)iov.iov_len;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int fail(struct reply *rp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct reply *rp, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp->h.error, sizeof(rp->h.error), fmt, ap);
	va_end(ap);
	rp->h.status = err;
	return 0;
}

/*
 * True when the instruction at gpa may return to user mode (sysret, sysexit,
 * iret, with or without a REX prefix).  Bytes past the end of RAM read as 0.
 */
static bool returns_to_user_mode(struct vm *vm, uint64_t gpa)
{
	uint8_t insn[3] = { 0 };

	for (unsigned i = 0; i < sizeof(insn); i++) {
		const uint8_t *b = vm__gpa_ptr(vm, gpa + i, 1);

		insn[i] = b ? *b : 0;
	}
	const uint8_t *p = (insn[0] & 0xf0) == 0x40 ? insn + 1 : insn;

	return p[0] == 0xcf || (p[0] == 0x0f && (p[1] == 0x07 || p[1] == 0x35));
}

static bool vcpu_stopped(struct vcpu *v)
{
	return v->vmi.state != VMI_VCPU_RUNNING;
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

	if (v->vmi.state == VMI_VCPU_HELD)
		return true;
	return v->vmi.state == VMI_VCPU_PARKED &&
	       (!listens || v->vmi.pause_announced == atomic_load(&v->vmi.pause_gen));
}

static int do_pause(struct vmi_core *core, uint32_t which, bool pause, struct reply *rp)
{
	struct vm *vm = core->vm;
	struct timespec ts;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (which != VMSCOPE_ALL_VCPUS && which != i)
			continue;
		if (pause)
			atomic_fetch_add(&vm->vcpus[i]->vmi.pause_gen, 1);
		atomic_store(&vm->vcpus[i]->vmi.pause_req, pause);
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
			return fail(rp, -ESHUTDOWN, "the VM is stopping");
		if (pthread_cond_timedwait(&core->cond, &core->lock, &ts) == ETIMEDOUT)
			return fail(rp, -ETIMEDOUT, "vCPUs did not stop within 5 s");
	}
}

static int add_protect(struct vmi_core *core, uint64_t gpa, bool add, struct reply *rp)
{
	unsigned i, n = core->nr_prot;
	int r;

	for (i = 0; i < n && core->prot[i] < gpa; i++)
		;
	if (add) {
		if (i < n && core->prot[i] == gpa)
			return 0;
		if (n == VMI_MAX_PROTECTED)
			return fail(rp, -ENOSPC, "at most %d protected pages", VMI_MAX_PROTECTED);
		memmove(&core->prot[i + 1], &core->prot[i], (n - i) * sizeof(core->prot[0]));
		core->prot[i] = gpa;
		core->nr_prot++;
	} else {
		if (i == n || core->prot[i] != gpa)
			return fail(rp, -ENOENT, "page is not protected");
		memmove(&core->prot[i], &core->prot[i + 1], (n - i - 1) * sizeof(core->prot[0]));
		core->nr_prot--;
	}
	r = vmi__quiesce(core);
	if (r < 0)
		return fail(rp, r, "vCPUs did not stop to change the memory slots");
	r = vmi__rebuild_slots(core);
	vmi__unquiesce(core);
	vmi__update_watch(core);
	return r < 0 ? fail(rp, r, "KVM refused the memory slots") : 0;
}

static size_t handle(struct vmi_core *core, const struct vmi_msg *m, struct reply *rp)
{
	struct vm *vm = core->vm;
	struct vcpu *v = NULL;
	int r;

	switch (m->hdr.type) {
	case VMSCOPE_MSG_GET_REGS:
	case VMSCOPE_MSG_SINGLESTEP:
		v = vm->vcpus[m->u.vcpu.vcpu];
		break;
	case VMSCOPE_MSG_SET_REGS:
		v = vm->vcpus[m->u.regs.vcpu];
		break;
	case VMSCOPE_MSG_GET_MSR:
	case VMSCOPE_MSG_SET_MSR:
		v = vm->vcpus[m->u.msr.vcpu];
		break;
	case VMSCOPE_MSG_INJECT:
		v = vm->vcpus[m->u.inject.vcpu];
		break;
	}
	if (v && m->hdr.type != VMSCOPE_MSG_SINGLESTEP && !vcpu_stopped(v)) {
		fail(rp, -EBUSY, "vCPU %u is running: pause it first", v->id);
		return 0;
	}

	switch (m->hdr.type) {
	case VMSCOPE_MSG_SUBSCRIBE: {
		unsigned kind = m->u.subscribe.kind, bit = 1u << kind;

		if (!(core->caps & bit)) {
			const char *why = "this host's KVM cannot deliver it";

			if (kind == VMSCOPE_EV_HLT)
				why = "HLT stays in KVM (in-kernel irqchip): use --irqchip off";
			else if (kind == VMSCOPE_EV_HYPERCALL)
				why = vm->host->emulated
					? "kvm_pvm never completes a vmcall (see the README)"
					: "KVM_CAP_EXIT_HYPERCALL is absent";
			else if (kind == VMSCOPE_EV_MSR_READ || kind == VMSCOPE_EV_MSR_WRITE)
				why = "KVM_CAP_X86_USER_SPACE_MSR/MSR_FILTER absent";
			fail(rp, -ENOTSUP, "%s", why);
			return 0;
		}
		if (m->u.subscribe.sync && kind == VMSCOPE_EV_SHUTDOWN) {
			fail(rp, -EINVAL, "shutdown events are asynchronous only");
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
				fail(rp, r, "KVM refused the MSR filter");
		}
		return 0;
	}
	case VMSCOPE_MSG_UNSUBSCRIBE: {
		unsigned bit = 1u << m->u.subscribe.kind;

		atomic_fetch_and(&core->sub_mask, ~bit);
		atomic_fetch_and(&core->sync_mask, ~bit);
		vmi__update_watch(core);
		vmi__update_msr_filter(core);
		return 0;
	}
	case VMSCOPE_MSG_PAUSE:
		do_pause(core, m->u.vcpu.vcpu, true, rp);
		return 0;
	case VMSCOPE_MSG_RESUME:
		do_pause(core, m->u.vcpu.vcpu, false, rp);
		return 0;
	case VMSCOPE_MSG_GET_REGS: {
		struct vmscope_msg_regs *out = (void *)rp->payload;

		memset(out, 0, sizeof(*out));
		out->vcpu = v->id;
		r = vmi__get_regs(v, &out->regs, true);
		if (r < 0)
			fail(rp, r, "KVM_GET_REGS failed");
		return sizeof(*out);
	}
	case VMSCOPE_MSG_SET_REGS:
		r = vmi__set_regs(v, &m->u.regs.regs, true);
		if (r < 0)
			fail(rp, r, "KVM refused the registers");
		return 0;
	case VMSCOPE_MSG_GET_MSR:
	case VMSCOPE_MSG_SET_MSR: {
		bool write = m->hdr.type == VMSCOPE_MSG_SET_MSR;
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} k = { .hdr.nmsrs = 1, .e.index = m->u.msr.index, .e.data = m->u.msr.value };
		struct vmscope_msg_msr *out = (void *)rp->payload;

		if (ioctl(v->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &k) != 1) {
			fail(rp, -EINVAL, "KVM refused MSR 0x%x", m->u.msr.index);
			return 0;
		}
		*out = m->u.msr;
		out->value = k.e.data;
		return sizeof(*out);
	}
	case VMSCOPE_MSG_SET_BP: {
		uint64_t gpa = m->u.gpa.gpa;
		struct vmi_bp *bp = vmi__find_bp(core, gpa);
		uint8_t *p = vm__gpa_ptr(vm, gpa, 1);

		if (!vm->host->cap_guest_debug) {
			fail(rp, -ENOTSUP, "KVM_CAP_SET_GUEST_DEBUG is absent");
			return 0;
		}
		if (bp && (bp->owners & VMI_OWNER_CLIENT)) {
			fail(rp, -EEXIST, "a breakpoint is already there");
			return 0;
		}
		if (!bp && *p == 0xcc) {
			fail(rp, -EINVAL, "the guest already has an int3 there");
			return 0;
		}
		if (vm->host->emulated && !bp && returns_to_user_mode(vm, gpa)) {
			/* At most 63 characters travel in the reply (abi.h). */
			fail(rp, -ENOTSUP, "sysret/sysexit/iret: no step to user mode here");
			return 0;
		}
		r = vmi__bp_add_locked(core, VMI_OWNER_CLIENT, gpa);
		if (r == -ENOSPC)
			fail(rp, r, "at most %d breakpoints", VMI_MAX_BPS);
		else if (r < 0)
			fail(rp, r, "cannot plant a breakpoint there");
		return 0;
	}
	case VMSCOPE_MSG_CLEAR_BP:
		if (vmi__bp_remove_locked(core, VMI_OWNER_CLIENT, m->u.gpa.gpa) < 0)
			fail(rp, -ENOENT, "no breakpoint there");
		return 0;
	case VMSCOPE_MSG_SINGLESTEP:
		if (!vm->host->cap_guest_debug) {
			fail(rp, -ENOTSUP, "KVM_CAP_SET_GUEST_DEBUG is absent");
			return 0;
		}
		v->vmi.client_ss = m->u.vcpu.enable;
		atomic_store(&v->vmi.dbg_dirty, true);
		vcpu__kick(v);
		return 0;
	case VMSCOPE_MSG_PROTECT:
	case VMSCOPE_MSG_UNPROTECT:
		if (!vm->host->cap_readonly_mem) {
			fail(rp, -ENOTSUP, "KVM_CAP_READONLY_MEM is absent");
			return 0;
		}
		add_protect(core, m->u.gpa.gpa, m->hdr.type == VMSCOPE_MSG_PROTECT, rp);
		return 0;
	case VMSCOPE_MSG_INJECT: {
		struct kvm_vcpu_events ev;

		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
			fail(rp, -errno, "KVM_GET_VCPU_EVENTS failed");
			return 0;
		}
		if (ev.exception.injected || ev.exception.pending) {
			fail(rp, -EBUSY, "an exception is already pending");
			return 0;
		}
		ev.exception.injected = 1;
		ev.exception.nr = m->u.inject.vector;
		ev.exception.has_error_code = m->u.inject.has_error;
		ev.exception.error_code = m->u.inject.error_code;
		ev.flags = 0;
		if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			fail(rp, -errno, "KVM refused the exception");
		return 0;
	}
	case VMSCOPE_MSG_MSR_WATCH:
		if (!core->usermsr_enabled) {
			fail(rp, -ENOTSUP, "KVM_CAP_X86_USER_SPACE_MSR/MSR_FILTER absent");
			return 0;
		}
		core->nr_msrs = m->u.msr_watch.nr;
		memcpy(core->msrs, m->u.msr_watch.index, sizeof(core->msrs));
		r = vmi__update_msr_filter(core);
		if (r < 0)
			fail(rp, r, "KVM refused the MSR filter");
		return 0;
	}
	fail(rp, -EINVAL, "unexpected request");
	return 0;
}

static void reset_channel(struct vmi_core *core)
{
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++) {
		struct vcpu *v = core->vm->vcpus[i];

		/* Drop what the previous client left: consumer catches up with producer. */
		__atomic_store_n(&v->vmi.ev->tail, __atomic_load_n(&v->vmi.ev->head, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&v->vmi.rsp->head, v->vmi.rsp->tail, __ATOMIC_RELEASE);
		v->vmi.ev->waiting = v->vmi.rsp->waiting = 0;
	}
	core->hdr->client_waiting = 0;
}

static void do_attach(struct vmi_core *core, struct reply *rp)
{
	struct vm *vm = core->vm;
	struct vmscope_msg_attach_reply *a = (void *)rp->payload;
	int fds[VMSCOPE_MAX_VCPUS + 3];
	unsigned nfds = 0;
	bool paused = true;

	memset(a, 0, sizeof(*a));
	a->abi_version = VMSCOPE_ABI_VERSION;
	a->nr_vcpus = vm->nr_vcpus;
	a->ram_size = vm->map.ram_size;
	a->chan_size = core->chan_size;
	a->nr_regions = vm->map.nr_regions;
	for (unsigned i = 0; i < vm->map.nr_regions && i < 4; i++) {
		a->regions[i].gpa = vm->map.regions[i].gpa;
		a->regions[i].size = vm->map.regions[i].size;
		a->regions[i].offset = vm->map.regions[i].offset;
	}
	a->caps = core->caps;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		paused &= atomic_load(&vm->vcpus[i]->vmi.pause_req);
	if (paused)
		a->flags |= VMSCOPE_ATTACH_PAUSED;
	if (vm->host->emulated)
		a->flags |= VMSCOPE_ATTACH_EMULATED;
	fds[nfds++] = vm->mem_fd;
	fds[nfds++] = core->chan_fd;
	fds[nfds++] = core->ev_efd;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		fds[nfds++] = vm->vcpus[i]->vmi.rsp_efd;
	reset_channel(core);
	if (paused) {
		/* --vmi-wait: the client may read registers as soon as it is attached. */
		pthread_mutex_lock(&core->lock);
		do_pause(core, VMSCOPE_ALL_VCPUS, true, rp);
		pthread_mutex_unlock(&core->lock);
	}
	if (send_reply(core->sock.client_fd, rp, sizeof(*a), fds, nfds) == 0) {
		atomic_store(&core->attached, true);
		log_info("vmi: client attached");
	}
}

static void client_gone(struct vmi_core *core, const char *why)
{
	if (atomic_load(&core->attached))
		vmi__detach(core, why);
	pthread_mutex_lock(&core->lock);
	close(core->sock.client_fd);
	core->sock.client_fd = -1;
	pthread_mutex_unlock(&core->lock);
}

static void on_client(struct vmi_core *core)
{
	uint8_t buf[VMSCOPE_MSG_MAX + 1];
	struct vmi_msg_limits lim = { .nr_vcpus = core->vm->nr_vcpus, .map = &core->vm->map };
	struct reply rp;
	struct vmi_msg m;
	const char *why;
	size_t payload = 0;
	ssize_t n;
	int r;

	n = recv(core->sock.client_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_gone(core, n == 0 ? "client closed the connection" : strerror(errno));
		return;
	}
	memset(&rp.h, 0, sizeof(rp.h));
	r = vmi_msg__parse(buf, (size_t)n > sizeof(buf) ? sizeof(buf) + 1 : (size_t)n, &lim, &m,
			   &why);
	rp.h.hdr = m.hdr;
	if (r < 0) {
		log_warn("vmi: malformed request (type %u, %zd bytes): %s", m.hdr.type, n, why);
		fail(&rp, r, "%s", why);
		send_reply(core->sock.client_fd, &rp, 0, NULL, 0);
		return;
	}
	if (m.hdr.type == VMSCOPE_MSG_ATTACH) {
		if (atomic_load(&core->attached))
			fail(&rp, -EALREADY, "already attached");
		else
			return do_attach(core, &rp);
	} else if (!atomic_load(&core->attached)) {
		fail(&rp, -ENOTCONN, "attach first");
	} else if (m.hdr.type == VMSCOPE_MSG_DETACH) {
		send_reply(core->sock.client_fd, &rp, 0, NULL, 0);
		vmi__detach(core, "client asked to detach");
		return;
	} else {
		pthread_mutex_lock(&core->lock);
		payload = handle(core, &m, &rp);
		pthread_mutex_unlock(&core->lock);
	}
	send_reply(core->sock.client_fd, &rp, rp.h.status < 0 ? 0 : payload, NULL, 0);
}

static void on_listen(struct vmi_core *core)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct reply rp;
	int fd = accept4(core->sock.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	memset(&rp.h, 0, sizeof(rp.h));
	rp.h.hdr.type = VMSCOPE_MSG_ATTACH;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		log_warn("vmi: refusing a client of uid %u", (unsigned)cred.uid);
		fail(&rp, -EACCES, "permission denied");
		send_reply(fd, &rp, 0, NULL, 0);
		close(fd);
		return;
	}
	if (core->sock.client_fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t buf[VMSCOPE_MSG_MAX];

		/* Read its request first: closing on unread data would reset the connection. */
		if (poll(&pfd, 1, 200) == 1 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= (ssize_t)sizeof(rp.h.hdr))
			memcpy(&rp.h.hdr, buf, sizeof(rp.h.hdr));
		fail(&rp, -EBUSY, "busy: another client is attached");
		send_reply(fd, &rp, 0, NULL, 0);
		shutdown(fd, SHUT_WR);
		close(fd);
		return;
	}
	pthread_mutex_lock(&core->lock);
	core->sock.client_fd = fd;
	pthread_mutex_unlock(&core->lock);
}

static void *control_thread(void *arg)
{
	struct vmi_core *core = arg;
	struct vm *vm = core->vm;

	while (!vm__stopping(vm)) {
		struct pollfd pfd[3] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = core->sock.listen_fd, .events = POLLIN },
			{ .fd = core->sock.client_fd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0)
			continue;
		if (pfd[1].revents & POLLIN)
			on_listen(core);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			on_client(core);
	}
	return NULL;
}

/* ---- Set-up ------------------------------------------------------------------ */

static int create_channel(struct vmi_core *core, unsigned nr_vcpus)
{
	size_t ev_area = ALIGN_UP(sizeof(struct vmscope_ring) + EV_SLOTS * sizeof(struct vmscope_event), 4096);
	size_t rsp_area = ALIGN_UP(sizeof(struct vmscope_ring) + RSP_SLOTS * sizeof(struct vmscope_response), 4096);
	size_t stride = ev_area + rsp_area;
	size_t hdr_size = ALIGN_UP(sizeof(struct vmscope_chan_header), 4096);

	core->chan_size = hdr_size + stride * nr_vcpus;
	core->chan_fd = memfd_create("vmscope-vmi-channel", MFD_CLOEXEC);
	if (core->chan_fd < 0 || ftruncate(core->chan_fd, (off_t)core->chan_size) < 0)
		return -errno;
	core->hdr = mmap(NULL, core->chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, core->chan_fd, 0);
	if (core->hdr == MAP_FAILED) {
		core->hdr = NULL;
		return -errno;
	}
	core->hdr->magic = VMSCOPE_CHAN_MAGIC;
	core->hdr->version = VMSCOPE_ABI_VERSION;
	core->hdr->nr_vcpus = nr_vcpus;
	core->hdr->ev_slots = EV_SLOTS;
	core->hdr->rsp_slots = RSP_SLOTS;
	core->hdr->ev_size = sizeof(struct vmscope_event);
	core->hdr->rsp_size = sizeof(struct vmscope_response);
	core->hdr->vcpu_offset = hdr_size;
	core->hdr->vcpu_stride = stride;
	core->hdr->rsp_offset = ev_area;
	core->hdr->total_size = core->chan_size;
	return 0;
}

static void vmi__cleanup(void *opaque)
{
	struct vmi_core *core = opaque;

	if (core->sock.client_fd >= 0)
		close(core->sock.client_fd);
	if (core->sock.listen_fd >= 0)
		close(core->sock.listen_fd);
	if (core->vm->cfg->vmi_socket)
		unlink(core->vm->cfg->vmi_socket);
	if (core->hdr)
		munmap(core->hdr, core->chan_size);
	if (core->chan_fd >= 0)
		close(core->chan_fd);
	if (core->ev_efd >= 0)
		close(core->ev_efd);
	pthread_mutex_destroy(&core->lock);
	pthread_cond_destroy(&core->cond);
	core->vm->vmi.core = NULL;
	free(core);
}

/* At VM creation (before vCPUs exist): enables what must be enabled early. */
int vmi__init(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct vmi_core *core;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;

	bool gdb = cfg->gdb_path[0] || cfg->gdb_tcp_port;
	bool api = config__has_api_socket(cfg);

	/* The core also serves in-process consumers (GDB stub, REST API) without a socket. */
	if (!cfg->vmi_socket && !gdb && !api)
		return 0;
	if (cfg->vmi_socket && cfg->cpus_boot > VMSCOPE_MAX_VCPUS) {
		log_error("--vmi-socket: introspection supports at most %d vCPUs", VMSCOPE_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->vmi_socket && strlen(cfg->vmi_socket) >= sizeof(addr.sun_path)) {
		log_error("--vmi-socket: path too long");
		return -ENAMETOOLONG;
	}
	core = calloc(1, sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->vm = vm;
	core->sock.listen_fd = core->sock.client_fd = core->chan_fd = core->ev_efd = -1;
	core->timeout_ms = cfg->vmi_timeout_ms ? cfg->vmi_timeout_ms : 5000;
	pthread_mutex_init(&core->lock, NULL);
	pthread_cond_init(&core->cond, NULL);
	vm->vmi.core = core;
	if (vm__on_destroy(vm, vmi__cleanup, core) < 0) {
		vm->vmi.core = NULL;
		free(core);
		return -ENOSPC;
	}
	core->nr_slots = vm->map.nr_regions;
	if (!cfg->vmi_socket)
		return 0; /* no client: no channel, no socket, no extra exits */

	/* Capabilities: what this host can deliver, probed. */
	core->caps = 1u << VMSCOPE_EV_IO | 1u << VMSCOPE_EV_MMIO | 1u << VMSCOPE_EV_SHUTDOWN |
		    1u << VMSCOPE_EV_INTERNAL_ERROR | 1u << VMSCOPE_EV_PAUSE |
		    1u << VMSCOPE_EV_VCPU_START;
	if (vm->host->cap_guest_debug)
		core->caps |= 1u << VMSCOPE_EV_BREAKPOINT | 1u << VMSCOPE_EV_SINGLESTEP;
	if (vm->host->cap_readonly_mem)
		core->caps |= 1u << VMSCOPE_EV_PAGE_WRITE;
	if (vm->host->cap_user_space_msr && vm->host->cap_msr_filter) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = KVM_MSR_EXIT_REASON_FILTER,
		};

		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0) {
			core->usermsr_enabled = true;
			core->caps |= 1u << VMSCOPE_EV_MSR_READ | 1u << VMSCOPE_EV_MSR_WRITE;
		} else {
			log_warn("vmi: KVM_CAP_X86_USER_SPACE_MSR: %s; no MSR events", strerror(errno));
		}
	}
	/*
	 * Measured on kvm_pvm: KVM_CAP_EXIT_HYPERCALL is offered, but a vmcall
	 * (or vmmcall, patched into vmcall) is emulated by re-executing it, so
	 * the vCPU never leaves it and no hypercall exit ever comes.
	 */
	if (!vm->host->emulated &&
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_HYPERCALL) & (1 << 12)) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL, .args[0] = 1ULL << 12 };

		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
			core->caps |= 1u << VMSCOPE_EV_HYPERCALL;
	}
	{
		int sr = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

		core->sync_regs = sr > 0 && (sr & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
						   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	}
	if (cfg->no_irqchip) /* else HLT never leaves KVM */
		core->caps |= 1u << VMSCOPE_EV_HLT;

	if (create_channel(core, cfg->cpus_boot) < 0) {
		log_error("vmi: cannot create the event channel: %s", strerror(errno));
		return -ENOMEM;
	}
	core->ev_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (core->ev_efd < 0)
		return -errno;

	strcpy(addr.sun_path, cfg->vmi_socket);
	core->sock.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (core->sock.listen_fd < 0)
		return -errno;
	unlink(cfg->vmi_socket);
	old = umask(0177); /* the socket is created 0600 */
	if (bind(core->sock.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		umask(old);
		log_error("--vmi-socket: cannot bind '%s': %s", cfg->vmi_socket, strerror(e));
		return -e;
	}
	umask(old);
	if (listen(core->sock.listen_fd, 4) < 0)
		return -errno;
	return 0;
}

/* Per vCPU, before its thread starts. */
void vmi__vcpu_init(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint8_t *area;

	vcpu->vmi.stats = vcpu->vmi.own_stats;
	vcpu->vmi.rsp_efd = -1;
	if (!core || !core->hdr)
		return;
	area = (uint8_t *)core->hdr + core->hdr->vcpu_offset + core->hdr->vcpu_stride * vcpu->id;
	vcpu->vmi.stats = core->hdr->exits[vcpu->id];
	vcpu->vmi.ev = (struct vmscope_ring *)area;
	vcpu->vmi.ev_slots = (struct vmscope_event *)(area + sizeof(struct vmscope_ring));
	vcpu->vmi.rsp = (struct vmscope_ring *)(area + core->hdr->rsp_offset);
	vcpu->vmi.rsp_slots =
		(struct vmscope_response *)(area + core->hdr->rsp_offset + sizeof(struct vmscope_ring));
	vcpu->vmi.rsp_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vcpu->vm->cfg->vmi_wait) {
		atomic_store(&vcpu->vmi.pause_gen, 1);
		atomic_store(&vcpu->vmi.pause_req, true);
	}
}

/* After the vCPUs are created: starts serving clients. */
int vmi__start(struct vm *vm)
{
	struct vmi_core *core = vm->vmi.core;
	int r;

	if (!core)
		return 0;
	vmi__update_watch(core);
	pthread_mutex_lock(&core->lock);
	atomic_store_explicit(&core->ready, true, memory_order_release);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	/* A consumer's all-stop asked before the vCPUs existed: make sure it holds. */
	if (atomic_load(&core->halt))
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu__kick(vm->vcpus[i]);
	if (core->sock.listen_fd < 0)
		return 0;
	r = pthread_create(&core->sock.thread, NULL, control_thread, core);
	if (r != 0)
		return -r;
	core->sock.thread_started = true;
	log_info("vmi: listening on %s%s", vm->cfg->vmi_socket,
		 vm->cfg->vmi_wait ? " (vCPUs wait for a client to resume them)" : "");
	return 0;
}

void vmi__shutdown(struct vm *vm)
{
	struct vmi_core *core = vm->vmi.core;

	if (!core || !core->sock.thread_started)
		return;
	pthread_join(core->sock.thread, NULL);
	core->sock.thread_started = false;
	/* The client sees the connection end now, not at vm__destroy. */
	if (core->sock.client_fd >= 0) {
		close(core->sock.client_fd);
		core->sock.client_fd = -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->vmi.rsp_efd >= 0)
			close(vm->vcpus[i]->vmi.rsp_efd);
}
