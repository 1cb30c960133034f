/*
 * Whether this host's KVM intercepts int3, single-step and debug-register
 * breakpoints, probed at start-up (host_debug.c): capabilities do not say.
 */
#ifndef VMSCOPE_HOST_DEBUG_H
#define VMSCOPE_HOST_DEBUG_H

#include <stdbool.h>

enum host_dbg {
	HOST_DBG_INTERCEPTED,       /* KVM_EXIT_DEBUG where it should be */
	HOST_DBG_EMULATION_FAILURE, /* kvm_pvm: int3 in emulated kernel mode */
	HOST_DBG_TO_GUEST,          /* the guest takes the exception itself */
	HOST_DBG_IGNORED,           /* nothing happens: the guest runs past it */
	HOST_DBG_REFUSED,           /* KVM_SET_GUEST_DEBUG fails, or is absent */
	HOST_DBG_OTHER,             /* anything else: treated as not working */
};

/* What the debug facilities really do on this host's KVM, probed. */
struct host_debug {
	enum host_dbg sw_bp;      /* int3 with KVM_GUESTDBG_USE_SW_BP */
	enum host_dbg singlestep; /* KVM_GUESTDBG_SINGLESTEP */
	enum host_dbg hw_bp;      /* DR0-3/DR7 with KVM_GUESTDBG_USE_HW_BP: execute */
	enum host_dbg hw_watch;   /* the same: a data write */
};

/*
 * Probes /dev/kvm (kvm_fd, its run-page size, whether it has
 * KVM_CAP_SET_GUEST_DEBUG) with throw-away VMs; logs the result at info level.
 */
void host_debug__probe(int kvm_fd, int vcpu_mmap_size, bool cap_guest_debug,
		       struct host_debug *out);
/* A few words for the log. */
const char *host_debug__name(enum host_dbg d);

/* Whether a planted int3 reaches vmscope: intercepted, or kvm_pvm's emulation failure. */
bool host_debug__sw_bp_ok(const struct host_debug *d);
/* Whether a debug-register breakpoint (KVM_GUESTDBG_USE_HW_BP) stops the vCPU. */
bool host_debug__hw_bp_ok(const struct host_debug *d);
/* Whether a debug-register data watchpoint stops the vCPU (kvm_pvm's emulator never checks one). */
bool host_debug__hw_watch_ok(const struct host_debug *d);
/* Whether KVM_GUESTDBG_SINGLESTEP stops the vCPU after each instruction. */
bool host_debug__step_ok(const struct host_debug *d);
/*
 * Why a facility that is not ok cannot be offered, in at most 63 characters
 * (it travels in a control-socket reply, abi.h).
 */
const char *host_debug__why(enum host_dbg d);

#endif
