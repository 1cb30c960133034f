/* What this host's KVM is and offers, probed once at start-up. */
#ifndef VMSCOPE_KVM_HOST_H
#define VMSCOPE_KVM_HOST_H

#include <stdbool.h>

#include "host_debug.h"

struct kvm_host {
	int kvm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
	/* KVM without hardware virtualization (kvm_pvm): guest CPL0 code is emulated. */
	bool emulated;
	/*
	 * AMD's SVM: on a guest triple fault KVM re-initialises the VMCB, so the
	 * registers read afterwards are the reset state (RIP 0xfff0), not where
	 * it happened.
	 */
	bool svm;
	bool cap_guest_debug;
	int cap_guest_debug_hw_bps;
	bool cap_readonly_mem;
	bool cap_msr_filter;
	bool cap_user_space_msr;
	bool cap_immediate_exit;
	struct host_debug dbg;    /* what the debug facilities really do here, probed */
};

/* Opens /dev/kvm and probes it; returns -errno after logging one clear line. */
int kvm_host__open(struct kvm_host *host);
void kvm_host__close(struct kvm_host *host);

#endif
