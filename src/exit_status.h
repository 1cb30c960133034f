/*
 * vmscope's exit statuses, in one place.  A guest that writes to the
 * debug-exit port chooses its own status (0 to 255) instead.
 */
#ifndef VMSCOPE_EXIT_STATUS_H
#define VMSCOPE_EXIT_STATUS_H

enum exit_status {
	EXIT_POWEROFF = 0,     /* the guest powered off */
	EXIT_ERROR = 1,        /* KVM or the host failed, or the guest hit an emulation error */
	EXIT_USAGE = 2,        /* bad command line or bad input file */
	EXIT_TRIPLE_FAULT = 3, /* the guest triple-faulted (KVM_EXIT_SHUTDOWN) */
	EXIT_REBOOT = 4,       /* the guest asked for a reset */
	EXIT_HALTED = 5,       /* every vCPU halted with nothing to wake it (--irqchip off) */
	EXIT_SIGNAL_BASE = 128 /* stopped by a signal: 128 + its number, as a shell reports */
};

#endif
