/*
 * Cloud Hypervisor's VmConfig JSON into struct vm_config, one field at a
 * time through the command line's own option parsers (see vmconfig.h).
 */
#include "api/vmconfig.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"
#include "options.h"
#include "util.h"

#define FIELD_MAX 96   /* "disks[7].readonly" and the like */
#define GROUP_MAX 8300 /* a --disk value: two quotes around a path of CONFIG_PATH_MAX, and keys */

struct ctx {
	struct vm_spec *spec;
	struct options_builder b;
	char *err;
	size_t errlen;
};

/* The fields of one JSON object: those vmscope reads, and Cloud Hypervisor's that it lacks. */
struct object_shape {
	const char *const *known;
	size_t nr_known;
	const char *const *later;
	size_t nr_later;
};

#define SHAPE(k, l) { k, ARRAY_SIZE(k), l, ARRAY_SIZE(l) }

static const char *const top_known[] = {
	"payload", "cpus", "memory", "disks", "net", "rng", "serial", "console", "vmscope",
};
static const char *const top_later[] = {
	"balloon", "debug_console", "devices", "fs", "iommu", "ivshmem", "landlock_enable",
	"landlock_rules", "numa", "pci_segments", "platform", "pmem", "preserved_fds", "pvpanic",
	"rate_limit_groups", "sgx_epc", "tpm", "user_devices", "vdpa", "vsock", "watchdog",
};
static const char *const payload_known[] = { "kernel", "initramfs", "cmdline" };
static const char *const payload_later[] = { "firmware", "igvm", "host_data" };
static const char *const cpus_known[] = { "boot_vcpus", "max_vcpus" };
static const char *const cpus_later[] = {
	"topology", "kvm_hyperv", "max_phys_bits", "affinity", "features", "nested",
	"core_scheduling",
};
static const char *const memory_known[] = { "size", "shared" };
static const char *const memory_later[] = {
	"mergeable", "hotplug_method", "hotplug_size", "hotplugged_size", "hugepages",
	"hugepage_size", "prefault", "zones", "thp",
};
static const char *const disk_known[] = { "path", "readonly", "direct", "id", "image_type" };
static const char *const disk_later[] = {
	"iommu", "num_queues", "queue_size", "vhost_user", "vhost_socket", "rate_limit_group",
	"rate_limiter_config", "pci_segment", "serial", "queue_affinity", "backing_files",
	"sparse", "disable_io_uring", "disable_aio", "lock_granularity",
};
static const char *const net_known[] = { "tap", "mac", "ip", "mask", "id" };
static const char *const net_later[] = {
	"host_mac", "mtu", "iommu", "num_queues", "queue_size", "vhost_user", "vhost_socket",
	"vhost_mode", "fds", "rate_limiter_config", "pci_segment", "offload_tso", "offload_ufo",
	"offload_csum",
};
static const char *const rng_known[] = { "src" };
static const char *const rng_later[] = { "iommu" };
static const char *const tty_known[] = { "mode", "file" };
static const char *const tty_later[] = { "socket", "iommu", "url" };
static const char *const vmscope_known[] = {
	"vmi_socket", "vmi_wait", "vmi_timeout_ms", "irqchip", "host_quirks", "gdb",
};
static const char *const gdb_known[] = { "path", "tcp", "wait", "allow_remote" };
static const char *const none[] = { NULL };

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s", field, msg);
	/* A field name or value from the body may hold control characters. */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* What vmscope does anyway when a feature is absent: null, false, 0-length. */
static bool is_absent(json_object *v)
{
	return !v || (json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)) ||
	       (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0);
}

static void join(char *out, const char *path, const char *key)
{
	snprintf(out, FIELD_MAX, "%s%s%s", path, path[0] ? "." : "", key);
}

/* Refuses every key of o that shape does not read (see vmconfig.h). */
static int check_shape(struct ctx *c, json_object *o, const char *path,
		       const struct object_shape *shape)
{
	json_object_object_foreach(o, key, val) {
		char field[FIELD_MAX];

		join(field, path, key);
		if (in_list(key, shape->known, shape->nr_known))
			continue;
		if (in_list(key, shape->later, shape->nr_later)) {
			if (is_absent(val))
				continue;
			return fail(c, field, "not supported by vmscope yet");
		}
		return fail(c, field, "unknown field");
	}
	return 0;
}

/* The member key of o, or NULL when it is absent or null. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int want_object(struct ctx *c, json_object *v, const char *field)
{
	return json_object_is_type(v, json_type_object) ? 0
							 : fail(c, field, "must be a JSON object");
}

static int get_string(struct ctx *c, json_object *o, const char *path, const char *key,
		      const char **out)
{
	json_object *v = member(o, key);
	char field[FIELD_MAX];

	*out = NULL;
	if (!v)
		return 0;
	join(field, path, key);
	if (!json_object_is_type(v, json_type_string))
		return fail(c, field, "must be a string");
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return fail(c, field, "holds a NUL character");
	return 0;
}

/* *set is false when the member is absent or null. */
static int get_bool(struct ctx *c, json_object *o, const char *path, const char *key, bool *out,
		    bool *set)
{
	json_object *v = member(o, key);
	char field[FIELD_MAX];

	*set = v != NULL;
	if (!v)
		return 0;
	join(field, path, key);
	if (!json_object_is_type(v, json_type_boolean))
		return fail(c, field, "must be true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_uint(struct ctx *c, json_object *o, const char *path, const char *key,
		    uint64_t *out, bool *set)
{
	json_object *v = member(o, key);
	char field[FIELD_MAX];

	*set = v != NULL;
	if (!v)
		return 0;
	join(field, path, key);
	if (!json_object_is_type(v, json_type_int))
		return fail(c, field, "must be a whole number");
	if (json_object_get_int64(v) < 0)
		return fail(c, field, "must not be negative");
	*out = json_object_get_uint64(v);
	return 0;
}

/* Keeps a copy of s for as long as the spec lives: the config may point into it. */
static const char *keep(struct ctx *c, const char *field, const char *s)
{
	struct vm_spec *spec = c->spec;
	char *copy;

	if (spec->nr_strings == VMCONFIG_MAX_STRINGS) {
		fail(c, field, "too many devices");
		return NULL;
	}
	copy = strdup(s);
	if (!copy) {
		fail(c, field, "out of memory");
		return NULL;
	}
	spec->strings[spec->nr_strings++] = copy;
	return copy;
}

/*
 * Gives --name val to the option parsers; their error is reported against
 * field, without the "--name: " that the command line's errors start with.
 */
static int set(struct ctx *c, const char *field, const char *name, const char *val)
{
	char oerr[512];
	const char *msg = oerr;
	size_t n = strlen(name);

	if (val && !(val = keep(c, field, val)))
		return -1;
	if (options__set(&c->b, name, val, oerr, sizeof(oerr)) == OPTIONS_OK)
		return 0;
	if (strncmp(msg, "--", 2) == 0 && strncmp(msg + 2, name, n) == 0 &&
	    strncmp(msg + 2 + n, ": ", 2) == 0)
		msg += n + 4;
	return fail(c, field, "%s", msg);
}

/* Appends ",key=value" to a group; a value with ',' or brackets is quoted. */
static int group_add(struct ctx *c, char *group, const char *field, const char *key,
		     const char *val)
{
	size_t used = strlen(group);
	bool quote = strpbrk(val, ",[]\"=") != NULL;
	int n;

	if (strchr(val, '"'))
		return fail(c, field, "a double quote cannot be passed to the option parser");
	n = snprintf(group + used, GROUP_MAX - used, "%s%s=%s%s%s", used ? "," : "", key,
		     quote ? "\"" : "", val, quote ? "\"" : "");
	if (n < 0 || (size_t)n >= GROUP_MAX - used)
		return fail(c, field, "too long");
	return 0;
}

static int group_add_toggle(struct ctx *c, char *group, json_object *o, const char *path,
			    const char *key, const char *opt_key)
{
	char field[FIELD_MAX];
	bool on, set;

	if (get_bool(c, o, path, key, &on, &set) < 0)
		return -1;
	join(field, path, key);
	return set ? group_add(c, group, field, opt_key, on ? "on" : "off") : 0;
}

static int group_add_string(struct ctx *c, char *group, json_object *o, const char *path,
			    const char *key)
{
	char field[FIELD_MAX];
	const char *s;

	if (get_string(c, o, path, key, &s) < 0)
		return -1;
	join(field, path, key);
	return s ? group_add(c, group, field, key, s) : 0;
}

static int group_add_uint(struct ctx *c, char *group, json_object *o, const char *path,
			  const char *key, const char *opt_key)
{
	char field[FIELD_MAX], num[24];
	uint64_t v;
	bool set;

	if (get_uint(c, o, path, key, &v, &set) < 0)
		return -1;
	join(field, path, key);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return set ? group_add(c, group, field, opt_key, num) : 0;
}

/* An optional member that must be an object of the given shape; NULL when absent. */
static int sub_object(struct ctx *c, json_object *o, const char *key,
		      const struct object_shape *shape, json_object **out)
{
	json_object *v = member(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (want_object(c, v, key) < 0 || check_shape(c, v, key, shape) < 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_payload(struct ctx *c, json_object *top)
{
	static const struct object_shape shape = SHAPE(payload_known, payload_later);
	static const char *const keys[] = { "kernel", "initramfs", "cmdline" };
	json_object *p;

	if (sub_object(c, top, "payload", &shape, &p) < 0)
		return -1;
	for (size_t i = 0; p && i < ARRAY_SIZE(keys); i++) {
		char field[FIELD_MAX];
		const char *s;

		join(field, "payload", keys[i]);
		if (get_string(c, p, "payload", keys[i], &s) < 0 ||
		    (s && set(c, field, keys[i], s) < 0))
			return -1;
	}
	return 0;
}

static int parse_cpus_memory(struct ctx *c, json_object *top)
{
	static const struct object_shape cpus_shape = SHAPE(cpus_known, cpus_later);
	static const struct object_shape mem_shape = SHAPE(memory_known, memory_later);
	char group[GROUP_MAX] = "";
	json_object *o;

	if (sub_object(c, top, "cpus", &cpus_shape, &o) < 0)
		return -1;
	if (o && (group_add_uint(c, group, o, "cpus", "boot_vcpus", "boot") < 0 ||
		  group_add_uint(c, group, o, "cpus", "max_vcpus", "max") < 0 ||
		  (group[0] && set(c, "cpus", "cpus", group) < 0)))
		return -1;
	group[0] = '\0';
	if (sub_object(c, top, "memory", &mem_shape, &o) < 0)
		return -1;
	if (o && (group_add_uint(c, group, o, "memory", "size", "size") < 0 ||
		  group_add_toggle(c, group, o, "memory", "shared", "shared") < 0 ||
		  (group[0] && set(c, "memory", "memory", group) < 0)))
		return -1;
	return 0;
}

/* disks[] and net[]: one --disk or --net per element. */
static int parse_devices(struct ctx *c, json_object *top, const char *key, const char *opt,
			 const struct object_shape *shape)
{
	json_object *arr = member(top, key);
	size_t n;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return fail(c, key, "must be a JSON array");
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(arr, i);
		char path[FIELD_MAX], group[GROUP_MAX] = "";
		bool is_disk = strcmp(opt, "disk") == 0;

		snprintf(path, sizeof(path), "%s[%zu]", key, i);
		if (!d || want_object(c, d, path) < 0 || check_shape(c, d, path, shape) < 0)
			return -1;
		if (is_disk) {
			if (group_add_string(c, group, d, path, "path") < 0 ||
			    group_add_toggle(c, group, d, path, "readonly", "readonly") < 0 ||
			    group_add_toggle(c, group, d, path, "direct", "direct") < 0 ||
			    group_add_string(c, group, d, path, "image_type") < 0 ||
			    group_add_string(c, group, d, path, "id") < 0)
				return -1;
		} else {
			static const char *const net_keys[] = { "tap", "mac", "ip", "mask", "id" };

			for (size_t k = 0; k < ARRAY_SIZE(net_keys); k++)
				if (group_add_string(c, group, d, path, net_keys[k]) < 0)
					return -1;
			if (!group[0])
				strcpy(group, "tap="); /* {}: a new tap, as --net tap= */
		}
		if (!group[0])
			return fail(c, path, "'path' is required");
		if (set(c, path, opt, group) < 0)
			return -1;
	}
	return 0;
}

/* serial and console: {"mode": "Off"|"Null"|"Tty"|"File", "file": PATH}. */
static int parse_tty(struct ctx *c, json_object *top, const char *key)
{
	static const struct object_shape shape = SHAPE(tty_known, tty_later);
	static const char *const later_modes[] = { "Pty", "Socket" };
	json_object *o;
	const char *mode, *file;
	char field[FIELD_MAX], group[GROUP_MAX] = "";

	if (sub_object(c, top, key, &shape, &o) < 0)
		return -1;
	if (!o)
		return 0;
	join(field, key, "mode");
	if (get_string(c, o, key, "mode", &mode) < 0 || get_string(c, o, key, "file", &file) < 0)
		return -1;
	if (!mode)
		return fail(c, field, "is required (Off, Null, Tty or File)");
	if (in_list(mode, later_modes, ARRAY_SIZE(later_modes)))
		return fail(c, field, "%s is not supported by vmscope yet", mode);
	if (strcmp(mode, "File") == 0) {
		join(field, key, "file");
		if (!file)
			return fail(c, field, "is required with mode File");
		if (group_add(c, group, field, "file", file) < 0)
			return -1;
	} else if (strcmp(mode, "Off") == 0 || strcmp(mode, "Null") == 0 ||
		   strcmp(mode, "Tty") == 0) {
		if (file) {
			join(field, key, "file");
			return fail(c, field, "goes only with mode File");
		}
		snprintf(group, sizeof(group), "%c%s", mode[0] + ('a' - 'A'), mode + 1);
	} else {
		return fail(c, field, "unknown mode '%s' (Off, Null, Tty or File)", mode);
	}
	return set(c, key, key, group);
}

static int parse_rng(struct ctx *c, json_object *top)
{
	static const struct object_shape shape = SHAPE(rng_known, rng_later);
	char group[GROUP_MAX] = "";
	json_object *o;

	if (sub_object(c, top, "rng", &shape, &o) < 0)
		return -1;
	if (!o)
		return 0;
	if (group_add_string(c, group, o, "rng", "src") < 0)
		return -1;
	return set(c, "rng", "rng", group[0] ? group : NULL);
}

static int parse_gdb(struct ctx *c, json_object *vo)
{
	static const struct object_shape shape = SHAPE(gdb_known, none);
	char group[GROUP_MAX] = "";
	json_object *o = member(vo, "gdb");

	if (!o)
		return 0;
	if (want_object(c, o, "vmscope.gdb") < 0 || check_shape(c, o, "vmscope.gdb", &shape) < 0)
		return -1;
	if (group_add_string(c, group, o, "vmscope.gdb", "path") < 0 ||
	    group_add_string(c, group, o, "vmscope.gdb", "tcp") < 0 ||
	    group_add_toggle(c, group, o, "vmscope.gdb", "wait", "wait") < 0 ||
	    group_add_toggle(c, group, o, "vmscope.gdb", "allow_remote", "allow-remote") < 0)
		return -1;
	if (!group[0])
		return fail(c, "vmscope.gdb", "give path or tcp");
	return set(c, "vmscope.gdb", "gdb", group);
}

/* vmscope's own fields: introspection, the GDB stub, the irqchip. */
static int parse_vmscope(struct ctx *c, json_object *top)
{
	static const struct object_shape shape = SHAPE(vmscope_known, none);
	const char *sock;
	uint64_t timeout;
	bool on, set_;
	char num[24];
	json_object *o;

	if (sub_object(c, top, "vmscope", &shape, &o) < 0)
		return -1;
	if (!o)
		return 0;
	if (get_string(c, o, "vmscope", "vmi_socket", &sock) < 0 ||
	    (sock && set(c, "vmscope.vmi_socket", "vmi-socket", sock) < 0))
		return -1;
	if (get_bool(c, o, "vmscope", "vmi_wait", &on, &set_) < 0 ||
	    (set_ && on && set(c, "vmscope.vmi_wait", "vmi-wait", NULL) < 0))
		return -1;
	if (get_uint(c, o, "vmscope", "vmi_timeout_ms", &timeout, &set_) < 0)
		return -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)timeout);
	if (set_ && set(c, "vmscope.vmi_timeout_ms", "vmi-timeout", num) < 0)
		return -1;
	if (get_bool(c, o, "vmscope", "irqchip", &on, &set_) < 0 ||
	    (set_ && set(c, "vmscope.irqchip", "irqchip", on ? "on" : "off") < 0))
		return -1;
	if (get_bool(c, o, "vmscope", "host_quirks", &on, &set_) < 0 ||
	    (set_ && !on && set(c, "vmscope.host_quirks", "no-host-quirks", NULL) < 0))
		return -1;
	return parse_gdb(c, o);
}

static int parse_all(struct ctx *c, json_object *top)
{
	static const struct object_shape top_shape = SHAPE(top_known, top_later);
	static const struct object_shape disk_shape = SHAPE(disk_known, disk_later);
	static const struct object_shape net_shape = SHAPE(net_known, net_later);
	char oerr[512];

	if (check_shape(c, top, "", &top_shape) < 0 || parse_payload(c, top) < 0 ||
	    parse_cpus_memory(c, top) < 0 ||
	    parse_devices(c, top, "disks", "disk", &disk_shape) < 0 ||
	    parse_devices(c, top, "net", "net", &net_shape) < 0 || parse_rng(c, top) < 0 ||
	    parse_tty(c, top, "serial") < 0 || parse_tty(c, top, "console") < 0 ||
	    parse_vmscope(c, top) < 0)
		return -1;
	if (options__end(&c->b, oerr, sizeof(oerr)) != OPTIONS_OK)
		return fail(c, "config", "%s", oerr);
	return 0;
}

struct vm_spec *vmconfig__parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	json_object *top = json_body__parse(text, len, err, errlen);

	if (!top)
		return NULL;
	c.spec = calloc(1, sizeof(*c.spec));
	if (!c.spec) {
		json_object_put(top);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c.spec->json = top;
	options__begin(&c.b, &c.spec->cfg);
	if (parse_all(&c, top) < 0) {
		vm_spec__free(c.spec);
		return NULL;
	}
	return c.spec;
}

void vm_spec__free(struct vm_spec *spec)
{
	if (!spec)
		return;
	for (unsigned i = 0; i < spec->nr_strings; i++)
		free(spec->strings[i]);
	json_object_put(spec->json);
	free(spec);
}
