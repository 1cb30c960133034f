/*
 * vmscope-ctl: a command-line client of vmscope, built on libvmscope.  This
 * file holds the one command table, reads the options into the one options
 * struct (ctl.h), opens what a command needs, runs it and closes it again.
 * The commands themselves live in a file per kind: ctl_live.c (a running
 * VM), ctl_linux.c and ctl_linux_trace.c (Linux guests, on a dump or live),
 * ctl_api.c (vmscope's REST API).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_num.h"

#define LIVE(name, min, max, fn, usage) { name, CTL_LIVE, CTL_OPEN_VM, min, max, fn, usage, NULL, NULL }
#define VIEW(name, n, fn, usage) { name, CTL_LINUX, CTL_OPEN_KERNEL, n, n, fn, usage, NULL, NULL }
#define API(name, min, max, fn, method, path, usage) \
	{ name, CTL_API, CTL_OPEN_NOTHING, min, max, fn, usage, method, path }
#define API_LATER(name) { name, CTL_API, CTL_OPEN_NOTHING, 0, INT_MAX, ctl_api__not_yet, NULL, NULL, NULL }

static const struct ctl_command commands[] = {
	LIVE("pause", 0, 0, ctl_live__pause,
	     "pause | resume                 stop or restart all vCPUs (--vcpu N: one)"),
	LIVE("resume", 0, 0, ctl_live__resume, NULL),
	LIVE("regs", 0, 0, ctl_live__regs,
	     "regs                           registers of --vcpu N (default 0; pauses briefly)"),
	LIVE("read", 2, 2, ctl_live__read,
	     "read ADDR LEN                  hex dump; physical, or virtual with --cr3 X"),
	LIVE("write", 2, 2, ctl_live__write,
	     "write ADDR HEXBYTES            write bytes; physical, or virtual with --cr3 X"),
	LIVE("translate", 2, 2, ctl_live__translate,
	     "translate CR3 VA               virtual to physical"),
	LIVE("break", 1, 1, ctl_live__break,
	     "break ADDR                     breakpoint (virtual with --cr3), print hits;\n"
	     "                                 --hw: a debug register, guest memory untouched"),
	LIVE("protect", 1, 1, ctl_live__protect,
	     "protect ADDR                   protect the page of ADDR (virtual with --cr3): print\n"
	     "                                 every write to it (the writes still happen)"),
	LIVE("events", 0, VMSCOPE_EV_NR, ctl_live__events,
	     "events [KIND...]               stream events (default: all async kinds); --json;\n"
	     "                                 msr-read and msr-write need --msr INDEX[,INDEX...]"),
	LIVE("stats", 0, 0, ctl_live__stats,
	     "stats                          exit counts by kind, per vCPU"),
	LIVE("tasks", 0, 0, ctl_live__tasks,
	     "tasks                          the test guest's task table (--guest-elf PATH)"),
	LIVE("watch", 0, 3, ctl_live__watch,
	     "watch ADDR LEN [w|rw]          hardware watchpoint on LEN (1, 2, 4, 8) bytes, writes\n"
	     "                                 (w, default) or reads and writes (rw; x86 has no\n"
	     "                                 read-only watch): each hit with RIP, old and new value\n"
	     "  watch                          follow the test guest: its system-call entry (LSTAR),\n"
	     "                                 every system call with its task, the task table"),

	VIEW("info", 0, ctl_linux__info,
	     "info                           what was found about the kernel, and how"),
	VIEW("ps", 0, ctl_linux__ps,
	     "ps                             processes: pid, parent, state, user ids, page-table root"),
	VIEW("lsmod", 0, ctl_linux__lsmod,
	     "lsmod                          loaded modules, as /proc/modules"),
	VIEW("dmesg", 0, ctl_linux__dmesg,
	     "dmesg                          the kernel log buffer"),
	VIEW("cmdline", 1, ctl_linux__cmdline,
	     "cmdline PID                    a process's command line, read from its memory"),
	VIEW("read", 3, ctl_linux__read,
	     "read PID VA LEN                hex dump of a process's memory (with --core/--raw)"),
	VIEW("syscalls", 0, ctl_linux__syscalls,
	     "syscalls                       the kernel's system-call table"),
	VIEW("sym", 1, ctl_linux__sym,
	     "sym NAME                       run-time address of a kernel symbol"),
	{ "trace", CTL_LINUX, CTL_OPEN_NOTHING, 0, 1, ctl_linux__trace,
	  "trace [SECONDS]                trace a live guest's system calls (--hw: with a\n"
	  "                                 debug register, kernel text untouched)", NULL, NULL },

	API("ping", 0, 0, ctl_api__request, "GET", "vmm.ping",
	    "ping                           vmscope's version and pid (JSON)"),
	API("create", 0, 1, ctl_api__create, "PUT", "vm.create",
	    "create [FILE]                  create the VM from a VmConfig JSON file (- or none: stdin)"),
	API("boot", 0, 0, ctl_api__request, "PUT", "vm.boot",
	    "boot                           boot the created VM"),
	API("info", 0, 0, ctl_api__request, "GET", "vm.info",
	    "info                           configuration and state (JSON)"),
	API("counters", 0, 0, ctl_api__request, "GET", "vm.counters",
	    "counters                       device counters, vCPU exits (JSON)"),
	API("pause", 0, 0, ctl_api__request, "PUT", "vm.pause",
	    "pause                          pause every vCPU"),
	API("resume", 0, 0, ctl_api__request, "PUT", "vm.resume",
	    "resume                         resume every vCPU"),
	API("shutdown", 0, 0, ctl_api__request, "PUT", "vm.shutdown",
	    "shutdown                       stop the guest; vmscope stays (boot, delete)"),
	API("delete", 0, 0, ctl_api__request, "PUT", "vm.delete",
	    "delete                         stop the guest if it runs, forget the VM"),
	API("reboot", 0, 0, ctl_api__request, "PUT", "vm.reboot",
	    "reboot                         stop with the reset status (4)"),
	API("power-button", 0, 0, ctl_api__request, "PUT", "vm.power-button",
	    "power-button                   press the ACPI power button"),
	API("coredump", 1, 1, ctl_api__coredump, "PUT", "vm.coredump",
	    "coredump FILE                  ELF core of the paused VM (FILE or file:///PATH)"),
	API("shutdown-vmm", 0, 0, ctl_api__request, "PUT", "vmm.shutdown",
	    "shutdown-vmm                   stop the guest and vmscope"),
	API("vmm-shutdown", 0, 0, ctl_api__request, "PUT", "vmm.shutdown", NULL), /* the older name */
	/* ch-remote's verbs for what vmscope's API does not serve yet. */
	API_LATER("add-device"), API_LATER("add-disk"), API_LATER("add-fs"), API_LATER("add-net"),
	API_LATER("add-pmem"), API_LATER("add-user-device"), API_LATER("add-vdpa"),
	API_LATER("add-vsock"), API_LATER("nmi"), API_LATER("receive-migration"),
	API_LATER("remove-device"), API_LATER("resize"), API_LATER("resize-disk"),
	API_LATER("resize-zone"), API_LATER("restore"), API_LATER("send-migration"),
	API_LATER("snapshot"),
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void list_family(FILE *f, enum ctl_family family)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (commands[i].family == family && commands[i].usage)
			fprintf(f, "  %s\n", commands[i].usage);
}

static void usage(FILE *f)
{
	fputs("Usage: vmscope-ctl --socket PATH [options] COMMAND [ARGS]\n"
	      "Commands:\n", f);
	list_family(f, CTL_LIVE);
	fputs("Options: --socket PATH, --vcpu N, --cr3 X, --json, --count N, --timeout MS,\n"
	      "         --guest-elf PATH, --hw, --msr INDEX[,INDEX...]\n"
	      "A hardware breakpoint or watchpoint takes a virtual address with --cr3 X (any X:\n"
	      "debug registers watch linear addresses), else a physical one, looked up in vCPU 0's\n"
	      "page tables.\n"
	      "Linux guests: on a dump (--core FILE, --raw FILE) or live (--socket PATH), with\n"
	      "[--vmlinux FILE] [--system-map FILE] [--json]:\n", f);
	list_family(f, CTL_LINUX);
	fputs("REST API commands (--api-socket PATH), as ch-remote names them:\n", f);
	list_family(f, CTL_API);
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

/* --msr INDEX[,INDEX...]: the MSRs that MSR events are for. */
static int parse_msrs(const char *list, struct ctl_opts *o)
{
	char buf[256], *save = NULL;
	uint64_t v;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nr_msrs == VMSCOPE_MAX_WATCHED_MSRS || ctl__parse_u64(t, UINT32_MAX, &v)) {
			fprintf(stderr, "vmscope-ctl: --msr: '%s': at most %d MSR indexes of 32 bits\n",
				t, VMSCOPE_MAX_WATCHED_MSRS);
			return -1;
		}
		o->msrs[o->nr_msrs++] = (uint32_t)v;
	}
	return o->nr_msrs ? 0 : -1;
}

enum { OPT_API_SOCKET = 256, OPT_CORE, OPT_RAW, OPT_VMLINUX, OPT_SYSTEM_MAP, OPT_HW };

static int bad_number(const char *option, const char *value)
{
	fprintf(stderr, "vmscope-ctl: %s: '%s' is not a number in range\n", option, value);
	return -1;
}

/*
 * Reads every option, wherever it stands, into o; the command and its
 * arguments are left at argv[optind...].  Returns -1 after saying what is
 * wrong, 1 when --help or --version was answered, else 0.
 */
static int parse_options(int argc, char **argv, struct ctl_opts *o)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "vcpu", required_argument, NULL, 'c' },
		{ "cr3", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "guest-elf", required_argument, NULL, 'g' },
		{ "msr", required_argument, NULL, 'm' },
		{ "hw", no_argument, NULL, OPT_HW },
		{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
		{ "core", required_argument, NULL, OPT_CORE },
		{ "raw", required_argument, NULL, OPT_RAW },
		{ "vmlinux", required_argument, NULL, OPT_VMLINUX },
		{ "system-map", required_argument, NULL, OPT_SYSTEM_MAP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:c:r:jn:t:g:m:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': o->socket = optarg; break;
		case 'c':
			if (ctl__parse_u64(optarg, VMSCOPE_MAX_VCPUS - 1, &v))
				return bad_number("--vcpu", optarg);
			o->vcpu = (unsigned)v, o->have_vcpu = true;
			break;
		case 'r':
			if (ctl__parse_u64(optarg, UINT64_MAX, &o->cr3))
				return bad_number("--cr3", optarg);
			o->have_cr3 = true;
			break;
		case 'j': o->json = true; break;
		case 'n':
			if (ctl__parse_u64(optarg, LONG_MAX, &v))
				return bad_number("--count", optarg);
			o->max_events = (long)v;
			break;
		case 't':
			if (ctl__parse_u64(optarg, 86400000, &v))
				return bad_number("--timeout (ms, at most a day)", optarg);
			o->timeout_ms = (int)v;
			break;
		case 'g': o->guest_elf = optarg; break;
		case 'm': if (parse_msrs(optarg, o)) return -1; break;
		case OPT_HW: o->hw = true; break;
		case OPT_API_SOCKET: o->api_socket = optarg; break;
		case OPT_CORE: o->core = optarg; break;
		case OPT_RAW: o->raw = optarg; break;
		case OPT_VMLINUX: o->linux_opts.vmlinux = optarg; break;
		case OPT_SYSTEM_MAP: o->linux_opts.system_map = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("vmscope-ctl " VMSCOPE_VERSION "\n"); return 1;
		default: return -1; /* getopt_long said what */
		}
	}
	if (!o->socket && !o->core && !o->raw)
		o->socket = getenv("VMSCOPE_SOCKET");
	return 0;
}

static const struct ctl_command *find(const char *name, enum ctl_family family)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (commands[i].family == family && strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The command a command line names: the options decide whose word it is (ctl.h). */
static const struct ctl_command *command_of(const char *name, const struct ctl_opts *o)
{
	const struct ctl_command *cmd;

	if (o->api_socket)
		return find(name, CTL_API);
	if (o->core || o->raw || o->linux_opts.vmlinux || o->linux_opts.system_map)
		return find(name, CTL_LINUX);
	cmd = find(name, CTL_LIVE);
	return cmd ? cmd : find(name, CTL_LINUX);
}

/* One line for a command whose arguments are wrong (its usage up to the help text); status 2. */
static int bad_args(const struct ctl_command *cmd)
{
	const char *u = cmd->usage ? cmd->usage : cmd->name;
	const char *end = strstr(u, "  ");

	fprintf(stderr, "vmscope-ctl: usage: vmscope-ctl [options] %.*s\n",
		end ? (int)(end - u) : (int)strlen(u), u);
	return 2;
}

/* Opens what cmd needs into c; an exit status when it cannot (after saying why), else 0. */
static int open_target(struct ctl *c)
{
	const struct ctl_opts *o = c->o;
	int err = 0;

	if (c->cmd->open == CTL_OPEN_VM) {
		if (!o->socket) {
			fprintf(stderr, "vmscope-ctl: %s needs a running VM: --socket PATH\n",
				c->cmd->name);
			return 2;
		}
		c->vm = vmscope_attach(o->socket, &err);
		if (!c->vm) {
			fprintf(stderr, "vmscope-ctl: attach %s: %s\n", o->socket,
				vmscope_last_error(NULL));
			return 1;
		}
		return 0;
	}
	if (c->cmd->open != CTL_OPEN_KERNEL)
		return 0;
	if (!!o->core + !!o->raw + !!o->socket != 1) {
		fprintf(stderr, "vmscope-ctl: %s needs one of --core FILE, --raw FILE or "
				"--socket PATH\n", c->cmd->name);
		return 2;
	}
	c->vm = o->core ? vmscope_open_core(o->core, &err)
		: o->raw ? vmscope_open_raw(o->raw, &err) : vmscope_attach(o->socket, &err);
	if (!c->vm) {
		fprintf(stderr, "vmscope-ctl: %s: %s\n", o->core ? o->core : o->raw ? o->raw : o->socket,
			vmscope_last_error(NULL)[0] ? vmscope_last_error(NULL) : strerror(-err));
		return 1;
	}
	c->lx = vmscope_linux_open(c->vm, &o->linux_opts, &err);
	if (!c->lx) {
		fprintf(stderr, "vmscope-ctl: no Linux kernel found: %s\n",
			vmscope_last_error(c->vm)[0] ? vmscope_last_error(c->vm) : strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl_opts o = { .max_events = -1, .timeout_ms = -1 };
	struct ctl c = { .o = &o };
	int status, nargs;

	status = parse_options(argc, argv, &o);
	if (status)
		return status > 0 ? 0 : 2;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	c.cmd = command_of(argv[optind], &o);
	if (!c.cmd) {
		fprintf(stderr, "vmscope-ctl: unknown %scommand '%s' (vmscope-ctl --help lists them)\n",
			o.api_socket ? "API " : "", argv[optind]);
		return 2;
	}
	nargs = argc - optind - 1;
	if (nargs < c.cmd->min_args || nargs > c.cmd->max_args)
		return bad_args(c.cmd);
	status = open_target(&c);
	if (status == 0) {
		status = c.cmd->run(&c, nargs, argv + optind + 1);
		if (status == CTL_BAD_ARGS) {
			status = bad_args(c.cmd);
		} else if (status < 0) {
			fprintf(stderr, "vmscope-ctl: %s: %s\n", c.cmd->name,
				c.vm && vmscope_last_error(c.vm)[0] ? vmscope_last_error(c.vm)
								    : strerror(-status));
			status = 1;
		}
	}
	vmscope_linux_close(c.lx);
	vmscope_close(c.vm);
	return status;
}
