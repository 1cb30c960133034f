/*
 * The GDB stub inside the hypervisor (--gdb path=SOCKET | tcp=127.0.0.1:PORT).
 * gdb_stub__start() listens before the vCPUs start; with wait (the default)
 * every vCPU parks before its first instruction until GDB attaches.
 *
 * The vCPU loop calls two hooks, at the same points as the introspection
 * core's (src/vmi) and before them: gdb_stub__before_run() parks a vCPU the
 * stub holds, and gdb_stub__exit() claims the exits that belong to the stub
 * (its own breakpoints, its own single-steps) so that they never reach an
 * introspection client, and the client's never reach GDB.
 */
#ifndef VMSCOPE_GDB_STUB_H
#define VMSCOPE_GDB_STUB_H

#include <stdbool.h>

struct vm;
struct vcpu;
struct gdb_stub;

extern struct gdb_stub *gdb_stub_active;

/* Listens and starts the stub's thread; -errno after logging why. */
int gdb_stub__start(struct vm *vm);

void gdb_stub__before_run_slow(struct gdb_stub *st, struct vcpu *vcpu);
bool gdb_stub__exit_slow(struct gdb_stub *st, struct vcpu *vcpu);

/* vCPU thread, before every KVM_RUN: parks while GDB holds the guest. */
static inline void gdb_stub__before_run(struct vcpu *vcpu)
{
	struct gdb_stub *st = __atomic_load_n(&gdb_stub_active, __ATOMIC_ACQUIRE);

	if (__builtin_expect(st != 0, 0))
		gdb_stub__before_run_slow(st, vcpu);
}

/* vCPU thread, after KVM_RUN: true when the stub took the exit. */
static inline bool gdb_stub__exit(struct vcpu *vcpu)
{
	struct gdb_stub *st = __atomic_load_n(&gdb_stub_active, __ATOMIC_ACQUIRE);

	return __builtin_expect(st != 0, 0) && gdb_stub__exit_slow(st, vcpu);
}

#endif
