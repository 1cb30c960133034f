/*
 * System-call filters, one for each kind of thread, as Cloud Hypervisor
 * applies them (--seccomp true|false|log).  Each thread installs its own
 * filter when it starts; a thread created later inherits its creator's
 * filter under its own, so a thread may make a call only when both allow it
 * (the VMM's filter, the widest, is a superset of the others).
 *
 * With true, a forbidden call kills vmscope with SIGSYS, after one line on
 * stderr that names the thread kind and the call; with log, the call is made
 * and the kernel logs it (the audit log or dmesg); false installs nothing.
 *
 * Test-only hook: when VMSCOPE_SECCOMP_SELFTEST names a thread kind ("vcpu",
 * ...), every thread of that kind makes one forbidden call (getsid) right
 * after installing its filter, so that a test can see the filter kill it.
 */
#ifndef VMSCOPE_SECCOMP_FILTER_H
#define VMSCOPE_SECCOMP_FILTER_H

#include "config.h"

enum seccomp_thread {
	SECCOMP_THREAD_VMM,    /* the main thread: the VMM, the VM's main loop, the REST API */
	SECCOMP_THREAD_VCPU,   /* a vCPU: KVM_RUN and the device emulation of its exits */
	SECCOMP_THREAD_VIRTIO, /* a virtio device's worker: disk, tap, console, rng */
	SECCOMP_THREAD_VMI,    /* the introspection control socket */
	SECCOMP_THREAD_GDB,    /* the GDB stub */
	SECCOMP_THREAD_COUNT
};

/*
 * Installs the filter of kind on the calling thread, as mode says.  Returns
 * 0, or -errno after logging why (the thread should then not go on: running
 * unfiltered when the user asked for a filter would be a silent downgrade).
 */
int seccomp_filter__apply(enum seccomp_thread kind, enum seccomp_mode mode);

#endif
