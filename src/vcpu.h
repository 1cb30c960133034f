/* One vCPU: its KVM fd, its shared kvm_run page and the thread that runs it. */
#ifndef VMSCOPE_VCPU_H
#define VMSCOPE_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmi/vmi.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool halted;              /* HLT without an in-kernel irqchip: sleeps until the VM stops */
	atomic_uint_fast64_t nr_exits;
	struct vmi_vcpu vmi;
};

/* Creates vCPU id with CPUID and, when it starts at the entry, 64-bit registers. */
struct vcpu *vcpu__create(struct vm *vm, unsigned id);
void vcpu__destroy(struct vcpu *vcpu);

int vcpu__start(struct vcpu *vcpu);

/* Makes the vCPU leave KVM_RUN soon (from any thread). */
void vcpu__kick(struct vcpu *vcpu);

/* Reads the instruction pointer, for messages; 0 when it cannot. */
uint64_t vcpu__rip(struct vcpu *vcpu);
/*
 * Completes the last exit if KVM has not yet (I/O, MMIO, MSR): see vcpu.c.
 * Before the registers of a vCPU that stays out of the guest are read or
 * written.  Its own thread only.
 */
void vcpu__complete_exit(struct vcpu *vcpu);

#endif
