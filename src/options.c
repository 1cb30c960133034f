/*
 * Command-line parsing and validation, in one place.  The syntax follows
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
#include "util.h"

#ifndef VMSCOPE_VERSION
#define VMSCOPE_VERSION "0.0.0"
#endif

#define CPUS_LIMIT 4096 /* sanity bound; the host's KVM limit is checked at VM creation */
#define VMI_TIMEOUT_MAX_MS 3600000u
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
	OPT_HELP,
	OPT_VERSION,
	OPT_COUNT
};

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
	{ "help", OPT_HELP, false },
	{ "version", OPT_VERSION, false },
};

/* Cloud Hypervisor options that belong to later work. */
static const char *const opt_later[] = {
	"balloon", "debug-console", "device", "event-monitor",
	"firmware", "fs", "host-data", "landlock", "landlock-rules", "log-file",
	"memory-zone", "numa", "pci-segment", "platform", "pmem", "pvpanic",
	"rate-limit-group", "restore", "seccomp", "sgx-epc", "tpm", "user-device",
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

/* Writes one line into err; control characters from argv become '?'. */
static enum options_result fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum options_result fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return OPTIONS_ERROR;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return OPTIONS_ERROR;
}

static bool key_in(const struct keyval_item *it, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keyval__key_is(it, names[i]))
			return true;
	return false;
}

/* Splits a group; a syntax error is reported with the option's name. */
static enum options_result split(const char *opt, const char *val, struct keyval_group *g,
				 char *err, size_t errlen)
{
	char why[256];

	if (keyval__split(val, g, why, sizeof(why)))
		return fail(err, errlen, "--%s: %s", opt, why);
	return OPTIONS_OK;
}

#define ITEM_FMT "%.*s"
#define ITEM_KEY(it) (int)(it)->key_len, (it)->key
#define ITEM_VAL(it) (int)(it)->val_len, (it)->val

/* Checks that an item of a group has (or lacks) a value as its key requires. */
static enum options_result check_arity(const char *opt, const struct keyval_item *it,
				       bool wants_value, char *err, size_t errlen)
{
	if (wants_value && !it->val)
		return fail(err, errlen, "--%s: '" ITEM_FMT "' needs a value", opt, ITEM_KEY(it));
	if (!wants_value && it->val)
		return fail(err, errlen, "--%s: '" ITEM_FMT "' takes no value", opt, ITEM_KEY(it));
	return OPTIONS_OK;
}

static enum options_result parse_count(const char *opt, const struct keyval_item *it,
				       uint64_t min, uint64_t max, uint64_t *out,
				       char *err, size_t errlen)
{
	if (check_arity(opt, it, true, err, errlen))
		return OPTIONS_ERROR;
	if (keyval__parse_u64(it->val, it->val_len, out))
		return fail(err, errlen, "--%s: invalid number '" ITEM_FMT "' for " ITEM_FMT,
			    opt, ITEM_VAL(it), ITEM_KEY(it));
	if (*out < min || *out > max)
		return fail(err, errlen,
			    "--%s: " ITEM_FMT "=" ITEM_FMT " out of range (%llu..%llu)", opt,
			    ITEM_KEY(it), ITEM_VAL(it), (unsigned long long)min,
			    (unsigned long long)max);
	return OPTIONS_OK;
}

/* --cpus boot=N[,max=M] */
static enum options_result parse_cpus(const char *val, struct vm_config *cfg,
				      char *err, size_t errlen)
{
	struct keyval_group g;
	uint64_t boot = cfg->cpus_boot, max = 0;
	bool have_max = false;

	if (split("cpus", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (keyval__key_is(it, "boot")) {
			if (parse_count("cpus", it, 1, CPUS_LIMIT, &boot, err, errlen))
				return OPTIONS_ERROR;
		} else if (keyval__key_is(it, "max")) {
			if (parse_count("cpus", it, 1, CPUS_LIMIT, &max, err, errlen))
				return OPTIONS_ERROR;
			have_max = true;
		} else if (key_in(it, cpus_later, ARRAY_SIZE(cpus_later))) {
			return fail(err, errlen, "--cpus: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		} else {
			return fail(err, errlen, "--cpus: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		}
	}
	/*
	 * max is Cloud Hypervisor's ceiling for CPU hotplug.  vmscope has no
	 * hotplug (nor the API socket that would request it), so a valid max
	 * changes nothing and is not stored.
	 */
	if (have_max && max < boot)
		return fail(err, errlen, "--cpus: max=%llu is less than boot=%llu",
			    (unsigned long long)max, (unsigned long long)boot);
	cfg->cpus_boot = (unsigned)boot;
	return OPTIONS_OK;
}

/* --memory size=SIZE[,shared=on] */
static enum options_result parse_memory(const char *val, struct vm_config *cfg,
					char *err, size_t errlen)
{
	struct keyval_group g;

	if (split("memory", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];
		uint64_t size;
		bool on;

		if (keyval__key_is(it, "size")) {
			if (check_arity("memory", it, true, err, errlen))
				return OPTIONS_ERROR;
			if (keyval__parse_size(it->val, it->val_len, &size))
				return fail(err, errlen, "--memory: invalid size '" ITEM_FMT "'",
					    ITEM_VAL(it));
			if (size % PAGE_SIZE_4K)
				return fail(err, errlen,
					    "--memory: size '" ITEM_FMT "' is not a multiple of 4K",
					    ITEM_VAL(it));
			if (size < MEMMAP_MIN_RAM)
				return fail(err, errlen,
					    "--memory: size '" ITEM_FMT "' is below the minimum of %lluM",
					    ITEM_VAL(it), (unsigned long long)(MEMMAP_MIN_RAM / MiB));
			cfg->memory_size = size;
		} else if (keyval__key_is(it, "shared")) {
			if (check_arity("memory", it, true, err, errlen))
				return OPTIONS_ERROR;
			if (keyval__parse_toggle(it->val, it->val_len, &on))
				return fail(err, errlen, "--memory: invalid toggle '" ITEM_FMT
					    "' for shared (on|off)", ITEM_VAL(it));
			/* Guest RAM is always a shared memfd (introspection clients map it). */
			if (!on)
				return fail(err, errlen, "--memory: shared=" ITEM_FMT
					    " not supported (guest RAM is always shared)",
					    ITEM_VAL(it));
		} else if (key_in(it, memory_later, ARRAY_SIZE(memory_later))) {
			return fail(err, errlen, "--memory: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		} else {
			return fail(err, errlen, "--memory: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
		}
	}
	return OPTIONS_OK;
}

/* --serial tty|file=PATH|null|off */
static enum options_result parse_serial(const char *val, struct vm_config *cfg,
					char *err, size_t errlen)
{
	struct keyval_group g;
	const struct keyval_item *it;

	if (split("serial", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		it = &g.items[i];
		if (keyval__key_is(it, "iommu") || keyval__key_is(it, "pty") ||
		    keyval__key_is(it, "socket"))
			return fail(err, errlen, "--serial: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "tty") && !keyval__key_is(it, "null") &&
		    !keyval__key_is(it, "off") && !keyval__key_is(it, "file"))
			return fail(err, errlen, "--serial: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
	}
	/* Every remaining key is a mode; Cloud Hypervisor takes only one. */
	if (g.count > 1)
		return fail(err, errlen, "--serial: more than one mode in '%s'", val);

	it = &g.items[0];
	if (check_arity("serial", it, keyval__key_is(it, "file"), err, errlen))
		return OPTIONS_ERROR;
	if (keyval__key_is(it, "tty")) {
		cfg->serial = SERIAL_TTY;
	} else if (keyval__key_is(it, "null")) {
		cfg->serial = SERIAL_NULL;
	} else if (keyval__key_is(it, "off")) {
		cfg->serial = SERIAL_OFF;
	} else {
		/*
		 * The path must stay a pointer into argv: without quotes the
		 * value runs to the end of the argument.  A quoted path would
		 * need a copy, which vm_config has no room for.
		 */
		if (it->quoted)
			return fail(err, errlen, "--serial: quoted path '\"" ITEM_FMT
				    "\"' not supported yet", ITEM_VAL(it));
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = it->val;
	}
	return OPTIONS_OK;
}

/* --console tty|file=PATH|null|off: the virtio console (hvc0). */
static enum options_result parse_console(const char *val, struct vm_config *cfg,
					 char *err, size_t errlen)
{
	static const char *const later[] = { "pty", "socket", "iommu" };
	struct keyval_group g;
	const struct keyval_item *it;

	if (split("console", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		it = &g.items[i];
		if (key_in(it, later, ARRAY_SIZE(later)))
			return fail(err, errlen, "--console: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "tty") && !keyval__key_is(it, "null") &&
		    !keyval__key_is(it, "off") && !keyval__key_is(it, "file"))
			return fail(err, errlen, "--console: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
	}
	if (g.count > 1)
		return fail(err, errlen, "--console: more than one mode in '%s'", val);
	it = &g.items[0];
	if (check_arity("console", it, keyval__key_is(it, "file"), err, errlen))
		return OPTIONS_ERROR;
	cfg->console_off = false;
	if (keyval__key_is(it, "tty")) {
		cfg->console = CONSOLE_TTY;
	} else if (keyval__key_is(it, "null")) {
		cfg->console = CONSOLE_NULL;
	} else if (keyval__key_is(it, "off")) {
		cfg->console = CONSOLE_OFF;
		cfg->console_off = true;
	} else {
		if (it->val_len >= sizeof(cfg->console_path))
			return fail(err, errlen, "--console: path too long");
		memcpy(cfg->console_path, it->val, it->val_len);
		cfg->console_path[it->val_len] = '\0';
		cfg->console = CONSOLE_FILE;
	}
	return OPTIONS_OK;
}

/* Copies a value into a fixed buffer; fails when it does not fit. */
static enum options_result copy_val(const char *opt, const struct keyval_item *it, char *dst,
				    size_t size, char *err, size_t errlen)
{
	if (it->val_len >= size)
		return fail(err, errlen, "--%s: '" ITEM_FMT "' is too long (at most %zu bytes)",
			    opt, ITEM_KEY(it), size - 1);
	memcpy(dst, it->val, it->val_len);
	dst[it->val_len] = '\0';
	return OPTIONS_OK;
}

/* --disk path=PATH[,readonly=on|off][,direct=off][,image_type=raw][,id=ID]; repeatable. */
static enum options_result parse_disk(const char *val, struct vm_config *cfg,
				      char *err, size_t errlen)
{
	static const char *const later[] = {
		"iommu", "num_queues", "queue_size", "vhost_user", "socket", "rate_limit_group",
		"bw_size", "bw_one_time_burst", "bw_refill_time", "ops_size",
		"ops_one_time_burst", "ops_refill_time", "pci_segment", "serial",
		"queue_affinity", "backing_files", "sparse",
	};
	struct disk_config *d;
	struct keyval_group g;
	bool have_path = false, on;

	if (split("disk", val, &g, err, errlen))
		return OPTIONS_ERROR;
	if (cfg->nr_disks == CONFIG_MAX_DISKS)
		return fail(err, errlen, "--disk: more than %d disks", CONFIG_MAX_DISKS);
	d = &cfg->disks[cfg->nr_disks];
	*d = (struct disk_config){ .readonly = false };
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (key_in(it, later, ARRAY_SIZE(later)))
			return fail(err, errlen, "--disk: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "path") && !keyval__key_is(it, "readonly") &&
		    !keyval__key_is(it, "direct") && !keyval__key_is(it, "image_type") &&
		    !keyval__key_is(it, "id"))
			return fail(err, errlen, "--disk: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		if (check_arity("disk", it, true, err, errlen))
			return OPTIONS_ERROR;
		if (keyval__key_is(it, "path")) {
			if (copy_val("disk", it, d->path, sizeof(d->path), err, errlen))
				return OPTIONS_ERROR;
			have_path = true;
		} else if (keyval__key_is(it, "readonly") || keyval__key_is(it, "direct")) {
			if (keyval__parse_toggle(it->val, it->val_len, &on))
				return fail(err, errlen, "--disk: invalid toggle '" ITEM_FMT "' for "
					    ITEM_FMT " (on|off)", ITEM_VAL(it), ITEM_KEY(it));
			if (keyval__key_is(it, "readonly"))
				d->readonly = on;
			else if (on)
				return fail(err, errlen, "--disk: direct=on not supported yet");
		} else if (keyval__key_is(it, "image_type")) {
			if (!keyval__val_is(it, "raw"))
				return fail(err, errlen, "--disk: image_type=" ITEM_FMT
					    " not supported (only raw)", ITEM_VAL(it));
		}
		/* id names the device for the API; nothing else uses it. */
	}
	if (!have_path)
		return fail(err, errlen, "--disk: 'path' is required in '%s'", val);
	cfg->nr_disks++;
	return OPTIONS_OK;
}

static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	unsigned v[6];
	char buf[18], tail;

	if (len != 17)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return (mac[0] & 1) ? -1 : 0; /* a multicast address cannot be a NIC's */
}

static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	char buf[16];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, out) == 1 ? 0 : -1;
}

/*
 * --net tap=[NAME],mac=[MAC],ip=[IP],mask=[MASK]; repeatable.  Cloud
 * Hypervisor accepts empty values ("tap=,mac=,ip=,mask=") as "the default":
 * they are dropped before the group is split, which refuses empty values.
 */
static enum options_result parse_net(const char *val, struct vm_config *cfg,
				     char *err, size_t errlen)
{
	static const char *const later[] = {
		"host_mac", "num_queues", "queue_size", "iommu", "vhost_user", "socket",
		"vhost_mode", "fd", "offload_tso", "offload_ufo", "offload_csum", "pci_segment",
		"rate_limit_group", "bw_size", "bw_one_time_burst", "bw_refill_time", "ops_size",
		"ops_one_time_burst", "ops_refill_time", "mtu",
	};
	char buf[512];
	size_t n = 0, len = strlen(val);
	struct net_config *nc;
	struct keyval_group g;

	if (len >= sizeof(buf))
		return fail(err, errlen, "--net: value too long");
	for (size_t i = 0; i < len; i++) {
		if (val[i] == '=' && (i + 1 == len || val[i + 1] == ','))
			continue; /* "key=" becomes "key" */
		buf[n++] = val[i];
	}
	buf[n] = '\0';
	if (split("net", buf, &g, err, errlen))
		return OPTIONS_ERROR;
	if (cfg->nr_nets == CONFIG_MAX_NETS)
		return fail(err, errlen, "--net: more than %d network devices", CONFIG_MAX_NETS);
	nc = &cfg->nets[cfg->nr_nets];
	*nc = (struct net_config){ .have_mac = false };
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (key_in(it, later, ARRAY_SIZE(later)))
			return fail(err, errlen, "--net: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (keyval__key_is(it, "id"))
			continue; /* names the device for the API */
		if (!it->val) {
			if (!keyval__key_is(it, "tap") && !keyval__key_is(it, "mac") &&
			    !keyval__key_is(it, "ip") && !keyval__key_is(it, "mask"))
				return fail(err, errlen, "--net: unknown key '" ITEM_FMT "'",
					    ITEM_KEY(it));
			continue; /* empty: the default */
		}
		if (keyval__key_is(it, "tap")) {
			if (copy_val("net", it, nc->tap, sizeof(nc->tap), err, errlen))
				return OPTIONS_ERROR;
		} else if (keyval__key_is(it, "mac")) {
			if (parse_mac(it->val, it->val_len, nc->mac))
				return fail(err, errlen, "--net: invalid MAC address '" ITEM_FMT "'",
					    ITEM_VAL(it));
			nc->have_mac = true;
		} else if (keyval__key_is(it, "ip") || keyval__key_is(it, "mask")) {
			uint32_t *dst = keyval__key_is(it, "ip") ? &nc->ip : &nc->mask;

			if (parse_ipv4(it->val, it->val_len, dst))
				return fail(err, errlen, "--net: invalid IPv4 address '" ITEM_FMT
					    "' for " ITEM_FMT, ITEM_VAL(it), ITEM_KEY(it));
		} else {
			return fail(err, errlen, "--net: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		}
	}
	cfg->nr_nets++;
	return OPTIONS_OK;
}

/* --rng [src=PATH]: virtio-rng fed from PATH (default /dev/urandom). */
static enum options_result parse_rng(const char *val, struct vm_config *cfg,
				     char *err, size_t errlen)
{
	struct keyval_group g;

	cfg->rng = true;
	strcpy(cfg->rng_src, "/dev/urandom");
	if (!val)
		return OPTIONS_OK;
	if (split("rng", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (keyval__key_is(it, "iommu"))
			return fail(err, errlen, "--rng: 'iommu' not supported yet");
		if (!keyval__key_is(it, "src"))
			return fail(err, errlen, "--rng: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		if (check_arity("rng", it, true, err, errlen) ||
		    copy_val("rng", it, cfg->rng_src, sizeof(cfg->rng_src), err, errlen))
			return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

static enum options_result parse_vmi_timeout(const char *val, struct vm_config *cfg,
					     char *err, size_t errlen)
{
	uint64_t ms;

	if (keyval__parse_u64(val, strlen(val), &ms))
		return fail(err, errlen, "--vmi-timeout: invalid number '%s'", val);
	if (ms < 1 || ms > VMI_TIMEOUT_MAX_MS)
		return fail(err, errlen, "--vmi-timeout: '%s' out of range (1..%u ms)", val,
			    VMI_TIMEOUT_MAX_MS);
	cfg->vmi_timeout_ms = (uint32_t)ms;
	return OPTIONS_OK;
}

/*
 * --api-socket [path=]SOCKET or --api-socket fd=N: the REST API (src/api/),
 * on a unix socket vmscope creates, or on one it inherits already listening.
 */
static enum options_result parse_api_socket(const char *val, struct vm_config *cfg, char *err,
					    size_t errlen)
{
	struct keyval_group g;
	enum options_result r = split("api-socket", val, &g, err, errlen);
	uint64_t fd;

	if (r != OPTIONS_OK)
		return r;
	/* A bare value is the path, as Cloud Hypervisor accepts it. */
	if (g.count == 1 && !g.items[0].val && !keyval__key_is(&g.items[0], "path") &&
	    !keyval__key_is(&g.items[0], "fd")) {
		if (strlen(val) >= sizeof(cfg->api_socket_path))
			return fail(err, errlen,
				    "--api-socket: path is longer than a unix socket allows (107)");
		strcpy(cfg->api_socket_path, val);
		return OPTIONS_OK;
	}
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if ((r = check_arity("api-socket", it, true, err, errlen)) != OPTIONS_OK)
			return r;
		if (keyval__key_is(it, "path")) {
			if (it->val_len == 0)
				return fail(err, errlen, "--api-socket: empty path");
			if (it->val_len >= sizeof(cfg->api_socket_path))
				return fail(err, errlen,
					    "--api-socket: path is longer than a unix socket allows (107)");
			memcpy(cfg->api_socket_path, it->val, it->val_len);
			cfg->api_socket_path[it->val_len] = 0;
		} else if (keyval__key_is(it, "fd")) {
			if (keyval__parse_u64(it->val, it->val_len, &fd) || fd > INT32_MAX)
				return fail(err, errlen, "--api-socket: invalid fd '" ITEM_FMT "'",
					    ITEM_VAL(it));
			if (fd <= 2)
				return fail(err, errlen,
					    "--api-socket: fd=%u is stdin, stdout or stderr, not a socket",
					    (unsigned)fd);
			cfg->api_socket_fd = (int)fd;
		} else {
			return fail(err, errlen, "--api-socket: unknown key '" ITEM_FMT "' (path, fd)",
				    ITEM_KEY(it));
		}
	}
	if (cfg->api_socket_path[0] && cfg->api_socket_fd >= 0)
		return fail(err, errlen, "--api-socket: give path or fd, not both");
	return OPTIONS_OK;
}

/*
 * --gdb path=SOCKET[,wait=on|off] or --gdb tcp=ADDR:PORT[,wait=on|off]:
 * the GDB stub on a unix socket (as Cloud Hypervisor) or a TCP port.
 */
static enum options_result parse_gdb(const char *val, struct vm_config *cfg, char *err,
				     size_t errlen)
{
	struct keyval_group g;
	enum options_result r = split("gdb", val, &g, err, errlen);
	static char tcp[64];

	if (r != OPTIONS_OK)
		return r;
	cfg->gdb_wait = true;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if ((r = check_arity("gdb", it, true, err, errlen)) != OPTIONS_OK)
			return r;
		if (keyval__key_is(it, "path")) {
			if (it->val_len == 0)
				return fail(err, errlen, "--gdb: empty path");
			if (it->val_len >= 108)
				return fail(err, errlen, "--gdb: path is longer than a unix socket allows (107)");
			memcpy(cfg->gdb_path, it->val, it->val_len);
			cfg->gdb_path[it->val_len] = 0;
		} else if (keyval__key_is(it, "tcp")) {
			unsigned a, b, c, d, port;
			char tail;

			if (it->val_len >= sizeof(tcp))
				return fail(err, errlen, "--gdb: invalid tcp address '" ITEM_FMT "'", ITEM_VAL(it));
			memcpy(tcp, it->val, it->val_len);
			tcp[it->val_len] = 0;
			if (sscanf(tcp, "%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &port, &tail) != 5 ||
			    a > 255 || b > 255 || c > 255 || d > 255 || port == 0 || port > 65535)
				return fail(err, errlen,
					    "--gdb: invalid tcp address '%s' (want IPv4:PORT, e.g. 127.0.0.1:1234)",
					    tcp);
			cfg->gdb_tcp_addr = (uint32_t)(a << 24 | b << 16 | c << 8 | d);
			cfg->gdb_tcp_port = (uint16_t)port;
		} else if (keyval__key_is(it, "wait")) {
			if (it->val_len == 2 && memcmp(it->val, "on", 2) == 0)
				cfg->gdb_wait = true;
			else if (it->val_len == 3 && memcmp(it->val, "off", 3) == 0)
				cfg->gdb_wait = false;
			else
				return fail(err, errlen, "--gdb: wait must be on or off, not '" ITEM_FMT "'",
					    ITEM_VAL(it));
		} else {
			return fail(err, errlen, "--gdb: unknown key '" ITEM_FMT "' (path, tcp, wait)",
				    ITEM_KEY(it));
		}
	}
	if (!cfg->gdb_path[0] == !cfg->gdb_tcp_port)
		return fail(err, errlen, "--gdb: give exactly one of path=SOCKET or tcp=ADDR:PORT");
	return OPTIONS_OK;
}

/* Applies one recognised option with its value (NULL for flags). */
static enum options_result apply(const struct opt_desc *o, const char *val,
				 struct vm_config *cfg, char *err, size_t errlen)
{
	int level;

	/* Paths and numbers must not be empty; an empty --cmdline is a real choice. */
	if (val && *val == '\0' && o->id != OPT_CMDLINE)
		return fail(err, errlen, "--%s: empty value", o->name);

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
		return parse_serial(val, cfg, err, errlen);
	case OPT_CONSOLE:
		return parse_console(val, cfg, err, errlen);
	case OPT_DISK:
		return parse_disk(val, cfg, err, errlen);
	case OPT_NET:
		return parse_net(val, cfg, err, errlen);
	case OPT_RNG:
		return parse_rng(val, cfg, err, errlen);
	case OPT_LOG_LEVEL:
		level = log_level_parse(val);
		if (level < 0)
			return fail(err, errlen,
				    "--log-level: invalid level '%s' (error|warn|info|debug)", val);
		cfg->log_level = level;
		break;
	case OPT_NO_HOST_QUIRKS:
		cfg->host_quirks = false;
		break;
	case OPT_IRQCHIP:
		if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
			return fail(err, errlen, "--irqchip: expected on or off, not '%s'", val);
		cfg->no_irqchip = strcmp(val, "off") == 0;
		break;
	case OPT_VMI_SOCKET:
		cfg->vmi_socket = val;
		break;
	case OPT_VMI_TIMEOUT:
		return parse_vmi_timeout(val, cfg, err, errlen);
	case OPT_VMI_WAIT:
		cfg->vmi_wait = true;
		break;
	case OPT_API_SOCKET:
		return parse_api_socket(val, cfg, err, errlen);
	case OPT_GDB:
		return parse_gdb(val, cfg, err, errlen);
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
		return fail(err, errlen,
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

enum options_result options__parse(int argc, char **argv, struct vm_config *cfg,
				   char *err, size_t errlen)
{
	bool seen[OPT_COUNT] = { false };

	if (err && errlen)
		err[0] = '\0';
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
				return fail(err, errlen, "--%.*s: not supported yet", (int)name_len,
					    name);
			if (!o)
				return fail(err, errlen, "unknown option '--%.*s'", (int)name_len,
					    name);
			if (eq && !o->has_value)
				return fail(err, errlen, "--%s: takes no value", o->name);
			if (eq) {
				val = eq + 1;
			} else if (o->has_value) {
				/* A following "--option" is not taken as the value. */
				if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
					val = argv[++i];
				else if (o->id != OPT_RNG) /* --rng alone takes the defaults */
					return fail(err, errlen, "--%s: missing value", o->name);
			}
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return fail(err, errlen, "unknown option '%s'", arg);
		} else {
			return fail(err, errlen, "unexpected argument '%s'", arg);
		}

		/* Devices may be repeated: "--disk A --disk B" or "--disk A B". */
		if (seen[o->id] && o->id != OPT_DISK && o->id != OPT_NET)
			return fail(err, errlen, "--%s: given more than once", o->name);
		seen[o->id] = true;
		r = apply(o, val, cfg, err, errlen);
		while (r == OPTIONS_OK && (o->id == OPT_DISK || o->id == OPT_NET) && i + 1 < argc &&
		       argv[i + 1][0] != '-')
			r = apply(o, argv[++i], cfg, err, errlen);
		if (r != OPTIONS_OK)
			return r;
	}
	if (cfg->vmi_wait && !cfg->vmi_socket)
		return fail(err, errlen, "--vmi-wait: needs --vmi-socket");
	return check_irqchip_off(cfg, seen[OPT_CONSOLE], err, errlen);
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
	      "                             where the 8250 serial port goes (default: tty)\n"
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
	      "  --gdb path=SOCKET|tcp=ADDR:PORT[,wait=on|off]\n"
	      "                             GDB remote stub on a unix socket or a TCP port; the\n"
	      "                             guest waits for the debugger unless wait=off\n"
	      "  --api-socket [path=]SOCKET|fd=N\n"
	      "                             REST API (Cloud Hypervisor's paths) on a unix socket\n"
	      "  -h, --help                 print this help and exit\n"
	      "  -V, --version              print the version and exit\n"
	      "\n"
	      "Long options take '--opt VALUE' or '--opt=VALUE'.  Other Cloud Hypervisor\n"
	      "options (--fs, --pmem, --vsock, ...) are not supported yet.\n"
	      "\n"
	      "Exit status: 0 guest powered off, 1 error, 2 bad command line,\n"
	      "3 guest triple fault, 4 guest reset, 5 every vCPU halted with nothing to\n"
	      "wake it (--irqchip off), 128+N stopped by signal N;\n"
	      "a guest using the debug-exit port chooses its own status.\n",
	      out);
}
