/* The GDB stub's state, shared by backend.c (vCPU side, target ops) and server.c. */
#ifndef VMSCOPE_GDB_STUB_IMPL_H
#define VMSCOPE_GDB_STUB_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gdb/commands.h"
#include "gdb/stub.h"
#include "vmscope/abi.h"

#define GDB_STUB_MAX_BPS 64

/* GDB's view of its breakpoints; the byte and the hit belong to the core. */
struct gdb_bp {
	uint64_t gva, gpa;
	unsigned refs;
};

/*
 * One hbreak or watch as GDB set it; a watch of a length the debug registers
 * cannot cover in one slot takes one slot per aligned piece.
 */
struct gdb_hw {
	uint64_t addr, len;
	enum gdb_bp_type type;
};

struct gdb_stub {
	struct vm *vm;
	unsigned nr_vcpus;
	int cid;               /* consumer id in the introspection core */
	uint32_t owner;        /* its breakpoint owner bit, 1u << cid */
	pthread_mutex_t lock;
	/*
	 * Held by the server thread while it handles a packet (it may use the
	 * vCPUs then); a vCPU thread leaving its loop because the VM stops
	 * passes through it, so no vCPU is torn down under a packet.
	 */
	pthread_mutex_t ops_lock;

	/* Under lock. */
	enum gdb_action act[GDB_MAX_VCPUS];
	bool halt;             /* our all-stop is in force in the core */
	bool stop_pending;     /* a stop event not yet passed to the session */
	struct gdb_stop stop;
	unsigned nr_bps;
	struct gdb_bp bps[GDB_STUB_MAX_BPS];
	unsigned nr_hw;
	struct gdb_hw hw[VMSCOPE_HWBP_SLOTS];

	int event_fd;          /* eventfd: a stop event is pending */
	unsigned g_vcpu;       /* the session's current thread, for interrupts */

	/* Statistics for 'monitor stats'. */
	uint64_t nr_bp_hits, nr_hw_hits, nr_steps, nr_interrupts;

	/* server.c */
	int listen_fd, conn_fd;
	int quit_fd;           /* eventfd: the VM is being destroyed */
	pthread_t thread;
	bool thread_started;
	char path[108];        /* unix socket to unlink, or "" */
	struct gdb_session session;
};

extern const struct gdb_target_ops gdb_stub_ops;

/*
 * hwbp.c: hbreak (Z1) and watch / awatch (Z2, Z4) in the core's debug-register
 * slots; lock held.  *why is set for a refusal GDB should show.
 */
int gdb_hw__insert(struct gdb_stub *st, enum gdb_bp_type type, uint64_t addr, uint64_t len,
		   const char **why);
int gdb_hw__remove(struct gdb_stub *st, enum gdb_bp_type type, uint64_t addr, uint64_t len);

/* backend.c: registers the stub with the introspection core. */
int gdb_stub__attach_core(struct gdb_stub *st);
/* backend.c: all vCPUs parked (or the VM stopping); lock NOT held.  -ETIMEDOUT after 5 s. */
int gdb_stub__wait_parked(struct gdb_stub *st);
/* backend.c: asks for an all-stop with this reason unless one is already under way. */
void gdb_stub__request_stop(struct gdb_stub *st, const struct gdb_stop *why);
/* backend.c: removes every breakpoint and resumes all vCPUs. */
void gdb_stub__release(struct gdb_stub *st);

#endif
