#include "host_quirks.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define BP_VECTOR 3

char *host_quirks__linux_cmdline(const char *cmdline, bool apply)
{
	char *out;

	if (!apply)
		return strdup(cmdline);
	if (asprintf(&out, "%s%s%s", cmdline, cmdline[0] ? " " : "", HOST_QUIRKS_LINUX_CMDLINE) < 0)
		return NULL;
	return out;
}

bool host_quirks__complete_int3(struct vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;
	struct kvm_vcpu_events events;
	struct kvm_regs regs;

	if (!vcpu->vm->host->emulated || !vcpu->vm->cfg->host_quirks ||
	    run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) ||
	    run->emulation_failure.insn_size < 1 || run->emulation_failure.insn_bytes[0] != 0xcc)
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return false;
	/* A trap: the handler sees RIP past the int3, as after a hardware #BP. */
	regs.rip += 1;
	events.exception.injected = 1;
	events.exception.nr = BP_VECTOR;
	events.exception.has_error_code = 0;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0) {
		log_warn("vCPU %u: cannot deliver the guest's int3 as #BP: %s", vcpu->id,
			 strerror(errno));
		return false;
	}
	log_debug("vCPU %u: int3 at 0x%llx delivered as #BP (this KVM refuses it)", vcpu->id,
		  (unsigned long long)regs.rip - 1);
	return true;
}
