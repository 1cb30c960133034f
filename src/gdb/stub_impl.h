/* The GDB stub's state, shared by backend.c (vCPU side, target ops) and server.c. */
#ifndef VMSCOPE_GDB_STUB_IMPL_H
#define VMSCOPE_GDB_STUB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gdb/commands.h"
#include "gdb/stub.h"

#define GDB_STUB_MAX_BPS 64

struct gdb_bp {
	uint64_t gva, gpa;
	uint8_t orig;
	unsigned refs;
};

struct gdb_stub {
	struct vm *vm;
	unsigned nr_vcpus;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/*
	 * Held by the server thread while it handles a packet (it may use the
	 * vCPU fds then); a vCPU leaving its park point because the VM stops
	 * passes through it, so no vCPU is torn down under a packet.
	 */
	pthread_mutex_t ops_lock;

	/* Under lock. */
	struct vcpu *vcpus[GDB_MAX_VCPUS]; /* known once each thread reaches its park point */
	bool parked[GDB_MAX_VCPUS];
	enum gdb_action act[GDB_MAX_VCPUS];
	uint32_t dbg_want[GDB_MAX_VCPUS]; /* KVM_SET_GUEST_DEBUG flags wanted */
	bool halt;             /* all-stop in force: every vCPU parks */
	bool stop_pending;     /* a stop event not yet passed to the session */
	struct gdb_stop stop;
	unsigned nr_bps;
	struct gdb_bp bps[GDB_STUB_MAX_BPS];

	uint32_t dbg_set[GDB_MAX_VCPUS]; /* flags in force; vCPU thread only */
	int event_fd;          /* eventfd: a stop event is pending */
	unsigned g_vcpu;       /* the session's current thread, for interrupts */

	/* Statistics for 'monitor stats'. */
	uint64_t nr_bp_hits, nr_steps, nr_interrupts;

	/* server.c */
	int listen_fd, conn_fd;
	int quit_fd;           /* eventfd: the VM is being destroyed */
	pthread_t thread;
	bool thread_started;
	char path[108];        /* unix socket to unlink, or "" */
	struct gdb_session session;
};

extern const struct gdb_target_ops gdb_stub_ops;

/* backend.c: all vCPUs parked (or the VM stopping); lock held.  -ETIMEDOUT after 5 s. */
int gdb_stub__wait_parked(struct gdb_stub *st);
/* backend.c: asks for an all-stop with this reason unless one is already under way. */
void gdb_stub__request_stop(struct gdb_stub *st, const struct gdb_stop *why);
/* backend.c: removes every breakpoint and resumes all vCPUs. */
void gdb_stub__release(struct gdb_stub *st);

#endif
