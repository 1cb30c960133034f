/*
 * Virtual machine introspection, hypervisor side: the introspection core,
 * and what the rest of vmscope may ask of it (this header; core.h is private
 * to src/vmi/).  vmi__init registers the core's hooks with the vCPU loop
 * (vcpu_hooks.h): every exit whose kind is in the watch mask reaches
 * vmi__hook() before the device model; when nobody watches that kind of
 * exit, the cost is one load and one predictable branch.
 *
 * The path of an exit: vcpu_loop.c (KVM_RUN, the watch mask) -> exits.c
 * (one handler per kind) -> ring.c (the event, the client's response) ->
 * back to vcpu_loop.c, which passes what the hook did not handle to io.c.
 *
 * src/vmi/, one job a file, each calling only files below it (tests/layering):
 *   setup.c        set-up and tear-down, host capabilities, the hooks registered
 *   socket.c       the control socket (--vmi-socket): attach, its thread
 *   requests.c     what each control request does (requests.h)
 *   msg.c          the pure control-message parser
 *   consumers.c    in-process consumers (GDB stub, REST API)
 *   detach.c       undoing a client's hooks when it leaves
 *   exits.c        the exit hook: one handler per exit kind
 *   before_run.c   what a vCPU does before each KVM_RUN
 *   step.c         debug exits, stepping over a breakpoint
 *   breakpoints.c  software breakpoints with owners, and their hits
 *   hwbp.c         debug-register breakpoints and watchpoints, and their hits
 *   msr.c          the MSR filter and MSR exits
 *   protect.c      protected pages: read-only memory slots and their writes
 *   park.c         pausing: the one park for pauses, quiesce, holds, all-stop
 *   ring.c         an event into a vCPU's ring, the wait for its response
 *   dbg.c          the guest-debug flags every owner's needs add up to
 *   watch.c        the watch mask
 *   regs.c         registers, FPU and MSRs of a vCPU out of KVM_RUN
 *   channel.c      the event-channel memfd (header, per-vCPU rings)
 *   pagewalk.c     guest page tables
 */
#ifndef VMSCOPE_VMI_H
#define VMSCOPE_VMI_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmscope/abi.h"

struct vm;
struct vcpu;
struct vmi_core;

/*
 * At VM creation (vm__create): with --vmi-socket, --gdb or --api-socket, sets
 * up the core (control socket, event channel) and registers its vCPU hooks.
 */
int vmi__init(struct vm *vm);

/* Whether a control-socket client (or --vmi-wait) holds every vCPU paused. */
bool vmi__client_paused(struct vm *vm);

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

/*
 * Whether the instruction whose first bytes are insn (those that could not
 * be read: 0) leaves kernel mode for user mode, which kvm_pvm runs natively
 * and never single-steps: sysret and sysexit do (VMI_RET_USER); iret does
 * when the CS it pops, at RSP + *iret_cs (when not NULL), has RPL 3
 * (VMI_RET_IRET).  With or without a REX prefix.
 */
enum vmi_user_return { VMI_RET_NONE, VMI_RET_USER, VMI_RET_IRET };
enum vmi_user_return vmi__user_return(const uint8_t insn[3], unsigned *iret_cs);

#endif
