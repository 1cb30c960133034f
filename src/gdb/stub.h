/*
 * The GDB stub inside the hypervisor (--gdb path=SOCKET | tcp=127.0.0.1:PORT).
 * gdb_stub__start() listens before the vCPUs start; with wait (the default)
 * every vCPU parks before its first instruction until GDB attaches.
 *
 * The stub is an in-process consumer of the introspection core (src/vmi,
 * vmi__register_consumer): registers, page walks, breakpoints, single-steps
 * and parking all go through the core, never to KVM directly.  Its
 * breakpoints carry its owner bit, so that a hit on one of them reaches the
 * stub alone and an introspection client's never reach GDB.
 */
#ifndef VMSCOPE_GDB_STUB_H
#define VMSCOPE_GDB_STUB_H

struct vm;

/* Listens and starts the stub's thread; -errno after logging why. */
int gdb_stub__start(struct vm *vm);

#endif
