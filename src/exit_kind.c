/* The kind of each KVM exit reason (exit_kind.h). */
#include "exit_kind.h"

#include <linux/kvm.h>

#define K(reason, kind) [reason] = (kind)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#ifdef __clang__
#pragma GCC diagnostic ignored "-Winitializer-overrides"
#endif
const uint8_t exit_kind_of_reason[EXIT_KIND_NR_REASONS] = {
	[0 ... EXIT_KIND_NR_REASONS - 1] = VMSCOPE_STAT_OTHER,
	K(KVM_EXIT_IO, VMSCOPE_EV_IO),
	K(KVM_EXIT_MMIO, VMSCOPE_EV_MMIO),
	K(KVM_EXIT_HLT, VMSCOPE_EV_HLT),
	K(KVM_EXIT_DEBUG, VMSCOPE_EV_SINGLESTEP),
	K(KVM_EXIT_HYPERCALL, VMSCOPE_EV_HYPERCALL),
	K(KVM_EXIT_X86_RDMSR, VMSCOPE_EV_MSR_READ),
	K(KVM_EXIT_X86_WRMSR, VMSCOPE_EV_MSR_WRITE),
	K(KVM_EXIT_SHUTDOWN, VMSCOPE_EV_SHUTDOWN),
	K(KVM_EXIT_INTERNAL_ERROR, VMSCOPE_EV_INTERNAL_ERROR),
};
#pragma GCC diagnostic pop
