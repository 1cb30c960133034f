/*
 * vmscope-ctl: a command-line client of vmscope, built on libvmscope.  This
 * file holds the usage and sends each command line to its front end: the
 * REST API's verbs (--api-socket, ctl_api.c), the Linux views (on a dump or
 * live, ctl_linux.c), or the live commands on a VM's introspection socket
 * (ctl_live.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmscope/vmscope.h"

#include "ctl_api.h"
#include "ctl_linux.h"
#include "ctl_live.h"

static void usage(FILE *f)
{
	fputs("Usage: vmscope-ctl --socket PATH [options] COMMAND [ARGS]\n"
	      "Commands:\n"
	      "  pause | resume                 stop or restart all vCPUs (--vcpu N: one)\n"
	      "  regs                           registers of --vcpu N (default 0; pauses briefly)\n"
	      "  read ADDR LEN                  hex dump; physical, or virtual with --cr3 X\n"
	      "  write ADDR HEXBYTES            write bytes; physical, or virtual with --cr3 X\n"
	      "  translate CR3 VA               virtual to physical\n"
	      "  break ADDR                     breakpoint (virtual with --cr3), print hits;\n"
	      "                                 --hw: a debug register, guest memory untouched\n"
	      "  protect ADDR                   protect the page of ADDR (virtual with --cr3): print\n"
	      "                                 every write to it (the writes still happen)\n"
	      "  events [KIND...]               stream events (default: all async kinds); --json;\n"
	      "                                 msr-read and msr-write need --msr INDEX[,INDEX...]\n"
	      "  stats                          exit counts by kind, per vCPU\n"
	      "  tasks                          the test guest's task table (--guest-elf PATH)\n"
	      "  watch ADDR LEN [w|rw]          hardware watchpoint on LEN (1, 2, 4, 8) bytes, writes\n"
	      "                                 (w, default) or reads and writes (rw; x86 has no\n"
	      "                                 read-only watch): each hit with RIP, old and new value\n"
	      "  watch                          follow the test guest: its system-call entry (LSTAR),\n"
	      "                                 every system call with its task, the task table\n"
	      "Options: --socket PATH, --vcpu N, --cr3 X, --json, --count N, --timeout MS,\n"
	      "         --guest-elf PATH, --hw, --msr INDEX[,INDEX...]\n"
	      "A hardware breakpoint or watchpoint takes a virtual address with --cr3 X (any X:\n"
	      "debug registers watch linear addresses), else a physical one, looked up in vCPU 0's\n"
	      "page tables.\n"
	      "Linux guests: on a dump (--core FILE, --raw FILE) or live (--socket PATH), with\n"
	      "[--vmlinux FILE] [--system-map FILE] [--json]:\n"
	      "  info                           what was found about the kernel, and how\n"
	      "  ps                             processes: pid, parent, state, user ids, page-table root\n"
	      "  lsmod                          loaded modules, as /proc/modules\n"
	      "  dmesg                          the kernel log buffer\n"
	      "  cmdline PID                    a process's command line, read from its memory\n"
	      "  read PID VA LEN                hex dump of a process's memory (with --core/--raw)\n"
	      "  syscalls                       the kernel's system-call table\n"
	      "  sym NAME                       run-time address of a kernel symbol\n"
	      "  trace [SECONDS]                trace a live guest's system calls (--hw: with a\n"
	      "                                 debug register, kernel text untouched)\n", f);
	ctl_api__usage(f);
	fputs("Options may stand before or after the command.\n"
	      "\n"
	      "Examples:\n"
	      "  vmscope-ctl --socket /tmp/vm.sock watch\n"
	      "                                 follow the test guest's system calls (vmscope\n"
	      "                                 started with --vmi-socket /tmp/vm.sock --vmi-wait)\n"
	      "  vmscope-ctl --socket /tmp/vm.sock events io msr-write --msr 0xc0000082 --json\n"
	      "                                 stream its port I/O and its LSTAR writes as JSON\n"
	      "  vmscope-ctl --socket /tmp/vm.sock ps\n"
	      "                                 the processes of a running Linux guest\n"
	      "  vmscope-ctl --core guest.core ps\n"
	      "                                 the same in a core dump\n", f);
}

static bool takes_value(const char *arg)
{
	static const char *const with_value[] = {
		"--socket", "--vcpu", "--cr3", "--count", "--timeout", "--guest-elf", "--api-socket",
		"--core", "--raw", "--vmlinux", "--system-map", "--msr", "-s", "-c", "-r", "-n", "-t",
		"-g",
	};

	for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
		if (strcmp(arg, with_value[k]) == 0)
			return true;
	return false;
}

/*
 * The arguments that are neither options nor options' values, in order,
 * gathered into out (which has room for argc): the command word and its
 * arguments, wherever the options stand.  Returns how many.
 */
static int positional_args(int argc, char **argv, char **out)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				out[n++] = argv[i];
			break;
		}
		if (argv[i][0] != '-')
			out[n++] = argv[i];
		else
			i += takes_value(argv[i]);
	}
	return n;
}

/* Where the command word is: the first positional argument (-1 when there is none). */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			return i;
		i += takes_value(argv[i]);
	}
	return -1;
}

/* The value of --api-socket (as "--api-socket PATH" or "--api-socket=PATH"), or NULL. */
static const char *api_socket_option(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--api-socket") == 0)
			return i + 1 < argc ? argv[i + 1] : "";
		if (strncmp(argv[i], "--api-socket=", 13) == 0)
			return argv[i] + 13;
	}
	return NULL;
}

/*
 * Linux views belong to ctl_linux.c: its commands, and anything on a dump or
 * image (--core, --raw) or given kernel symbols (--vmlinux, --system-map).
 */
static bool is_linux_command_line(int argc, char **argv)
{
	static const char *const linux_words[] = {
		"info", "ps", "lsmod", "dmesg", "cmdline", "syscalls", "sym", "trace",
		"--core", "--raw", "--vmlinux", "--system-map",
	};
	int ci = command_index(argc, argv);
	const char *cmd = ci < 0 ? NULL : argv[ci];

	for (size_t k = 0; k < sizeof(linux_words) / sizeof(linux_words[0]); k++) {
		if (cmd && strcmp(cmd, linux_words[k]) == 0)
			return true;
		for (int i = 1; i < argc && linux_words[k][0] == '-'; i++)
			if (strcmp(argv[i], linux_words[k]) == 0)
				return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *api_socket = api_socket_option(argc, argv);
	int status;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("vmscope-ctl " VMSCOPE_VERSION "\n");
			return 0;
		}
		i += takes_value(argv[i]);
	}
	/* The REST API (--api-socket) and the Linux views have their own verbs. */
	if (api_socket) {
		char *args[argc > 0 ? argc : 1];
		int n = positional_args(argc, argv, args);

		if (!api_socket[0] || n == 0) {
			usage(stderr);
			return 2;
		}
		return ctl_api__run(api_socket, args[0], n - 1, args + 1);
	}
	if (is_linux_command_line(argc, argv))
		return ctl_linux(argc, argv);
	status = ctl_live(argc, argv);
	if (status == CTL_LIVE_USAGE) {
		usage(stderr);
		return 2;
	}
	return status;
}
