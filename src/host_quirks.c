#include "host_quirks.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define BP_VECTOR 3
#define MF_VECTOR 16
#define FSW_ES 0x80 /* x87 status: an unmasked exception is pending */

char *host_quirks__linux_cmdline(const char *cmdline, bool apply)
{
	char *out;

	if (!apply)
		return strdup(cmdline);
	if (asprintf(&out, "%s%s%s", cmdline, cmdline[0] ? " " : "", HOST_QUIRKS_LINUX_CMDLINE) < 0)
		return NULL;
	return out;
}

/* The instruction KVM failed to emulate, when it says which. */
static int failed_opcode(const struct kvm_run *run)
{
	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) ||
	    run->emulation_failure.insn_size < 1)
		return -1;
	return run->emulation_failure.insn_bytes[0];
}

/* Moves RIP past a one-byte instruction and raises exception vector (-1: none). */
static bool complete(struct vcpu *vcpu, int vector)
{
	struct kvm_vcpu_events events;
	struct kvm_regs regs;

	if (vcpu_ioctl(vcpu, KVM_GET_REGS, &regs) < 0 ||
	    (vector >= 0 && vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &events) < 0))
		return false;
	regs.rip += 1;
	if (vcpu_ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return false;
	if (vector < 0)
		return true;
	events.exception.injected = 1;
	events.exception.nr = (uint8_t)vector;
	events.exception.has_error_code = 0;
	if (vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events) < 0) {
		log_warn("vCPU %u: cannot raise exception %d: %s", vcpu->id, vector, strerror(errno));
		return false;
	}
	return true;
}

/* fwait faults (#MF) only while the x87 status word has an unmasked exception pending. */
static int fwait_vector(struct vcpu *vcpu)
{
	struct kvm_fpu fpu;

	if (vcpu_ioctl(vcpu, KVM_GET_FPU, &fpu) < 0)
		return -1;
	return (fpu.fsw & FSW_ES) ? MF_VECTOR : -1;
}

bool host_quirks__complete_insn(struct vcpu *vcpu)
{
	if (!vcpu->vm->host->emulated || !vcpu->vm->cfg->host_quirks)
		return false;
	switch (failed_opcode(vcpu->run)) {
	case 0xcc: /* int3: a trap, the handler sees RIP past it */
		return complete(vcpu, BP_VECTOR);
	case 0x9b: /* fwait */
		return complete(vcpu, fwait_vector(vcpu));
	}
	return false;
}
