/*
 * What the vCPU loop calls besides the device model.  The loop names no
 * consumer: whoever wants exits (introspection, src/vmi/) registers one set
 * of hooks with the VM at set-up (vm__register_vcpu_hooks), as Solo5's
 * modules register their exit handlers with hvt.  An exit whose kind is in
 * watch_mask goes to exit() before the device model; an unwatched exit costs
 * one load and one branch.
 */
#ifndef VMSCOPE_VCPU_HOOKS_H
#define VMSCOPE_VCPU_HOOKS_H

#include <stdatomic.h>
#include <stdbool.h>

struct vm;
struct vcpu;

/* What a hook did with an exit: done with it, or the device model goes on. */
enum vcpu_verdict { VCPU_PASS = 0, VCPU_HANDLED = 1 };

struct vcpu_hook_ops {
	/* A vCPU was created (its thread not started) / is about to be freed. */
	int (*vcpu_init)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Every vCPU thread has started / every vCPU thread has been joined. */
	int (*vm_started)(struct vm *vm);
	void (*vm_stopped)(struct vm *vm);
	/* vCPU thread, at the top of every loop turn (it may keep the vCPU there). */
	void (*before_run)(struct vcpu *vcpu);
	/* vCPU thread: an exit of a kind (exit_kind.h) in watch_mask. */
	enum vcpu_verdict (*exit)(struct vcpu *vcpu, unsigned kind);
	/*
	 * vCPU thread: an exit that only a hook's own doing causes (a debug
	 * exit, a filtered MSR, a write to RAM it made read-only, an int3 it
	 * planted that the host could not emulate) of a kind exit() was not
	 * shown (unwatched, as after its client left).  True when handled.
	 */
	bool (*unclaimed)(struct vcpu *vcpu);
	/* Any thread: the VM is stopping; let the vCPU out of wherever the hook holds it. */
	void (*wake)(struct vcpu *vcpu);
	/* vCPU thread, when it leaves its loop. */
	void (*vcpu_exit)(struct vcpu *vcpu);
};

struct vcpu_hooks {
	atomic_uint watch_mask;          /* exit kinds (1u << kind) that exit() must see */
	const struct vcpu_hook_ops *ops; /* NULL: nobody registered */
};

#endif
