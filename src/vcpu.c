/*
 * What other modules may do to a vCPU: kick it out of KVM_RUN, read its
 * RIP, complete its last exit.  The loop that runs it: vcpu_loop.c.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "log.h"
#include "vm.h"

uint64_t vcpu__rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	return vcpu_ioctl(vcpu, KVM_GET_REGS, &regs) < 0 ? 0 : regs.rip;
}

/*
 * KVM finishes an I/O, MMIO, MSR or hypercall exit (an IN's data into RAX, RIP past the
 * instruction) only when KVM_RUN is entered again, as the KVM API says of
 * KVM_RUN; until then the registers are those before the instruction.  Some
 * hosts (kvm_pvm) finish at once, hardware KVM does not.  A KVM_RUN with
 * immediate_exit set finishes it and runs no guest instruction.
 */
void vcpu__complete_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
	case KVM_EXIT_MMIO:
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
	case KVM_EXIT_HYPERCALL:
		break;
	default:
		return;
	}
	run->immediate_exit = 1;
	if (vcpu_ioctl(vcpu, KVM_RUN, 0) == 0 || errno != EINTR)
		log_warn("vCPU %u: completing exit %u: %s", vcpu->id, run->exit_reason,
			 strerror(errno));
	run->immediate_exit = 0;
	run->exit_reason = KVM_EXIT_INTR; /* what that KVM_RUN reports: nothing pending */
}

void vcpu__kick(struct vcpu *vcpu)
{
	/* immediate_exit covers a kick that lands just before the vCPU enters KVM_RUN. */
	vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	if (vm__stopping(vcpu->vm) && vcpu->vm->hooks.ops && vcpu->vm->hooks.ops->wake)
		vcpu->vm->hooks.ops->wake(vcpu);
}
