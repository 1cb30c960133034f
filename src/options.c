/*
 * Command-line parsing and validation: the option table and loop, --cpus,
 * --memory and --help here; the device options in options_devices.c, the
 * controllers' (--vmi-timeout, --api-socket, --gdb) in options_control.c.
 * Nothing past parsing reads argv.  The syntax follows
 * Cloud Hypervisor: long options take "--opt VALUE" or "--opt=VALUE", and
 * device-like options take key=value,... groups (split by keyval.c).  Options
 * and keys that Cloud Hypervisor has but vmscope does not implement yet are
 * recognised and refused as "not supported yet", never as unknown.
 */
#include "options.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keyval.h"
#include "log.h"
#include "memmap.h"
#include "options_parse.h"
#include "util.h"

#ifndef VMSCOPE_VERSION
#define VMSCOPE_VERSION "0.0.0"
#endif

#define CPUS_LIMIT 4096 /* sanity bound; the host's KVM limit is checked at VM creation */
#define PAGE_SIZE_4K 4096u

enum opt_id {
	OPT_KERNEL,
	OPT_INITRAMFS,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_SERIAL,
	OPT_CONSOLE,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_LOG_LEVEL,
	OPT_NO_HOST_QUIRKS,
	OPT_IRQCHIP,
	OPT_VMI_SOCKET,
	OPT_VMI_TIMEOUT,
	OPT_VMI_WAIT,
	OPT_GDB,
	OPT_API_SOCKET,
	OPT_SECCOMP,
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT
};
_Static_assert(OPT_COUNT <= 32, "options_builder.seen has one bit per option");

struct opt_desc {
	const char *name; /* without the leading "--" */
	enum opt_id id;
	bool has_value;
};

static const struct opt_desc opt_table[] = {
	{ "kernel", OPT_KERNEL, true },
	{ "initramfs", OPT_INITRAMFS, true },
	{ "cmdline", OPT_CMDLINE, true },
	{ "cpus", OPT_CPUS, true },
	{ "memory", OPT_MEMORY, true },
	{ "serial", OPT_SERIAL, true },
	{ "console", OPT_CONSOLE, true },
	{ "disk", OPT_DISK, true },
	{ "net", OPT_NET, true },
	{ "rng", OPT_RNG, true }, /* the value is optional */
	{ "log-level", OPT_LOG_LEVEL, true },
	{ "no-host-quirks", OPT_NO_HOST_QUIRKS, false },
	{ "irqchip", OPT_IRQCHIP, true },
	{ "vmi-socket", OPT_VMI_SOCKET, true },
	{ "vmi-timeout", OPT_VMI_TIMEOUT, true },
	{ "vmi-wait", OPT_VMI_WAIT, false },
	{ "gdb", OPT_GDB, true },
	{ "api-socket", OPT_API_SOCKET, true },
	{ "seccomp", OPT_SECCOMP, true },
	{ "help", OPT_HELP, false },
	{ "version", OPT_VERSION, false },
};

/* Cloud Hypervisor options that belong to later work. */
static const char *const opt_later[] = {
	"balloon", "debug-console", "device", "event-monitor",
	"firmware", "fs", "host-data", "landlock", "landlock-rules", "log-file",
	"memory-zone", "numa", "pci-segment", "platform", "pmem", "pvpanic",
	"rate-limit-group", "restore", "sgx-epc", "tpm", "user-device",
	"vdpa", "vsock", "watchdog",
};

/* Cloud Hypervisor keys of --cpus and --memory that vmscope does not implement yet. */
static const char *const cpus_later[] = {
	"topology", "kvm_hyperv", "max_phys_bits", "affinity", "features", "nested",
	"core_scheduling", "profile",
};
static const char *const memory_later[] = {
	"file", "mergeable", "hotplug_method", "hotplug_size", "hotplugged_size", "hugepages",
	"hugepage_size", "prefault", "reserve", "thp",
};

/* --cpus boot=N[,max=M] */
static enum options_result parse_cpus(const char *val, struct vm_config *cfg,
				      char *err, size_t errlen)
{
	struct keyval_group g;
	uint64_t boot = cfg->cpus_boot, max = 0;
	bool have_max = false;

	if (opt__split("cpus", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (keyval__key_is(it, "boot")) {
			if (opt__parse_count("cpus", it, 1, CPUS_LIMIT, &boot, err, errlen))
				return OPTIONS_ERROR;
		} else if (keyval__key_is(it, "max")) {
			if (opt__parse_count("cpus", it, 1, CPUS_LIMIT, &max, err, errlen))
				return OPTIONS_ERROR;
			have_max = true;
		} else if (opt__key_in(it, cpus_later, ARRAY_SIZE(cpus_later))) {
			return opt__fail(err, errlen, "--cpus: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		} else {
			return opt__fail(err, errlen, "--cpus: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		}
	}
	/*
	 * max is Cloud Hypervisor's ceiling for CPU hotplug.  vmscope has no
	 * hotplug (nor the API socket that would request it), so a valid max
	 * changes nothing and is not stored.
	 */
	if (have_max && max < boot)
		return opt__fail(err, errlen, "--cpus: max=%llu is less than boot=%llu",
			    (unsigned long long)max, (unsigned long long)boot);
	cfg->cpus_boot = (unsigned)boot;
	return OPTIONS_OK;
}

/* --memory size=SIZE[,shared=on] */
static enum options_result parse_memory(const char *val, struct vm_config *cfg,
					char *err, size_t errlen)
{
	struct keyval_group g;

	if (opt__split("memory", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];
		uint64_t size;
		bool on;

		if (keyval__key_is(it, "size")) {
			if (opt__check_arity("memory", it, true, err, errlen))
				return OPTIONS_ERROR;
			if (keyval__parse_size(it->val, it->val_len, &size))
				return opt__fail(err, errlen, "--memory: invalid size '" ITEM_FMT "'",
					    ITEM_VAL(it));
			if (size % PAGE_SIZE_4K)
				return opt__fail(err, errlen,
					    "--memory: size '" ITEM_FMT "' is not a multiple of 4K",
					    ITEM_VAL(it));
			if (size < MEMMAP_MIN_RAM)
				return opt__fail(err, errlen,
					    "--memory: size '" ITEM_FMT "' is below the minimum of %lluM",
					    ITEM_VAL(it), (unsigned long long)(MEMMAP_MIN_RAM / MiB));
			cfg->memory_size = size;
		} else if (keyval__key_is(it, "shared")) {
			if (opt__check_arity("memory", it, true, err, errlen))
				return OPTIONS_ERROR;
			if (keyval__parse_toggle(it->val, it->val_len, &on))
				return opt__fail(err, errlen, "--memory: invalid toggle '" ITEM_FMT
					    "' for shared (on|off)", ITEM_VAL(it));
			/* Guest RAM is always a shared memfd (introspection clients map it). */
			if (!on)
				return opt__fail(err, errlen, "--memory: shared=" ITEM_FMT
					    " not supported (guest RAM is always shared)",
					    ITEM_VAL(it));
		} else if (opt__key_in(it, memory_later, ARRAY_SIZE(memory_later))) {
			return opt__fail(err, errlen, "--memory: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		} else {
			return opt__fail(err, errlen, "--memory: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
		}
	}
	return OPTIONS_OK;
}

/* Applies one recognised option with its value (NULL for flags). */
static enum options_result apply(const struct opt_desc *o, const char *val,
				 struct vm_config *cfg, char *err, size_t errlen)
{
	int level;

	/* Paths and numbers must not be empty; an empty --cmdline is a real choice. */
	if (val && *val == '\0' && o->id != OPT_CMDLINE)
		return opt__fail(err, errlen, "--%s: empty value", o->name);

	switch (o->id) {
	case OPT_KERNEL:
		cfg->kernel = val;
		break;
	case OPT_INITRAMFS:
		cfg->initramfs = val;
		break;
	case OPT_CMDLINE:
		cfg->cmdline = val; /* its length is checked by the loader */
		break;
	case OPT_CPUS:
		return parse_cpus(val, cfg, err, errlen);
	case OPT_MEMORY:
		return parse_memory(val, cfg, err, errlen);
	case OPT_SERIAL:
		return opt__serial(val, cfg, err, errlen);
	case OPT_CONSOLE:
		return opt__console(val, cfg, err, errlen);
	case OPT_DISK:
		return opt__disk(val, cfg, err, errlen);
	case OPT_NET:
		return opt__net(val, cfg, err, errlen);
	case OPT_RNG:
		return opt__rng(val, cfg, err, errlen);
	case OPT_LOG_LEVEL:
		level = log_level_parse(val);
		if (level < 0)
			return opt__fail(err, errlen,
				    "--log-level: invalid level '%s' (error|warn|info|debug)", val);
		cfg->log_level = level;
		break;
	case OPT_NO_HOST_QUIRKS:
		cfg->host_quirks = false;
		break;
	case OPT_IRQCHIP:
		if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
			return opt__fail(err, errlen, "--irqchip: expected on or off, not '%s'", val);
		cfg->no_irqchip = strcmp(val, "off") == 0;
		break;
	case OPT_VMI_SOCKET:
		cfg->vmi_socket = val;
		break;
	case OPT_VMI_TIMEOUT:
		return opt__vmi_timeout(val, cfg, err, errlen);
	case OPT_VMI_WAIT:
		cfg->vmi_wait = true;
		break;
	case OPT_API_SOCKET:
		return opt__api_socket(val, cfg, err, errlen);
	case OPT_GDB:
		return opt__gdb(val, cfg, err, errlen);
	case OPT_SECCOMP:
		if (strcmp(val, "true") == 0)
			cfg->seccomp = SECCOMP_ON;
		else if (strcmp(val, "log") == 0)
			cfg->seccomp = SECCOMP_LOG;
		else if (strcmp(val, "false") == 0)
			cfg->seccomp = SECCOMP_OFF;
		else
			return opt__fail(err, errlen, "--seccomp: expected true, false or log, not '%s'",
				    val);
		break;
	case OPT_HELP:
		options__usage(stdout);
		return OPTIONS_EXIT;
	case OPT_VERSION:
		printf("vmscope %s\n", VMSCOPE_VERSION);
		return OPTIONS_EXIT;
	case OPT_COUNT:
		break;
	}
	return OPTIONS_OK;
}

/* Virtio devices interrupt through the in-kernel irqchip: --irqchip off has none. */
static enum options_result check_irqchip_off(struct vm_config *cfg, bool console_given,
					     char *err, size_t errlen)
{
	const char *needs = NULL;

	if (!cfg->no_irqchip)
		return OPTIONS_OK;
	if (cfg->nr_disks)
		needs = "--disk";
	else if (cfg->nr_nets)
		needs = "--net";
	else if (cfg->rng)
		needs = "--rng";
	else if (console_given && cfg->console != CONSOLE_OFF)
		needs = "--console";
	if (needs)
		return opt__fail(err, errlen,
			    "%s: a virtio device needs interrupts, which --irqchip off removes", needs);
	cfg->console = CONSOLE_OFF; /* the default virtio console goes with them */
	return OPTIONS_OK;
}

static const struct opt_desc *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strlen(opt_table[i].name) == len && memcmp(opt_table[i].name, name, len) == 0)
			return &opt_table[i];
	return NULL;
}

static bool is_later_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_later); i++)
		if (strlen(opt_later[i]) == len && memcmp(opt_later[i], name, len) == 0)
			return true;
	return false;
}

/* "-v", "-vv", ...: how many v's, or 0 when arg is something else. */
static int count_verbose(const char *arg)
{
	int n = 0;

	if (arg[0] != '-')
		return 0;
	for (arg++; *arg == 'v'; arg++)
		n++;
	return *arg == '\0' ? n : 0;
}

void options__begin(struct options_builder *b, struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.cpus_boot = 1,
		.memory_size = 512 * MiB,
		.serial = SERIAL_TTY,
		.console = CONSOLE_TTY,
		.log_level = LOG_WARN,
		.host_quirks = true,
		.vmi_timeout_ms = 5000,
		.api_socket_fd = -1,
	};
	*b = (struct options_builder){ .cfg = cfg };
}

/* Devices may be repeated: "--disk A --disk B" or "--disk A B". */
static bool repeatable(const struct opt_desc *o)
{
	return o->id == OPT_DISK || o->id == OPT_NET;
}

static enum options_result options__apply(struct options_builder *b, const struct opt_desc *o,
					  const char *val, char *err, size_t errlen)
{
	if ((b->seen & (1u << o->id)) && !repeatable(o))
		return opt__fail(err, errlen, "--%s: given more than once", o->name);
	b->seen |= 1u << o->id;
	return apply(o, val, b->cfg, err, errlen);
}

enum options_result options__set(struct options_builder *b, const char *name, const char *val,
				 char *err, size_t errlen)
{
	const struct opt_desc *o = find_opt(name, strlen(name));

	if (!o && is_later_opt(name, strlen(name)))
		return opt__fail(err, errlen, "--%s: not supported yet", name);
	if (!o)
		return opt__fail(err, errlen, "unknown option '--%s'", name);
	if (!val && o->has_value && o->id != OPT_RNG)
		return opt__fail(err, errlen, "--%s: missing value", o->name);
	if (val && !o->has_value)
		return opt__fail(err, errlen, "--%s: takes no value", o->name);
	return options__apply(b, o, val, err, errlen);
}

/* The options that describe the VM (not the process): vm.create's body gives them instead. */
static const enum opt_id vm_opts[] = {
	OPT_INITRAMFS, OPT_CMDLINE, OPT_CPUS, OPT_MEMORY, OPT_SERIAL, OPT_CONSOLE, OPT_DISK,
	OPT_NET, OPT_RNG, OPT_NO_HOST_QUIRKS, OPT_IRQCHIP, OPT_VMI_SOCKET, OPT_VMI_TIMEOUT,
	OPT_VMI_WAIT, OPT_GDB,
};

enum options_result options__end(struct options_builder *b, char *err, size_t errlen)
{
	struct vm_config *cfg = b->cfg;

	/* With the API and no kernel, vm.create makes the VM: a VM option here would be lost. */
	if (config__has_api_socket(cfg) && !cfg->kernel) {
		for (size_t i = 0; i < ARRAY_SIZE(vm_opts); i++) {
			const struct opt_desc *o = &opt_table[0];

			if (!(b->seen & (1u << vm_opts[i])))
				continue;
			while (o->id != vm_opts[i])
				o++;
			return opt__fail(err, errlen,
				    "--%s: with --api-socket and no --kernel the VM is made by the "
				    "API's vm.create, from its body: give it there (or boot from the "
				    "command line with --kernel)", o->name);
		}
	}

	if (cfg->vmi_wait && !cfg->vmi_socket)
		return opt__fail(err, errlen, "--vmi-wait: needs --vmi-socket");
	/*
	 * A kernel of the user's gets Cloud Hypervisor's defaults: the serial
	 * port to nowhere, the terminal on hvc0.  The embedded test guest keeps
	 * the serial port on the terminal: it writes there.
	 */
	if (cfg->kernel && !(b->seen & (1u << OPT_SERIAL)))
		cfg->serial = SERIAL_NULL;
	return check_irqchip_off(cfg, b->seen & (1u << OPT_CONSOLE), err, errlen);
}

enum options_result options__parse(int argc, char **argv, struct vm_config *cfg,
				   char *err, size_t errlen)
{
	struct options_builder b;

	if (err && errlen)
		err[0] = '\0';
	options__begin(&b, cfg);

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *name, *eq, *val = NULL;
		const struct opt_desc *o;
		size_t name_len;
		enum options_result r;
		int v;

		if ((v = count_verbose(arg)) > 0) {
			cfg->log_level = cfg->log_level + v > LOG_DEBUG ? LOG_DEBUG
								     : cfg->log_level + v;
			continue;
		}
		if (strcmp(arg, "-h") == 0) {
			o = find_opt("help", 4);
		} else if (strcmp(arg, "-V") == 0) {
			o = find_opt("version", 7);
		} else if (arg[0] == '-' && arg[1] == '-' && arg[2] != '\0') {
			name = arg + 2;
			eq = strchr(name, '=');
			name_len = eq ? (size_t)(eq - name) : strlen(name);
			o = find_opt(name, name_len);
			if (!o && is_later_opt(name, name_len))
				return opt__fail(err, errlen, "--%.*s: not supported yet", (int)name_len,
					    name);
			if (!o)
				return opt__fail(err, errlen, "unknown option '--%.*s'", (int)name_len,
					    name);
			if (eq && !o->has_value)
				return opt__fail(err, errlen, "--%s: takes no value", o->name);
			if (eq) {
				val = eq + 1;
			} else if (o->has_value) {
				/* A following "--option" is not taken as the value. */
				if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
					val = argv[++i];
				else if (o->id != OPT_RNG) /* --rng alone takes the defaults */
					return opt__fail(err, errlen, "--%s: missing value", o->name);
			}
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return opt__fail(err, errlen, "unknown option '%s'", arg);
		} else {
			return opt__fail(err, errlen, "unexpected argument '%s'", arg);
		}

		r = options__apply(&b, o, val, err, errlen);
		while (r == OPTIONS_OK && repeatable(o) && i + 1 < argc && argv[i + 1][0] != '-')
			r = apply(o, argv[++i], cfg, err, errlen);
		if (r != OPTIONS_OK)
			return r;
	}
	return options__end(&b, err, errlen);
}

void options__usage(FILE *out)
{
	fputs("Usage: vmscope [OPTIONS]\n"
	      "\n"
	      "Boots a Linux kernel (or the embedded test guest) in a KVM virtual machine\n"
	      "whose memory and CPUs can be introspected.  Options follow Cloud Hypervisor.\n"
	      "\n"
	      "  --kernel PATH              kernel to boot (default: the embedded test guest)\n"
	      "  --initramfs PATH           initramfs to load\n"
	      "  --cmdline STRING           kernel command line\n"
	      "  --cpus boot=N[,max=M]      number of vCPUs (default: boot=1)\n"
	      "  --memory size=SIZE         guest RAM, with K, M or G suffix (default: size=512M);\n"
	      "                             a multiple of 4K, at least 2M\n"
	      "  --serial tty|file=PATH|null|off\n"
	      "                             where the 8250 serial port goes (default: null with\n"
	      "                             --kernel, as Cloud Hypervisor; tty for the test guest)\n"
	      "  --console tty|file=PATH|null|off\n"
	      "                             where the virtio console (hvc0) goes (default: tty;\n"
	      "                             it reads stdin only when --serial is not tty)\n"
	      "  --disk path=PATH[,readonly=on|off]\n"
	      "                             a raw disk image as virtio-blk (/dev/vda, ...);\n"
	      "                             repeat for more disks\n"
	      "  --net tap=[NAME][,mac=MAC][,ip=IP,mask=MASK]\n"
	      "                             virtio-net on a tap device; an empty tap= creates\n"
	      "                             one and gives its host side ip/mask\n"
	      "                             (default 192.168.249.1/255.255.255.0)\n"
	      "  --rng [src=PATH]           virtio-rng fed from PATH (default: /dev/urandom)\n"
	      "  -v                         more log output; repeat for more\n"
	      "  --log-level error|warn|info|debug\n"
	      "                             log threshold (default: warn)\n"
	      "  --no-host-quirks           do not work around known host KVM quirks\n"
	      "  --irqchip on|off           off: no in-kernel interrupt controllers or PIT, so\n"
	      "                             HLT exits reach vmscope and its introspection\n"
	      "                             clients; for guests that need no interrupts (the\n"
	      "                             test guest): no virtio devices, console off\n"
	      "  --vmi-socket PATH          listen for introspection clients on this socket\n"
	      "  --vmi-timeout MS           how long a synchronous event waits for its client,\n"
	      "                             1 to 3600000 (default: 5000)\n"
	      "  --vmi-wait                 start with the vCPUs paused until the client resumes\n"
	      "                             them (needs --vmi-socket)\n"
	      "  --gdb path=SOCKET|tcp=ADDR:PORT[,wait=on|off][,allow-remote=on]\n"
	      "                             GDB remote stub on a unix socket (recommended) or a\n"
	      "                             TCP port; the guest waits for the debugger unless\n"
	      "                             wait=off.  The stub has no authentication: TCP takes\n"
	      "                             loopback addresses only, unless allow-remote=on\n"
	      "  --api-socket [path=]SOCKET|fd=N\n"
	      "                             REST API (Cloud Hypervisor's paths) on a unix socket;\n"
	      "                             without --kernel, vmscope starts with no VM and waits\n"
	      "                             for the API's vm.create and vm.boot\n"
	      "  --seccomp true|false|log   system-call filter on every thread (default: true):\n"
	      "                             a forbidden call kills vmscope with SIGSYS and a line\n"
	      "                             naming it; log: allowed, and logged by the kernel\n"
	      "  -h, --help                 print this help and exit\n"
	      "  -V, --version              print the version and exit\n"
	      "\n"
	      "Long options take '--opt VALUE' or '--opt=VALUE'.  Other Cloud Hypervisor\n"
	      "options (--fs, --pmem, --vsock, ...) are not supported yet.  Without\n"
	      "--kernel the embedded test guest boots, unless --api-socket is given: then\n"
	      "the API creates the VM (vm.create with a VmConfig JSON body; with no payload\n"
	      "there, the test guest) and vm.shutdown ends the VM, not vmscope.\n"
	      "\n"
	      "Examples:\n"
	      "  vmscope --cpus boot=2 --vmi-socket /tmp/vm.sock --vmi-wait\n"
	      "                             the test guest, held until a client resumes it;\n"
	      "                             then, in another terminal:\n"
	      "  vmscope-ctl --socket /tmp/vm.sock watch\n"
	      "                             follow its system calls from outside\n"
	      "  vmscope --kernel bzImage --initramfs initrd.img --cmdline console=hvc0\n"
	      "                             boot Linux, its console on this terminal (hvc0)\n"
	      "  vmscope --kernel bzImage --cmdline console=ttyS0 --serial tty --console off\n"
	      "                             the same on the serial port\n"
	      "  vmscope --api-socket path=/tmp/ch.sock\n"
	      "                             no VM yet: vmscope-ctl --api-socket /tmp/ch.sock\n"
	      "                             create vm.json, then boot (as ch-remote)\n"
	      "  vmscope --kernel vmlinux --gdb path=/tmp/gdb.sock\n"
	      "                             the same, waiting for GDB before its first\n"
	      "                             instruction: gdb vmlinux -ex 'target remote\n"
	      "                             /tmp/gdb.sock'\n"
	      "\n"
	      "Exit status:\n"
	      "  0 guest powered off, 1 error, 2 bad command line, 3 guest triple fault,\n"
	      "  4 guest reset, 5 every vCPU halted with nothing to wake it (--irqchip off),\n"
	      "  128+N stopped by signal N; a guest using the debug-exit port chooses its\n"
	      "  own status.\n",
	      out);
}
