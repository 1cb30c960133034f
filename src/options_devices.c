/*
 * The device options: --serial, --console, --disk, --net and --rng, each
 * parsed and validated into struct vm_config (see options_parse.h).
 */
#include "options_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* --serial tty|file=PATH|null|off */
enum options_result opt__serial(const char *val, struct vm_config *cfg, char *err, size_t errlen)
{
	struct keyval_group g;
	const struct keyval_item *it;

	if (opt__split("serial", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		it = &g.items[i];
		if (keyval__key_is(it, "iommu") || keyval__key_is(it, "pty") ||
		    keyval__key_is(it, "socket"))
			return opt__fail(err, errlen, "--serial: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "tty") && !keyval__key_is(it, "null") &&
		    !keyval__key_is(it, "off") && !keyval__key_is(it, "file"))
			return opt__fail(err, errlen, "--serial: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
	}
	/* Every remaining key is a mode; Cloud Hypervisor takes only one. */
	if (g.count > 1)
		return opt__fail(err, errlen, "--serial: more than one mode in '%s'", val);

	it = &g.items[0];
	if (opt__check_arity("serial", it, keyval__key_is(it, "file"), err, errlen))
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
			return opt__fail(err, errlen, "--serial: quoted path '\"" ITEM_FMT
				    "\"' not supported yet", ITEM_VAL(it));
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = it->val;
	}
	return OPTIONS_OK;
}

/* --console tty|file=PATH|null|off: the virtio console (hvc0). */
enum options_result opt__console(const char *val, struct vm_config *cfg, char *err, size_t errlen)
{
	static const char *const later[] = { "pty", "socket", "iommu" };
	struct keyval_group g;
	const struct keyval_item *it;

	if (opt__split("console", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		it = &g.items[i];
		if (opt__key_in(it, later, ARRAY_SIZE(later)))
			return opt__fail(err, errlen, "--console: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "tty") && !keyval__key_is(it, "null") &&
		    !keyval__key_is(it, "off") && !keyval__key_is(it, "file"))
			return opt__fail(err, errlen, "--console: unknown key '" ITEM_FMT "'",
				    ITEM_KEY(it));
	}
	if (g.count > 1)
		return opt__fail(err, errlen, "--console: more than one mode in '%s'", val);
	it = &g.items[0];
	if (opt__check_arity("console", it, keyval__key_is(it, "file"), err, errlen))
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
			return opt__fail(err, errlen, "--console: path too long");
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
		return opt__fail(err, errlen, "--%s: '" ITEM_FMT "' is too long (at most %zu bytes)",
			    opt, ITEM_KEY(it), size - 1);
	memcpy(dst, it->val, it->val_len);
	dst[it->val_len] = '\0';
	return OPTIONS_OK;
}

/* --disk path=PATH[,readonly=on|off][,direct=off][,image_type=raw][,id=ID]; repeatable. */
enum options_result opt__disk(const char *val, struct vm_config *cfg, char *err, size_t errlen)
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

	if (opt__split("disk", val, &g, err, errlen))
		return OPTIONS_ERROR;
	if (cfg->nr_disks == CONFIG_MAX_DISKS)
		return opt__fail(err, errlen, "--disk: more than %d disks", CONFIG_MAX_DISKS);
	d = &cfg->disks[cfg->nr_disks];
	*d = (struct disk_config){ .readonly = false };
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (opt__key_in(it, later, ARRAY_SIZE(later)))
			return opt__fail(err, errlen, "--disk: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (!keyval__key_is(it, "path") && !keyval__key_is(it, "readonly") &&
		    !keyval__key_is(it, "direct") && !keyval__key_is(it, "image_type") &&
		    !keyval__key_is(it, "id"))
			return opt__fail(err, errlen, "--disk: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		if (opt__check_arity("disk", it, true, err, errlen))
			return OPTIONS_ERROR;
		if (keyval__key_is(it, "path")) {
			if (copy_val("disk", it, d->path, sizeof(d->path), err, errlen))
				return OPTIONS_ERROR;
			have_path = true;
		} else if (keyval__key_is(it, "readonly") || keyval__key_is(it, "direct")) {
			if (keyval__parse_toggle(it->val, it->val_len, &on))
				return opt__fail(err, errlen, "--disk: invalid toggle '" ITEM_FMT "' for "
					    ITEM_FMT " (on|off)", ITEM_VAL(it), ITEM_KEY(it));
			if (keyval__key_is(it, "readonly"))
				d->readonly = on;
			else if (on)
				return opt__fail(err, errlen, "--disk: direct=on not supported yet");
		} else if (keyval__key_is(it, "image_type")) {
			if (!keyval__val_is(it, "raw"))
				return opt__fail(err, errlen, "--disk: image_type=" ITEM_FMT
					    " not supported (only raw)", ITEM_VAL(it));
		}
		/* id names the device for the API; nothing else uses it. */
	}
	if (!have_path)
		return opt__fail(err, errlen, "--disk: 'path' is required in '%s'", val);
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
enum options_result opt__net(const char *val, struct vm_config *cfg, char *err, size_t errlen)
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
		return opt__fail(err, errlen, "--net: value too long");
	for (size_t i = 0; i < len; i++) {
		if (val[i] == '=' && (i + 1 == len || val[i + 1] == ','))
			continue; /* "key=" becomes "key" */
		buf[n++] = val[i];
	}
	buf[n] = '\0';
	if (opt__split("net", buf, &g, err, errlen))
		return OPTIONS_ERROR;
	if (cfg->nr_nets == CONFIG_MAX_NETS)
		return opt__fail(err, errlen, "--net: more than %d network devices", CONFIG_MAX_NETS);
	nc = &cfg->nets[cfg->nr_nets];
	*nc = (struct net_config){ .have_mac = false };
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (opt__key_in(it, later, ARRAY_SIZE(later)))
			return opt__fail(err, errlen, "--net: '" ITEM_FMT "' not supported yet",
				    ITEM_KEY(it));
		if (keyval__key_is(it, "id"))
			continue; /* names the device for the API */
		if (!it->val) {
			if (!keyval__key_is(it, "tap") && !keyval__key_is(it, "mac") &&
			    !keyval__key_is(it, "ip") && !keyval__key_is(it, "mask"))
				return opt__fail(err, errlen, "--net: unknown key '" ITEM_FMT "'",
					    ITEM_KEY(it));
			continue; /* empty: the default */
		}
		if (keyval__key_is(it, "tap")) {
			if (copy_val("net", it, nc->tap, sizeof(nc->tap), err, errlen))
				return OPTIONS_ERROR;
		} else if (keyval__key_is(it, "mac")) {
			if (parse_mac(it->val, it->val_len, nc->mac))
				return opt__fail(err, errlen, "--net: invalid MAC address '" ITEM_FMT "'",
					    ITEM_VAL(it));
			nc->have_mac = true;
		} else if (keyval__key_is(it, "ip") || keyval__key_is(it, "mask")) {
			uint32_t *dst = keyval__key_is(it, "ip") ? &nc->ip : &nc->mask;

			if (parse_ipv4(it->val, it->val_len, dst))
				return opt__fail(err, errlen, "--net: invalid IPv4 address '" ITEM_FMT
					    "' for " ITEM_FMT, ITEM_VAL(it), ITEM_KEY(it));
		} else {
			return opt__fail(err, errlen, "--net: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		}
	}
	cfg->nr_nets++;
	return OPTIONS_OK;
}

/* --rng [src=PATH]: virtio-rng fed from PATH (default /dev/urandom). */
enum options_result opt__rng(const char *val, struct vm_config *cfg, char *err, size_t errlen)
{
	struct keyval_group g;

	cfg->rng = true;
	strcpy(cfg->rng_src, "/dev/urandom");
	if (!val)
		return OPTIONS_OK;
	if (opt__split("rng", val, &g, err, errlen))
		return OPTIONS_ERROR;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if (keyval__key_is(it, "iommu"))
			return opt__fail(err, errlen, "--rng: 'iommu' not supported yet");
		if (!keyval__key_is(it, "src"))
			return opt__fail(err, errlen, "--rng: unknown key '" ITEM_FMT "'", ITEM_KEY(it));
		if (opt__check_arity("rng", it, true, err, errlen) ||
		    copy_val("rng", it, cfg->rng_src, sizeof(cfg->rng_src), err, errlen))
			return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}
