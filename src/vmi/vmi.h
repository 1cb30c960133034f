/*
 * Virtual machine introspection, hypervisor side: the introspection core.
 * The vCPU loop (src/vcpu.c) passes every exit whose kind is in watch_mask
 * to vmi__hook() before the device model: when nobody watches that kind of
 * exit, the cost is one table load and one predictable branch.
 *
 * src/vmi/, one job a file (core.h: the state they share):
 *   exits.c        the hook: watch mask, one handler per exit kind
 *   ring.c         an event into a vCPU's ring, the wait for its response
 *   regs.c         registers, FPU and MSRs of a vCPU out of KVM_RUN
 *   breakpoints.c  software breakpoints with owners, and their hits
 *   hwbp.c         debug-register breakpoints and watchpoints, and their hits
 *   step.c         guest-debug flags, debug exits, stepping over a breakpoint
 *   park.c         pausing: the one park for pauses, quiesce, holds, all-stop
 *   msr.c          the MSR filter and MSR exits
 *   protect.c      protected pages: read-only memory slots and their writes
 *   consumers.c    in-process consumers (GDB stub, REST API)
 *   pagewalk.c     guest page tables
 *   core.c         set-up and tear-down, host capabilities
 *   channel.c      the event-channel memfd (header, per-vCPU rings)
 *   socket.c       the control socket (--vmi-socket): attach, its thread
 *   msg.c          the pure control-message parser
 *   requests.c     what each control request does (requests.h)
 *   detach.c       undoing a client's hooks when it leaves
 */
#ifndef VMSCOPE_VMI_H
#define VMSCOPE_VMI_H

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmscope/abi.h"

struct vm;
struct vcpu;
struct vmi_core;

#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* exit_reason -> event kind (VMSCOPE_STAT_OTHER when none). */
#define VMI_NR_EXIT_REASONS 64
extern const uint8_t vmi_exit_kind[VMI_NR_EXIT_REASONS];

enum vmi_vcpu_state { VMI_VCPU_RUNNING, VMI_VCPU_PARKED, VMI_VCPU_HELD };

/* Per-vCPU introspection state (inside struct vcpu). */
struct vmi_vcpu {
	uint64_t *stats;          /* exit counts by kind: channel header row, or own */
	uint64_t own_stats[VMSCOPE_EV_NR + 3];
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

/* Starts the control thread, after the vCPUs are created. */
int vmi__start(struct vm *vm);

/* Per-VM introspection state (inside struct vm). */
struct vmi {
	atomic_uint watch_mask;   /* kinds the hook must see (client's and our own) */
	struct vmi_core *core;    /* NULL without --vmi-socket, --gdb or --api-socket */
};

/* The hook result: the exit is fully handled, or goes on to the device model. */
enum vmi_verdict { VMI_PASS = 0, VMI_HANDLED = 1 };

enum vmi_verdict vmi__hook(struct vcpu *vcpu, unsigned kind);

static inline unsigned vmi__exit_kind(uint32_t exit_reason)
{
	return exit_reason < VMI_NR_EXIT_REASONS ? vmi_exit_kind[exit_reason]
						 : VMSCOPE_STAT_OTHER;
}

/* Sets up the control socket and channel (after vm__create, before vm__run). */
int vmi__init(struct vm *vm);
/* vCPU thread: before its first KVM_RUN and at the top of every loop turn. */
void vmi__vcpu_init(struct vcpu *vcpu);
void vmi__before_run(struct vcpu *vcpu);
/* Wakes a parked or held vCPU (the VM is stopping). */
void vmi__wake(struct vcpu *vcpu);
/* Joins the control thread; after the vCPUs are joined. */
void vmi__shutdown(struct vm *vm);

/*
 * Registers of a vCPU that is out of KVM_RUN (parked, held, or its own thread).
 * with_msrs also reads KERNEL_GS_BASE, and always asks KVM (never the
 * run page's KVM_CAP_SYNC_REGS copy, which is only fresh right after an exit).
 * set_regs with special writes control registers, segments, descriptor
 * tables and KERNEL_GS_BASE too.
 */
int vmi__get_regs(struct vcpu *vcpu, struct vmscope_regs *out, bool with_msrs);
int vmi__set_regs(struct vcpu *vcpu, const struct vmscope_regs *in, bool special);
int vmi__get_fpu(struct vcpu *vcpu, struct kvm_fpu *out);
int vmi__set_fpu(struct vcpu *vcpu, const struct kvm_fpu *in);

/*
 * Guest-physical address of gva under the paging state in regs (CR0.PG,
 * CR3, CR4.LA57: 4- or 5-level, large pages); -1 when unmapped.  *user
 * (when not NULL) says whether CPL3 code may use the page.  src/vmi/pagewalk.c.
 */
int64_t vmi__gva_to_gpa(struct vm *vm, const struct vmscope_regs *regs, uint64_t gva, bool *user);

/*
 * In-process consumers (the GDB stub): they use the same core as a
 * control-socket client, never KVM directly.  Each gets an id c (1..
 * VMI_MAX_CONSUMERS) and an owner bit 1u << c; the control-socket client's
 * owner bit is VMI_OWNER_CLIENT.  A breakpoint belongs to every owner that
 * planted it; a hit is delivered to each of them and to nobody else.  The
 * callbacks run on the vCPU thread with no lock of the core held.
 */
#define VMI_OWNER_CLIENT 1u
#define VMI_MAX_CONSUMERS 3

struct vmi_consumer_ops {
	/* A breakpoint this consumer planted at gpa was hit (RIP is at it). */
	void (*breakpoint)(void *opaque, struct vcpu *vcpu, uint64_t gpa);
	/* A debug-register slot this consumer holds fired (execute: RIP is at addr). */
	void (*hw_breakpoint)(void *opaque, struct vcpu *vcpu, unsigned slot, uint64_t addr,
			      unsigned type);
	/* The single-step this consumer asked for on vcpu completed. */
	void (*singlestep)(void *opaque, struct vcpu *vcpu);
	/* The vCPU thread leaves its loop (the VM stops). */
	void (*vcpu_exit)(void *opaque, struct vcpu *vcpu);
};

/* Before vm__run.  Returns the consumer id c, or -errno. */
int vmi__register_consumer(struct vm *vm, const struct vmi_consumer_ops *ops, void *opaque);
/* vCPU id once every vCPU exists (NULL before). */
struct vcpu *vmi__vcpu(struct vm *vm, unsigned id);
/* All-stop for consumer c: every vCPU parks in the core's park (any thread). */
void vmi__halt(struct vm *vm, int c, bool on);
/* Keeps one vCPU parked for consumer c, whatever the others do. */
void vmi__hold(struct vm *vm, int c, unsigned vcpu, bool on);
/* Single-step vcpu once for consumer c (combined with everyone else's needs). */
int vmi__step(struct vm *vm, int c, unsigned vcpu, bool on);
/* Waits until every vCPU is out of KVM_RUN (parked or held) or the VM stops. */
int vmi__wait_stopped(struct vm *vm, unsigned timeout_ms);
/* Plants (or joins) / leaves a breakpoint at gpa for owner bits. */
int vmi__bp_add(struct vm *vm, uint32_t owner, uint64_t gpa);
int vmi__bp_remove(struct vm *vm, uint32_t owner, uint64_t gpa);
/*
 * Sets (or joins) / leaves a debug-register slot for owner bits: addr is
 * linear, type VMSCOPE_HWBP_*, len 1/2/4/8.  *slot (when not NULL) gets
 * the slot.  -ENOSPC: all four are taken; -ENOTSUP: the host's KVM does not
 * stop on them (probed at start); -EINVAL: see vmi_msg__check_hwbp.
 */
int vmi__hwbp_add(struct vm *vm, uint32_t owner, uint64_t addr, unsigned type, unsigned len,
		  unsigned *slot);
int vmi__hwbp_remove(struct vm *vm, uint32_t owner, uint64_t addr, unsigned type, unsigned len);
/* Lifts a control-socket client's pause of every vCPU (or --vmi-wait's), as its RESUME would. */
void vmi__lift_client_pause(struct vm *vm);
/* Drops everything consumer c holds: breakpoints, holds, steps, its all-stop. */
void vmi__release_consumer(struct vm *vm, int c);
/* vCPU thread, when it leaves its loop. */
void vmi__vcpu_exit(struct vcpu *vcpu);

/*
 * Whether the instruction whose first bytes are insn (those that could not
 * be read: 0) leaves kernel mode for user mode, which kvm_pvm runs natively
 * and never single-steps: sysret and sysexit do (VMI_RET_USER); iret does
 * when the CS it pops, at RSP + *iret_cs (when not NULL), has RPL 3
 * (VMI_RET_IRET).  With or without a REX prefix.
 */
enum vmi_user_return { VMI_RET_NONE, VMI_RET_USER, VMI_RET_IRET };
enum vmi_user_return vmi__user_return(const uint8_t insn[3], unsigned *iret_cs);

/* Fallbacks for exits that only exist because of us, when no hook took them. */
bool vmi__fallback(struct vcpu *vcpu);

#endif
