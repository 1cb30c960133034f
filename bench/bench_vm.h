/*
 * Shared by the benchmarks that run a VM of their own (bench_events,
 * bench_breakpoints): its configuration, the bare KVM_RUN loop that is the
 * peer of every introspection figure, and vmscope's own vCPU loop on a thread.
 * The guest code they put in place ends with `out` to port 0x501 (exit 0).
 */
#ifndef VMSCOPE_BENCH_VM_H
#define VMSCOPE_BENCH_VM_H

#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "log.h"
#include "vcpu.h"
#include "vcpu_loop.h"
#include "vm.h"
#include "vm_lifecycle.h"

static inline double bench_vm__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline struct vm_config bench_vm__config(void)
{
	return (struct vm_config){ .cpus_boot = 1, .memory_size = 64 << 20, .serial = SERIAL_NULL,
				   .log_level = LOG_ERROR, .host_quirks = true, .vmi_timeout_ms = 5000 };
}

/*
 * Port-I/O exits per second of our own KVM_RUN loop on vCPU 0 of vm, no
 * vmscope vCPU loop, until the guest's write to port 0x501; destroys vm.
 */
static inline double bench_vm__bare_rate(struct vm *vm)
{
	uint32_t exits = 0;
	struct vcpu *v;
	double t0, t;

	vm->nr_vcpus = 1;
	vm->vcpus = calloc(1, sizeof(*vm->vcpus));
	v = vm->vcpus[0] = vcpu__create(vm, 0);
	t0 = bench_vm__now();
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0)
			break;
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port == 0x501)
			break;
		exits++;
	}
	t = bench_vm__now() - t0;
	vm__destroy(vm);
	return exits / t;
}

/* vmscope's own loop on a thread: pthread_create(..., bench_vm__run, &run). */
struct bench_run {
	struct vm *vm;
	double seconds, end;
};

static inline void *bench_vm__run(void *arg)
{
	struct bench_run *r = arg;
	double t0 = bench_vm__now();

	vm__run(r->vm);
	r->end = bench_vm__now();
	r->seconds = r->end - t0;
	return NULL;
}

#endif
