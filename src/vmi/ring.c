/*
 * The event path of one vCPU: an event into its event ring, and for a
 * synchronous one, the wait for the client's response in its response ring
 * (spin, yield, then sleep on the eventfd), with the client detached past
 * --vmi-timeout.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

#define SPIN_NS 100000ULL /* spin this long before sleeping (a wake-up costs ~44 us here) */
#define SPIN_PURE_NS 5000ULL /* of which this long without yielding the CPU */

static struct vmscope_event *ev_begin(struct vcpu *vcpu)
{
	struct vmscope_ring *ring = vcpu->vmi->ev;
	uint32_t slots = vcpu->vm->vmi->hdr->ev_slots;
	uint64_t head = ring->head;
	uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);

	return head - tail >= slots ? NULL : &vcpu->vmi->ev_slots[head & (slots - 1)];
}

/*
 * The slot for the next event.  When the ring is full, an asynchronous event
 * is dropped and counted as overflow; a synchronous one is never dropped: it
 * waits for the client to make room, as long as it would wait for its
 * response (the client is detached past that).  NULL: drop the event.
 */
static struct vmscope_event *ev_slot(struct vcpu *vcpu, bool sync, unsigned gen)
{
	struct vmi_core *core = vcpu->vm->vmi;
	uint64_t deadline = vmi__now_ns() + (uint64_t)core->timeout_ms * 1000000ULL;
	const struct timespec nap = { .tv_nsec = 20000 };
	struct vmscope_event *slot;

	while (!(slot = ev_begin(vcpu))) {
		if (!sync) {
			__atomic_fetch_add(&vcpu->vmi->ev->overflow, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		if (!atomic_load(&core->attached) || atomic_load(&core->gen) != gen ||
		    vm__stopping(vcpu->vm))
			return NULL;
		if (vmi__now_ns() >= deadline) {
			char why[128];

			snprintf(why, sizeof(why), "client left vCPU %u's event ring full for %u ms",
				 vcpu->id, core->timeout_ms);
			core->client_lost(core, why);
			return NULL;
		}
		nanosleep(&nap, NULL);
	}
	return slot;
}

static void ev_publish(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;
	struct vmscope_ring *ring = vcpu->vmi->ev;
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
	struct vmscope_ring *ring = vcpu->vmi->rsp;
	uint32_t slots = vcpu->vm->vmi->hdr->rsp_slots;
	uint64_t tail = ring->tail;
	uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);

	if (head == tail)
		return false;
	/* Copy out before releasing the slot: the client may reuse it at once. */
	memcpy(out, &vcpu->vmi->rsp_slots[tail & (slots - 1)], sizeof(*out));
	__atomic_store_n(&ring->tail, tail + 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * Waits for the response to event seq.  Returns 0, or -ENOTCONN (no client
 * any more), -ETIMEDOUT (the client was detached for it) or -ESHUTDOWN.
 */
static int rsp_wait(struct vcpu *vcpu, uint64_t seq, unsigned gen, struct vmscope_response *out)
{
	struct vmi_core *core = vcpu->vm->vmi;
	struct vmscope_ring *ring = vcpu->vmi->rsp;
	uint64_t start = vmi__now_ns(), deadline = start + (uint64_t)core->timeout_ms * 1000000ULL;

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
		t = vmi__now_ns();
		if (t >= deadline) {
			char why[160];

			snprintf(why, sizeof(why),
				 "client did not answer event %llu of vCPU %u within %u ms",
				 (unsigned long long)seq, vcpu->id, core->timeout_ms);
			core->client_lost(core, why);
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
				{ .fd = vcpu->vmi->rsp_efd, .events = POLLIN },
				{ .fd = vcpu->vm->stop_efd, .events = POLLIN },
			};
			uint64_t ms = (deadline - t) / 1000000ULL + 1;
			uint64_t v;

			if (poll(pfd, 2, (int)(ms > 1000 ? 1000 : ms)) > 0 && (pfd[0].revents & POLLIN))
				(void)!read(vcpu->vmi->rsp_efd, &v, sizeof(v));
		}
		__atomic_store_n(&ring->waiting, 0, __ATOMIC_RELAXED);
	}
}

bool vmi__send(struct vcpu *vcpu, unsigned kind, struct vmi_ev_ctx *c)
{
	struct vmi_core *core = vcpu->vm->vmi;
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
	c->ev.seq = ++vcpu->vmi->seq;
	c->ev.flags |= sync ? VMSCOPE_EVF_SYNC : 0; /* beside what the hook set */
	slot = ev_slot(vcpu, sync, gen);
	if (!slot)
		return false;
	memcpy(slot, &c->ev, sizeof(*slot));
	if (sync) {
		pthread_mutex_lock(&core->lock);
		vcpu->vmi->state = VMI_VCPU_HELD;
		pthread_cond_broadcast(&core->cond);
		pthread_mutex_unlock(&core->lock);
	}
	ev_publish(vcpu);
	if (!sync)
		return false;
	r = rsp_wait(vcpu, c->ev.seq, gen, &c->rsp);
	pthread_mutex_lock(&core->lock);
	vcpu->vmi->state = VMI_VCPU_RUNNING;
	pthread_mutex_unlock(&core->lock);
	if (r < 0)
		return false;
	if (c->rsp.flags & ~VMSCOPE_RSP_ALL) {
		log_warn("vmi: vCPU %u: response with unknown flags 0x%x ignored", vcpu->id,
			 c->rsp.flags);
		return false;
	}
	if (c->rsp.flags & VMSCOPE_RSP_TOGGLE_SS) {
		vcpu->vmi->client_ss = !vcpu->vmi->client_ss;
		atomic_store(&vcpu->vmi->dbg_dirty, true);
	}
	return true;
}

void vmi__apply_regs(struct vcpu *vcpu, const struct vmi_ev_ctx *c)
{
	int r = vmi__set_regs(vcpu, &c->rsp.regs, false);

	if (r < 0)
		log_warn("vmi: vCPU %u: setting registers from a response failed: %s", vcpu->id,
			 strerror(-r));
}

void vmi__apply_regs_after_exit(struct vcpu *vcpu, const struct vmi_ev_ctx *c)
{
	vcpu->vmi->regs_pending = c->rsp.regs;
	vcpu->vmi->regs_after_exit = true;
}
