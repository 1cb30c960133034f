/*
 * One GDB session: turns packets into calls on a debugging backend
 * (struct gdb_target_ops) and backend stop events into stop replies.  It does
 * no I/O of its own: bytes come in through gdb_session__input and go out
 * through the write callback, so that tests can drive it with a fake CPU.
 */
#ifndef VMSCOPE_GDB_COMMANDS_H
#define VMSCOPE_GDB_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb/packet.h"
#include "gdb/regs.h"

#define GDB_MAX_VCPUS 256

/* What a vCPU does on resume (vCont actions). */
enum gdb_action { GDB_ACT_STOP = 0, GDB_ACT_CONT, GDB_ACT_STEP };

enum gdb_stop_kind {
	GDB_STOP_INTERRUPT, /* Ctrl-C or attach: SIGINT */
	GDB_STOP_SWBREAK,   /* a software breakpoint of ours (rip = its address) */
	GDB_STOP_STEP,      /* a single-step completed: SIGTRAP */
	GDB_STOP_EXITED,    /* the guest is gone; status is its exit status */
	GDB_STOP_HWBREAK,   /* a hardware breakpoint of ours (rip = its address) */
	GDB_STOP_WATCH,     /* a watchpoint of ours: addr, wp_type */
};

/* Z/z types. */
enum gdb_bp_type { GDB_BP_SW = 0, GDB_BP_HW = 1, GDB_WP_WRITE = 2, GDB_WP_READ = 3, GDB_WP_ACCESS = 4 };

struct gdb_stop {
	enum gdb_stop_kind kind;
	unsigned vcpu; /* which vCPU stopped, 0-based (thread id vcpu + 1) */
	int status;    /* GDB_STOP_EXITED */
	uint64_t addr; /* GDB_STOP_WATCH: the watched address that fired */
	enum gdb_bp_type wp_type; /* GDB_STOP_WATCH: GDB_WP_WRITE or GDB_WP_ACCESS */
};

/*
 * The backend.  Calls other than interrupt happen only while every vCPU is
 * stopped.  Errors are negative errno values.
 */
struct gdb_target_ops {
	unsigned (*nr_vcpus)(void *t);
	int (*get_regs)(void *t, unsigned vcpu, struct gdb_regs *regs);
	int (*set_regs)(void *t, unsigned vcpu, const struct gdb_regs *regs);
	/*
	 * Virtual-memory access through vcpu's page tables: returns how many
	 * bytes from va on were accessible (fewer than len at an unmapped
	 * page, 0 or a negative errno when none).
	 */
	long (*read_mem)(void *t, unsigned vcpu, uint64_t va, void *buf, size_t len);
	long (*write_mem)(void *t, unsigned vcpu, uint64_t va, const void *buf, size_t len);
	/* -EOPNOTSUPP (with *why set to a reason) when this host cannot. */
	int (*insert_bp)(void *t, unsigned vcpu, enum gdb_bp_type type, uint64_t va,
			 uint64_t kind, const char **why);
	int (*remove_bp)(void *t, unsigned vcpu, enum gdb_bp_type type, uint64_t va,
			 uint64_t kind);
	/*
	 * actions[i] for vCPU i; a stop is reported later through the session.
	 * A refusal may set *why (shown to the user).
	 */
	int (*resume)(void *t, const enum gdb_action *actions, const char **why);
	/* Asks running vCPUs to stop (any thread); a stop event follows. */
	void (*interrupt)(void *t);
	/* Removes our breakpoints and lets the guest run on. */
	void (*detach)(void *t);
	/* Ends the guest. */
	void (*kill)(void *t);
	/* 'monitor CMD': text into out; -ENOENT for an unknown command. */
	int (*monitor)(void *t, const char *cmd, char *out, size_t outsz);
};

typedef void (*gdb_write_fn)(void *opaque, const void *buf, size_t len);

enum gdb_session_state {
	GDB_SESSION_STOPPED, /* target stopped, we answer packets */
	GDB_SESSION_RUNNING, /* target running; only 0x03 is acted on */
	GDB_SESSION_CLOSED,  /* after D, k or the guest's exit: drop the connection */
};

struct gdb_session {
	const struct gdb_target_ops *ops;
	void *target;
	gdb_write_fn write;
	void *wopaque;

	enum gdb_session_state state;
	bool no_ack;
	bool swbreak_ok;    /* GDB said swbreak+ */
	bool hwbreak_ok;    /* GDB said hwbreak+ */
	unsigned g_vcpu;    /* Hg */
	unsigned c_vcpu;    /* Hc (or -1 = all: then c_all) */
	bool c_all;
	struct gdb_stop last_stop;
	bool interrupt_sent;
	unsigned long nr_bad_packets;

	struct gdb_rx rx;
	char reply[GDB_PACKET_MAX + 1];
	char out[2 * GDB_PACKET_MAX + 8]; /* framed: room for escapes */
	size_t out_len;                   /* last framed packet, for a NAK resend */
};

/* Starts a session with the target stopped; stop says where (for '?'). */
void gdb_session__init(struct gdb_session *s, const struct gdb_target_ops *ops, void *target,
		       gdb_write_fn write, void *wopaque, const struct gdb_stop *stop);

/* Handles bytes from GDB. */
void gdb_session__input(struct gdb_session *s, const void *data, size_t len);

/* Handles one complete packet body (used by input; exposed for tests). */
void gdb_session__packet(struct gdb_session *s, const char *pkt, size_t len);

/* The backend stopped (after resume or interrupt): sends the stop reply. */
void gdb_session__stopped(struct gdb_session *s, const struct gdb_stop *stop);

/* Sends a console message ('O' packet); only valid while running. */
void gdb_session__console(struct gdb_session *s, const char *text);

#endif
