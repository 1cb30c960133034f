/*
 * Virtual machine introspection, hypervisor side.  Every exit of every vCPU
 * passes vmi__exit_hook() (inline, below) before the device model: when no
 * client watches that kind of exit, the cost is one table load and one
 * predictable branch.  The rest lives in src/vmi/: hook.c (events, breakpoints,
 * MSRs, protected pages, pausing), control.c (the control socket), msg.c (the
 * pure message parser), chan.c (the event-channel memfd).
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
struct vmi_server;

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
	atomic_bool dbg_dirty;    /* guest-debug flags must be reloaded before KVM_RUN */
	int state;                /* enum vmi_vcpu_state, under the VMI lock */
	bool started;             /* VCPU_START sent */
	bool client_ss;           /* the client asked for single-step */
	bool stepping_bp;         /* stepping over a breakpoint at step_gpa */
	uint64_t step_gpa;
	uint32_t dbg_control;     /* KVM_SET_GUEST_DEBUG flags in force */
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
	struct vmi_server *srv;   /* NULL without --vmi-socket */
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

/* Fallbacks for exits that only exist because of us, when no hook took them. */
bool vmi__fallback(struct vcpu *vcpu);

#endif
