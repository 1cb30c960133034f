/*
 * Introspection costs, measured in one run (medians of 5 repetitions):
 *  (a) guest exits per second: a bare KVM_RUN loop (no vmscope), vmscope with
 *      no client (and with no seccomp filter, to show the filter's cost), with
 *      an asynchronous I/O subscriber, with a synchronous one;
 *  (b) one event round trip (event out, response back) through the rings
 *      (spin, then eventfd) vs through a unix SOCK_SEQPACKET socket.
 * Targets: a synchronous event costs at most 1.2x a bare exit; the ring
 * transport is at least 5x faster than the socket.
 *   bench_events [EXITS]
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_vm.h"
#include "boot/longmode.h"
#include "kvm_host.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmscope/vmscope.h"

#define REPS 5

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double med(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

/* CPL0 guest: N times `out 0x80`, then debug-exit with 0. */
static void put_code(struct vm *vm, uint32_t n)
{
	uint8_t code[] = {
		0xb9, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24),
		0x66, 0xba, 0x80, 0x00,       /* mov dx, 0x80 */
		0xee,                         /* L: out dx, al */
		0xff, 0xc9,                   /* dec ecx */
		0x75, 0xfb,                   /* jnz L */
		0x66, 0xba, 0x01, 0x05,       /* mov dx, 0x501 */
		0x31, 0xc0, 0xef, 0xf4,       /* xor eax,eax; out dx,eax; hlt */
	};

	longmode__write_tables(&vm->map, vm->ram);
	memcpy(vm->ram + 0x100000, code, sizeof(code));
	vm->entry.rip = 0x100000;
	vm->entry.aps_start_at_entry = false;
}

/* (a) bare: our own KVM_RUN loop on a VM, no vmscope vCPU loop. */
static double bare_rate(struct kvm_host *host, uint32_t n)
{
	struct vm_config cfg = bench_vm__config();
	struct vm *vm = vm__create(host, &cfg, NULL);

	put_code(vm, n);
	return bench_vm__bare_rate(vm);
}

static int on_io(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		 void *opaque)
{
	(void)vm; (void)ev; (void)rsp;
	(*(uint64_t *)opaque)++;
	return 0;
}

/* (a) vmscope's own vCPU loop; mode 0: no client, 1: async, 2: sync. */
static double vmscope_rate(struct kvm_host *host, uint32_t n, int mode, enum seccomp_mode sc,
			   uint64_t *events)
{
	char path[64];
	struct vm_config cfg = bench_vm__config();
	struct bench_run r = { 0 };
	pthread_t th;
	vmscope_t *cl = NULL;
	double t_resume = 0;
	int err;

	snprintf(path, sizeof(path), "/tmp/bench-events-%d.sock", getpid());
	cfg.seccomp = sc;
	if (mode) {
		cfg.vmi_socket = path;
		cfg.vmi_wait = true;
	}
	r.vm = vm__create(host, &cfg, NULL);
	put_code(r.vm, n);
	*events = 0;
	pthread_create(&th, NULL, bench_vm__run, &r);
	if (mode) {
		for (int i = 0; i < 500 && !(cl = vmscope_attach(path, &err)); i++)
			usleep(2000);
		if (!cl) {
			fprintf(stderr, "attach: %s\n", vmscope_last_error(NULL));
			exit(1);
		}
		vmscope_subscribe(cl, VMSCOPE_EV_IO, mode == 2, on_io, events);
		t_resume = bench_vm__now();
		vmscope_resume(cl, VMSCOPE_ALL_VCPUS);
		while (vmscope_event_loop(cl, 200) >= 0 && !vm__stopping(r.vm))
			;
	}
	pthread_join(th, NULL);
	if (cl) {
		vmscope_event_loop(cl, 0);
		vmscope_close(cl);
	}
	/* With a client, time from its resume (the vCPU waited for it before). */
	vm__destroy(r.vm);
	return n / (mode ? r.end - t_resume : r.seconds);
}

/* ---- (b) transports -------------------------------------------------------------- */

#define RT 20000

struct ring_pair {
	struct vmscope_ring ev __attribute__((aligned(64)));
	struct vmscope_event ev_slots[16];
	struct vmscope_ring rsp __attribute__((aligned(64)));
	struct vmscope_response rsp_slots[16];
	int efd_ev, efd_rsp;
};

static void ring_push(struct vmscope_ring *r, void *slots, size_t size, const void *item,
		      int efd)
{
	uint64_t h = r->head, one = 1;

	memcpy((uint8_t *)slots + (h & 15) * size, item, size);
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->waiting, __ATOMIC_RELAXED))
		(void)!write(efd, &one, 8);
}

static void ring_pop(struct vmscope_ring *r, void *slots, size_t size, void *item, int efd)
{
	double t0 = bench_vm__now();
	uint64_t v;

	for (;;) {
		uint64_t t = r->tail;

		if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != t) {
			memcpy(item, (uint8_t *)slots + (t & 15) * size, size);
			__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
			return;
		}
		if (bench_vm__now() - t0 < 100e-6) {
			__builtin_ia32_pause();
			continue;
		}
		__atomic_store_n(&r->waiting, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == r->tail)
			(void)!read(efd, &v, 8);
		__atomic_store_n(&r->waiting, 0, __ATOMIC_RELAXED);
	}
}

static void *ring_client(void *arg)
{
	struct ring_pair *p = arg;
	struct vmscope_event ev;
	struct vmscope_response rsp = { 0 };

	for (int i = 0; i < RT; i++) {
		ring_pop(&p->ev, p->ev_slots, sizeof(ev), &ev, p->efd_ev);
		rsp.seq = ev.seq;
		ring_push(&p->rsp, p->rsp_slots, sizeof(rsp), &rsp, p->efd_rsp);
	}
	return NULL;
}

static double ring_rt(void)
{
	static struct ring_pair p;
	struct vmscope_event ev = { 0 };
	struct vmscope_response rsp;
	pthread_t th;
	double t0;

	memset(&p, 0, sizeof(p));
	p.efd_ev = eventfd(0, 0);
	p.efd_rsp = eventfd(0, 0);
	pthread_create(&th, NULL, ring_client, &p);
	t0 = bench_vm__now();
	for (int i = 0; i < RT; i++) {
		ev.seq = (uint64_t)i + 1;
		ring_push(&p.ev, p.ev_slots, sizeof(ev), &ev, p.efd_ev);
		ring_pop(&p.rsp, p.rsp_slots, sizeof(rsp), &rsp, p.efd_rsp);
	}
	t0 = (bench_vm__now() - t0) / RT;
	pthread_join(th, NULL);
	close(p.efd_ev);
	close(p.efd_rsp);
	return t0;
}

static void *sock_client(void *arg)
{
	int fd = *(int *)arg;
	struct vmscope_event ev;
	struct vmscope_response rsp = { 0 };

	for (int i = 0; i < RT; i++) {
		if (recv(fd, &ev, sizeof(ev), 0) != sizeof(ev))
			break;
		rsp.seq = ev.seq;
		send(fd, &rsp, sizeof(rsp), 0);
	}
	return NULL;
}

static double sock_rt(void)
{
	int sv[2];
	struct vmscope_event ev = { 0 };
	struct vmscope_response rsp;
	pthread_t th;
	double t0;

	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	pthread_create(&th, NULL, sock_client, &sv[1]);
	t0 = bench_vm__now();
	for (int i = 0; i < RT; i++) {
		ev.seq = (uint64_t)i + 1;
		send(sv[0], &ev, sizeof(ev), 0);
		if (recv(sv[0], &rsp, sizeof(rsp), 0) != sizeof(rsp))
			break;
	}
	t0 = (bench_vm__now() - t0) / RT;
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);
	return t0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 20000;
	double bare[REPS], none[REPS], nofilter[REPS], async_[REPS], sync_[REPS], ring[REPS];
	double sock[REPS];
	uint64_t ev_async = 0, ev_sync = 0;
	struct kvm_host host;

	log_threshold = LOG_ERROR;
	if (kvm_host__open(&host) < 0)
		return 77;
	for (int i = 0; i < REPS; i++) {
		bare[i] = bare_rate(&host, n);
		none[i] = vmscope_rate(&host, n, 0, SECCOMP_ON, &ev_async);
		nofilter[i] = vmscope_rate(&host, n, 0, SECCOMP_OFF, &ev_async);
		async_[i] = vmscope_rate(&host, n, 1, SECCOMP_ON, &ev_async);
		sync_[i] = vmscope_rate(&host, n, 2, SECCOMP_ON, &ev_sync);
		ring[i] = ring_rt();
		sock[i] = sock_rt();
	}
	double b = med(bare, REPS), z = med(none, REPS), a = med(async_, REPS), s = med(sync_, REPS);
	double zf = med(nofilter, REPS);
	double rr = med(ring, REPS), sr = med(sock, REPS);

	printf("exits/s (%u exits, median of %d):\n", n, REPS);
	printf("  bare KVM_RUN loop      %10.0f  (%.1f us/exit)\n", b, 1e6 / b);
	printf("  vmscope, no client     %10.0f  (%.1f us/exit, %.3fx bare)\n", z, 1e6 / z, b / z);
	printf("  the same, no seccomp   %10.0f  (%.1f us/exit, %.3fx bare: the filter costs %.3fx)\n",
	       zf, 1e6 / zf, b / zf, zf / z);
	printf("  vmscope, async client  %10.0f  (%.1f us/exit, %.3fx bare; last run %llu events)\n",
	       a, 1e6 / a, b / a, (unsigned long long)ev_async);
	printf("  vmscope, sync client   %10.0f  (%.1f us/exit, %.3fx bare; last run %llu events)\n",
	       s, 1e6 / s, b / s, (unsigned long long)ev_sync);
	printf("event round trip: rings %.2f us, unix socket %.2f us: rings %.1fx faster\n",
	       rr * 1e6, sr * 1e6, sr / rr);
	printf("verdict: sync event %.2fx a bare exit (target <= 1.2): %s; rings %.1fx socket (target >= 5): %s\n",
	       b / s, b / s <= 1.2 ? "PASS" : "FAIL", sr / rr, sr / rr >= 5 ? "PASS" : "FAIL");
	kvm_host__close(&host);
	return 0;
}
