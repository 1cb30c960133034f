/*
 * One vCPU: its KVM fd, its shared kvm_run page and the thread that runs it
 * (vcpu_loop.h), and what other modules may do to it (vcpu.c).
 */
#ifndef VMSCOPE_VCPU_H
#define VMSCOPE_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmscope/abi.h"

/* The signal that interrupts KVM_RUN (vcpu__kick); its handler does nothing. */
#define VCPU_KICK_SIGNAL SIGUSR1

struct vm;
struct vmi_vcpu;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool halted;              /* HLT without an in-kernel irqchip: sleeps until the VM stops */
	atomic_uint_fast64_t nr_exits;
	uint64_t *exit_stats;     /* exits by kind (exit_kind.h): own_exit_stats or a hook's */
	uint64_t own_exit_stats[VMSCOPE_EV_NR + 3]; /* shaped as a channel row (abi.h) */
	struct vmi_vcpu *vmi;     /* introspection's state (src/vmi/); NULL without it */
};

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
