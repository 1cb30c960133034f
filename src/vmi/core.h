/*
 * The introspection core's state: what the hooks, the in-process consumers
 * and the control socket share, and the functions the files of src/vmi/
 * call in each other.  Private to src/vmi/.
 */
#ifndef VMSCOPE_VMI_CORE_H
#define VMSCOPE_VMI_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vcpu_hooks.h"
#include "vmi/msg.h"
#include "vmi/vmi.h"

enum vmi_vcpu_state { VMI_VCPU_RUNNING, VMI_VCPU_PARKED, VMI_VCPU_HELD };

/* Per-vCPU introspection state (vcpu->vmi). */
struct vmi_vcpu {
	atomic_bool pause_req;    /* park at the next loop turn */
	atomic_uint pause_gen;    /* counts the client's pause requests */
	unsigned pause_announced; /* pause_gen of the last PAUSE event sent */
	atomic_bool dbg_dirty;    /* guest-debug flags must be reloaded before KVM_RUN */
	atomic_uint hold;         /* in-process consumers (bits) that keep this vCPU parked */
	atomic_uint consumer_ss;  /* in-process consumers (bits) single-stepping this vCPU */
	int state;                /* enum vmi_vcpu_state, under the VMI lock */
	bool started;             /* VCPU_START sent */
	bool client_ss;           /* the client asked for single-step */
	bool stepping_bp;         /* stepping over a breakpoint at step_gpa */
	bool step_pending;        /* a breakpoint at step_gpa was hit: step over it next */
	uint64_t step_gpa;
	uint8_t hw_armed;         /* debug-register slots in the DR7 loaded (bits) */
	uint8_t hw_skip;          /* execute slots left out for one step over their hit */
	struct kvm_guest_debug dbg; /* KVM_SET_GUEST_DEBUG in force */
	bool regs_after_exit;     /* set regs_pending once the exit is complete */
	struct vmscope_regs regs_pending;
	uint64_t seq;             /* last event sequence number */
	struct vmscope_ring *ev, *rsp;
	struct vmscope_event *ev_slots;
	struct vmscope_response *rsp_slots;
	int rsp_efd;
};

#define VMI_MAX_BPS 64
#define VMI_MAX_PROTECTED 64

struct vmi_bp {
	uint64_t gpa;
	uint8_t orig;
	uint32_t owners;          /* VMI_OWNER_CLIENT and consumer bits */
};

/* A debug-register slot; owners 0: free. */
struct vmi_hwbp {
	uint64_t addr;            /* linear */
	uint32_t owners;
	uint8_t type, len;        /* VMSCOPE_HWBP_*, bytes */
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
	struct vmi_hwbp hwbps[VMSCOPE_HWBP_SLOTS];
	unsigned nr_prot;
	uint64_t prot[VMI_MAX_PROTECTED]; /* sorted page addresses */
	unsigned nr_slots;        /* KVM memory slots in use, 0..nr_slots-1 */
	unsigned nr_msrs;
	uint32_t msrs[VMSCOPE_MAX_WATCHED_MSRS];

	/*
	 * What ring.c calls when the client stops answering: vmi__detach
	 * (detach.c), which undoes hooks whose own events go through the ring.
	 */
	void (*client_lost)(struct vmi_core *core, const char *why);

	uint64_t caps;            /* kinds this host can deliver */
	uint32_t timeout_ms;
	bool usermsr_enabled;
	bool sync_regs;           /* KVM_CAP_SYNC_REGS has regs and sregs */
};

static inline uint64_t vmi__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The vCPU hooks (vcpu_hooks.h) that vmi__init registers, by file:
 * channel.c, setup.c, socket.c, before_run.c, park.c, exits.c, consumers.c.
 */
int vmi__vcpu_init(struct vcpu *vcpu);
void vmi__vcpu_free(struct vcpu *vcpu);
int vmi__start(struct vm *vm);
void vmi__shutdown(struct vm *vm);
void vmi__before_run(struct vcpu *vcpu);
void vmi__wake(struct vcpu *vcpu);
enum vcpu_verdict vmi__hook(struct vcpu *vcpu, unsigned kind);
bool vmi__unclaimed(struct vcpu *vcpu);
void vmi__vcpu_exit(struct vcpu *vcpu);

/* regs.c: one MSR of a vCPU out of KVM_RUN. */
int vmi__msr_access(struct vcpu *vcpu, uint32_t index, uint64_t *value, bool write);

/* ring.c: an event being sent, and the response it got. */
struct vmi_ev_ctx {
	struct vmscope_event ev;
	struct vmscope_response rsp;
	bool have_regs;
};

/*
 * Sends an event of kind, c->ev's kind data filled.  Returns true with
 * c->rsp filled when a synchronous response came back (false: continue by
 * default).
 */
bool vmi__send(struct vcpu *vcpu, unsigned kind, struct vmi_ev_ctx *c);
/* Applies SET_REGS from a response (general registers, RIP, RFLAGS). */
void vmi__apply_regs(struct vcpu *vcpu, const struct vmi_ev_ctx *c);
/*
 * The same for a response to an exit KVM completes on the next KVM_RUN (I/O,
 * MMIO, MSR): the registers are set after that completion, in
 * vmi__before_run, or the instruction skip would land on the client's RIP.
 */
void vmi__apply_regs_after_exit(struct vcpu *vcpu, const struct vmi_ev_ctx *c);

/* watch.c */
void vmi__update_watch(struct vmi_core *core);

/* msr.c */
int vmi__update_msr_filter(struct vmi_core *core); /* lock held */
enum vcpu_verdict vmi__hook_msr(struct vcpu *vcpu, unsigned kind);

/* protect.c */
int vmi__rebuild_slots(struct vmi_core *core); /* lock held, quiesced */
enum vcpu_verdict vmi__hook_ram_access(struct vcpu *vcpu);

/* breakpoints.c */
struct vmi_bp *vmi__find_bp(struct vmi_core *core, uint64_t gpa); /* lock held */
int vmi__bp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa);
int vmi__bp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa);
enum vcpu_verdict vmi__bp_hit(struct vcpu *vcpu, struct vmi_ev_ctx *c, uint64_t gpa);

/* hwbp.c (lock held but for the hit and the step) */
int vmi__hwbp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t addr, unsigned type,
			 unsigned len, unsigned *slot);
int vmi__hwbp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t addr, unsigned type,
			    unsigned len);
unsigned vmi__hwbp_release_locked(struct vmi_core *core, uint32_t owner); /* returns how many */
/* A #DB with dr6 at pc: delivers the slots that fired; false when none was ours. */
bool vmi__hwbp_hit(struct vcpu *vcpu, struct vmi_ev_ctx *c, uint64_t dr6, uint64_t pc);
/* A debug exit while stepping over an execute hit: the step is done (true). */
bool vmi__hwbp_step_done(struct vcpu *vcpu);

/* dbg.c */
/* Adds the slots (but those in skip) to dbg: addresses, DR7, USE_HW_BP. */
void vmi__hwbp_fill(struct vmi_core *core, uint8_t skip, struct kvm_guest_debug *dbg);
void vmi__dbg_fill(struct vcpu *vcpu, struct kvm_guest_debug *dbg); /* lock held */
void vmi__refresh_dbg(struct vmi_core *core);

/* step.c */
void vmi__step_over_begin(struct vcpu *vcpu);
enum vcpu_verdict vmi__hook_debug(struct vcpu *vcpu);

/* park.c */
bool vmi__must_park(struct vmi_core *core, struct vcpu *vcpu);
void vmi__park(struct vcpu *vcpu);
int vmi__quiesce(struct vmi_core *core);    /* lock held; all vCPUs out of KVM_RUN */
void vmi__unquiesce(struct vmi_core *core); /* lock held */

/* detach.c */
/* asked: the client said DETACH (logged as info; a lost client is a warning). */
void vmi__detach(struct vmi_core *core, const char *why, bool asked);
void vmi__detach_lost(struct vmi_core *core, const char *why);

/* channel.c */
int vmi__channel_create(struct vmi_core *core, unsigned nr_vcpus);
void vmi__channel_reset(struct vmi_core *core);

/* socket.c */
int vmi__socket_listen(struct vmi_core *core, const char *path);
int vmi__socket_start(struct vmi_core *core);

#endif
