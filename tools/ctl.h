/*
 * vmscope-ctl's one options struct and the row of its one command table
 * (vmscope-ctl.c), as kvmtool's kvm_commands[]: a new command is a row
 * there and one function in the file of its kind (ctl_live.c, ctl_linux.c,
 * ctl_linux_trace.c, ctl_api.c).
 */
#ifndef VMSCOPE_CTL_H
#define VMSCOPE_CTL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmscope/vmscope.h" /* with vmscope/linux.h */

/* What the command line's options said; no command writes them. */
struct ctl_opts {
	const char *socket;     /* --socket: a VM's introspection socket (or $VMSCOPE_SOCKET) */
	const char *api_socket; /* --api-socket: vmscope's REST API */
	const char *core, *raw; /* --core, --raw: a dump */
	struct vmscope_linux_opts linux_opts; /* --vmlinux, --system-map */
	const char *guest_elf;  /* --guest-elf */
	uint64_t cr3;           /* --cr3 (have_cr3) */
	unsigned vcpu;          /* --vcpu (have_vcpu); 0 by default */
	bool have_cr3, have_vcpu, json, hw;
	long max_events;        /* --count; -1: no limit */
	int timeout_ms;         /* --timeout; -1: none */
	uint32_t msrs[VMSCOPE_MAX_WATCHED_MSRS]; /* --msr */
	unsigned nr_msrs;
};

/*
 * Whose word a command is.  The options decide which family a command line
 * belongs to: --api-socket the REST API's; --core, --raw, --vmlinux or
 * --system-map the Linux views'; else a live command's, or a Linux view's
 * when no live command has the name.
 */
enum ctl_family { CTL_LIVE, CTL_LINUX, CTL_API };

/* What the dispatcher opens for a command, and closes after it. */
enum ctl_open {
	CTL_OPEN_NOTHING, /* it opens what it needs itself */
	CTL_OPEN_VM,      /* the VM of --socket, attached */
	CTL_OPEN_KERNEL,  /* the VM or dump of --socket, --core or --raw, and its Linux kernel */
};

struct ctl;

/*
 * A command's run returns its exit status, CTL_BAD_ARGS (its arguments are
 * wrong: its usage line, status 2), or -errno (the dispatcher prints the
 * target's last error, status 1).
 */
#define CTL_BAD_ARGS INT_MIN
typedef int ctl_run_fn(struct ctl *c, int argc, char **argv);

struct ctl_command {
	const char *name;
	enum ctl_family family;
	enum ctl_open open;
	int min_args, max_args;
	ctl_run_fn *run;
	const char *usage;        /* "NAME ARGS   what it does" for --help; NULL: not listed */
	const char *method, *path; /* a REST API verb's request */
};

/* One run of one command. */
struct ctl {
	const struct ctl_opts *o;
	const struct ctl_command *cmd;
	vmscope_t *vm;            /* CTL_OPEN_VM, CTL_OPEN_KERNEL */
	vmscope_linux_t *lx;      /* CTL_OPEN_KERNEL */
	long seen_events;
};

/* ctl_live.c: commands on a running VM. */
ctl_run_fn ctl_live__pause, ctl_live__resume, ctl_live__regs, ctl_live__read, ctl_live__write,
	ctl_live__translate, ctl_live__break, ctl_live__protect, ctl_live__events, ctl_live__stats,
	ctl_live__tasks, ctl_live__watch;
/* ctl_linux.c and ctl_linux_trace.c: the Linux views. */
ctl_run_fn ctl_linux__info, ctl_linux__ps, ctl_linux__lsmod, ctl_linux__dmesg, ctl_linux__syscalls,
	ctl_linux__cmdline, ctl_linux__read, ctl_linux__sym, ctl_linux__trace;
/* ctl_api.c: the REST API's verbs. */
ctl_run_fn ctl_api__request, ctl_api__create, ctl_api__coredump, ctl_api__not_yet;

#endif
