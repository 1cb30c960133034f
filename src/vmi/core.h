/*
 * The introspection core's state, private to src/vmi: what the hook, the
 * in-process consumers and the control socket share.
 */
#ifndef VMSCOPE_VMI_CORE_H
#define VMSCOPE_VMI_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmi/vmi.h"

#define VMI_MAX_BPS 64
#define VMI_MAX_PROTECTED 64

struct vmi_bp {
	uint64_t gpa;
	uint8_t orig;
	uint32_t owners;          /* VMI_OWNER_CLIENT and consumer bits */
};

/* The control socket (--vmi-socket); its fds are -1 without one. */
struct vmi_socket {
	int listen_fd, client_fd;
	pthread_t thread;
	bool thread_started;
};

struct vmi_core {
	struct vm *vm;
	pthread_mutex_t lock;     /* everything below that is not atomic */
	pthread_cond_t cond;      /* vCPU state changes; resume */
	struct vmi_socket sock;

	int chan_fd;
	size_t chan_size;
	struct vmscope_chan_header *hdr;
	int ev_efd;

	atomic_uint sub_mask;     /* kinds the client subscribed */
	atomic_uint sync_mask;    /* of which synchronous */
	atomic_bool attached;
	atomic_uint gen;          /* bumped at every detach */
	atomic_bool quiesce;      /* park every vCPU (internal, no PAUSE event) */
	atomic_uint step_owner;   /* id + 1 of the vCPU stepping over a breakpoint, 0: none */
	atomic_uint halt;         /* consumers (bits) holding every vCPU (all-stop) */
	atomic_bool ready;        /* every vCPU exists (vmi__start) */

	unsigned nr_consumers;
	struct { const struct vmi_consumer_ops *ops; void *opaque; } consumers[VMI_MAX_CONSUMERS + 1];

	unsigned nr_bps;
	struct vmi_bp bps[VMI_MAX_BPS];
	unsigned nr_prot;
	uint64_t prot[VMI_MAX_PROTECTED]; /* sorted page addresses */
	unsigned nr_slots;        /* KVM memory slots in use, 0..nr_slots-1 */
	unsigned nr_msrs;
	uint32_t msrs[VMSCOPE_MAX_WATCHED_MSRS];

	uint64_t caps;            /* kinds this host can deliver */
	uint32_t timeout_ms;
	bool usermsr_enabled;
	bool sync_regs;           /* KVM_CAP_SYNC_REGS has regs and sregs */
};

/* hook.c */
void vmi__update_watch(struct vmi_core *core);
int vmi__quiesce(struct vmi_core *core);   /* lock held; all vCPUs out of KVM_RUN */
void vmi__unquiesce(struct vmi_core *core);/* lock held */
int vmi__rebuild_slots(struct vmi_core *core); /* lock held, quiesced */
int vmi__update_msr_filter(struct vmi_core *core); /* lock held */
struct vmi_bp *vmi__find_bp(struct vmi_core *core, uint64_t gpa); /* lock held */
int vmi__bp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa);
int vmi__bp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa);
void vmi__detach(struct vmi_core *core, const char *why);
void vmi__refresh_dbg(struct vmi_core *core);

#endif
