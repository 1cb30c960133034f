/*
 * Events: the client side of the per-vCPU rings.  Consumer of event rings,
 * producer of response rings; it spins briefly, then sleeps on the event
 * eventfd after telling the hypervisor (header.client_waiting).
 */
#include <errno.h>
#include <sched.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live.h"

#define SPIN_NS 100000ULL
#define SPIN_PURE_NS 5000ULL

static const char *const names[] = {
	"io", "mmio", "hlt", "breakpoint", "singlestep", "hypercall", "msr-read",
	"msr-write", "page-write", "shutdown", "internal-error", "pause", "vcpu-start",
	"hw-breakpoint",
};

static_assert(sizeof(names) / sizeof(names[0]) == VMSCOPE_EV_NR, "a name for every kind");

const char *vmscope_event_name(unsigned kind)
{
	return kind < VMSCOPE_EV_NR ? names[kind] : "?";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vmscope_subscribe(vmscope_t *vm, unsigned kind, int sync, vmscope_event_fn fn, void *opaque)
{
	struct vmscope_msg_subscribe m = { .kind = kind, .sync = sync ? 1 : 0 };
	int r;

	if (!vm || !vm->live)
		return target__fail(vm, -ENOTSUP, "not a live target: a %s", target__kind(vm));
	if (kind >= VMSCOPE_EV_NR)
		return target__fail(vm, -EINVAL, "unknown event kind %u", kind);
	vm->live->subs[kind].fn = fn;
	vm->live->subs[kind].opaque = opaque;
	r = live__request(vm, VMSCOPE_MSG_SUBSCRIBE, &m, sizeof(m), NULL, 0);
	if (r < 0)
		vm->live->subs[kind].fn = NULL;
	return r;
}

int vmscope_unsubscribe(vmscope_t *vm, unsigned kind)
{
	struct vmscope_msg_subscribe m = { .kind = kind };

	if (!vm || !vm->live)
		return target__fail(vm, -ENOTSUP, "not a live target: a %s", target__kind(vm));
	if (kind >= VMSCOPE_EV_NR)
		return target__fail(vm, -EINVAL, "unknown event kind %u", kind);
	vm->live->subs[kind].fn = NULL;
	return live__request(vm, VMSCOPE_MSG_UNSUBSCRIBE, &m, sizeof(m), NULL, 0);
}

void vmscope_stop(vmscope_t *vm)
{
	uint64_t one = 1;

	if (vm && vm->live && vm->live->stop_efd >= 0)
		(void)!write(vm->live->stop_efd, &one, sizeof(one));
}

static void respond(struct vmscope_live *l, unsigned vcpu, const struct vmscope_response *rsp)
{
	struct vmscope_ring *ring = live__ring(l, vcpu, 1);
	struct vmscope_response *slots = (struct vmscope_response *)(ring + 1);
	uint32_t n = l->hdr->rsp_slots;
	uint64_t head = ring->head;
	uint64_t one = 1;

	/* The vCPU waits for exactly this response, so the ring has room. */
	if (head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) >= n)
		return;
	slots[head & (n - 1)] = *rsp;
	__atomic_store_n(&ring->head, head + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ring->waiting, __ATOMIC_RELAXED))
		(void)!write(l->rsp_efd[vcpu], &one, sizeof(one));
}

/* Takes one event off any ring; false when all are empty. */
static bool pop_event(struct vmscope_live *l, unsigned *next, struct vmscope_event *ev)
{
	unsigned nv = l->info.nr_vcpus;

	for (unsigned k = 0; k < nv; k++) {
		unsigned v = (*next + k) % nv;
		struct vmscope_ring *ring = live__ring(l, v, 0);
		uint64_t tail = ring->tail;

		if (__atomic_load_n(&ring->head, __ATOMIC_ACQUIRE) == tail)
			continue;
		*ev = ((struct vmscope_event *)(ring + 1))[tail & (l->hdr->ev_slots - 1)];
		__atomic_store_n(&ring->tail, tail + 1, __ATOMIC_RELEASE);
		*next = v + 1;
		/* Never trust the producer blindly either. */
		ev->vcpu = v;
		return true;
	}
	return false;
}

/*
 * Hands one event to its callback and, for a synchronous one, sends the
 * response (the callback may have changed it).  True: the callback asked
 * the loop to end.
 */
static bool deliver(vmscope_t *vm, const struct vmscope_event *ev)
{
	struct vmscope_live *l = vm->live;
	struct vmscope_response rsp = { .seq = ev->seq, .regs = ev->regs };
	int stop = 0;

	if (ev->kind < VMSCOPE_EV_NR && l->subs[ev->kind].fn)
		stop = l->subs[ev->kind].fn(vm, ev, &rsp, l->subs[ev->kind].opaque);
	if (ev->flags & VMSCOPE_EVF_SYNC) {
		rsp.seq = ev->seq; /* the callback cannot answer another event */
		vmscope_flush_tlb(vm);
		respond(l, ev->vcpu, &rsp);
	}
	return stop != 0;
}

int vmscope_event_loop(vmscope_t *vm, int timeout_ms)
{
	struct vmscope_live *l = vm ? vm->live : NULL;
	uint64_t start = now_ns(), idle_since = start;
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t)timeout_ms * 1000000ULL;
	unsigned next = 0;
	int delivered = 0;
	uint64_t v;

	if (!l)
		return target__fail(vm, -ENOTSUP, "not a live target: a %s", target__kind(vm));
	while (read(l->stop_efd, &v, sizeof(v)) > 0)
		; /* a stop before the loop started is forgotten */
	for (;;) {
		struct vmscope_event ev;

		if (pop_event(l, &next, &ev)) {
			delivered++;
			idle_since = now_ns();
			if (deliver(vm, &ev))
				return delivered;
			continue;
		}
		uint64_t t = now_ns();

		if (t >= deadline)
			return delivered;
		if (t - idle_since < SPIN_NS) {
			/* Past a short pure spin, yield: on a busy host the producer may need our core. */
			if (t - idle_since < SPIN_PURE_NS)
				__builtin_ia32_pause();
			else
				sched_yield();
			continue;
		}
		/* Sleep: announce it, then look once more (the producer checks the flag). */
		__atomic_store_n(&l->hdr->client_waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!pop_event(l, &next, &ev)) {
			struct pollfd pfd[3] = {
				{ .fd = l->ev_efd, .events = POLLIN },
				{ .fd = l->stop_efd, .events = POLLIN },
				{ .fd = l->sock, .events = 0 }, /* POLLHUP: the hypervisor went away */
			};
			uint64_t left = deadline == UINT64_MAX ? 1000 : (deadline - t) / 1000000ULL + 1;
			int r = poll(pfd, 3, (int)(left > 1000 ? 1000 : left));

			__atomic_store_n(&l->hdr->client_waiting, 0, __ATOMIC_RELAXED);
			if (r > 0 && (pfd[0].revents & POLLIN))
				(void)!read(l->ev_efd, &v, sizeof(v));
			if (r > 0 && (pfd[1].revents & POLLIN)) {
				(void)!read(l->stop_efd, &v, sizeof(v));
				return delivered;
			}
			if (r > 0 && (pfd[2].revents & (POLLHUP | POLLERR))) {
				/* What it published before it went is still in the rings. */
				while (pop_event(l, &next, &ev)) {
					delivered++;
					if (deliver(vm, &ev))
						return delivered;
				}
				return delivered ? delivered
						 : target__fail(vm, -ECONNRESET, "the hypervisor went away");
			}
			idle_since = now_ns() - SPIN_NS; /* go straight back to sleep if still idle */
			continue;
		}
		__atomic_store_n(&l->hdr->client_waiting, 0, __ATOMIC_RELAXED);
		/* Got one while announcing: deliver it. */
		delivered++;
		idle_since = now_ns();
		if (deliver(vm, &ev))
			return delivered;
	}
}

uint64_t vmscope_event_overflow(const vmscope_t *vm, unsigned vcpu)
{
	if (!vm || !vm->live || vcpu >= vm->live->info.nr_vcpus)
		return 0;
	return __atomic_load_n(&live__ring(vm->live, vcpu, 0)->overflow, __ATOMIC_RELAXED);
}

int vmscope_exit_stats(const vmscope_t *vm, unsigned vcpu, uint64_t *counts)
{
	if (!vm || !vm->live)
		return -ENOTSUP;
	if (vcpu >= vm->live->info.nr_vcpus || !counts)
		return -EINVAL;
	for (unsigned k = 0; k <= VMSCOPE_EV_NR; k++)
		counts[k] = __atomic_load_n(&vm->live->hdr->exits[vcpu][k], __ATOMIC_RELAXED);
	return 0;
}
