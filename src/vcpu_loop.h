/* Creating, running and freeing a vCPU (struct vcpu: vcpu.h). */
#ifndef VMSCOPE_VCPU_LOOP_H
#define VMSCOPE_VCPU_LOOP_H

#include "vcpu.h"

/* Creates vCPU id with CPUID and, when it starts at the entry, 64-bit registers. */
struct vcpu *vcpu__create(struct vm *vm, unsigned id);
void vcpu__destroy(struct vcpu *vcpu);

/* Starts the vCPU's thread, which runs it until the VM stops. */
int vcpu__start(struct vcpu *vcpu);

#endif
