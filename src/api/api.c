/*
 * The REST API server: see api.h for the paths.  libmicrohttpd runs in its
 * epoll mode with no thread of its own: its epoll fd is one of the VM main
 * loop's pollfds and MHD_run() is called when it is readable, so requests
 * are handled on the main thread, after the vCPUs exist, one at a time.
 */
#include "api/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "acpi/pm.h"
#include "api/coredump.h"
#include "api/mhd_lib.h"
#include "exit_status.h"
#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

#ifndef VMSCOPE_VERSION
#define VMSCOPE_VERSION "0.0.0"
#endif

#define API_PREFIX "/api/v1/"
#define PAUSE_TIMEOUT_S 5

/* libmicrohttpd's functions, loaded when the first API server starts. */
static const struct mhd_lib *mhd;

struct api {
	struct vm *vm;
	struct MHD_Daemon *mhd;
	int listen_fd;
	int timer_fd;   /* ticks once a second so libmicrohttpd can expire idle connections */
	int consumer;   /* our id with the introspection core (vmi__halt), -1: none */
	bool halted;    /* vm.pause is in force */
	char path[108]; /* unlinked at the end; "" for an inherited fd */
};

/* One request: its body so far. */
struct api_req {
	char *body;
	size_t len;
	bool too_big;
};

/* A reply: status and body (JSON, or a one-line text message). */
struct api_reply {
	unsigned status;
	char *body;
	const char *type;
	const char *allow; /* the Allow header of a 405 */
};

/* ---- Replies ------------------------------------------------------------------- */

static void reply_text(struct api_reply *rp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_text(struct api_reply *rp, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	rp->status = status;
	rp->type = "text/plain";
	if (msg && asprintf(&rp->body, "%s\n", msg) < 0)
		rp->body = NULL;
	free(msg);
}

/* Takes ownership of obj. */
static void reply_json(struct api_reply *rp, unsigned status, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	rp->status = status;
	rp->type = "application/json";
	rp->body = s ? strdup(s) : NULL;
	json_object_put(obj);
}

static void reply_none(struct api_reply *rp)
{
	rp->status = MHD_HTTP_NO_CONTENT;
}

/* ---- VM state ------------------------------------------------------------------ */

/* Every vCPU is held by a control-socket client's pause (or --vmi-wait). */
static bool vm_client_paused(const struct vm *vm)
{
	if (vm->nr_vcpus == 0)
		return false;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (!atomic_load(&vm->vcpus[i]->vmi.pause_req))
			return false;
	return true;
}

static bool vm_paused(const struct api *api)
{
	return api->halted || vm_client_paused(api->vm);
}

static const char *vm_state(const struct api *api)
{
	if (vm__stopping(api->vm))
		return "Shutdown";
	return vm_paused(api) ? "Paused" : "Running";
}

/*
 * vm.pause is the API's all-stop as an in-process consumer of the
 * introspection core (vmi__halt, src/vmi/): it holds until vm.resume, whatever
 * control-socket clients do.  vm.resume also lifts a client's pause of every
 * vCPU (--vmi-wait), as the VM is then paused as far as the API can tell.
 */
static int vm_pause(struct api *api)
{
	int r;

	vmi__halt(api->vm, api->consumer, true);
	r = vmi__wait_stopped(api->vm, PAUSE_TIMEOUT_S * 1000);
	if (r == 0 && vm__stopping(api->vm))
		r = -ESHUTDOWN;
	if (r < 0) {
		vmi__halt(api->vm, api->consumer, false);
		return r;
	}
	api->halted = true;
	return 0;
}

static void vm_resume(struct api *api)
{
	struct vm *vm = api->vm;
	struct vmi_core *core = vm->vmi.core;

	if (api->halted) {
		vmi__halt(vm, api->consumer, false);
		api->halted = false;
	}
	if (vm_client_paused(vm)) {
		/* As a client's VMSCOPE_MSG_RESUME does (src/vmi/requests.c). */
		pthread_mutex_lock(&core->lock);
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			atomic_store(&vm->vcpus[i]->vmi.pause_req, false);
		pthread_cond_broadcast(&core->cond);
		pthread_mutex_unlock(&core->lock);
	}
}

static const struct vmi_consumer_ops api_vmi_ops = { 0 };

/* ---- Handlers ------------------------------------------------------------------ */

static void api__ping(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	json_object *o = json_object_new_object(), *f = json_object_new_array();

	(void)api, (void)req;
	json_object_object_add(o, "build_version", json_object_new_string(VMSCOPE_VERSION));
	json_object_object_add(o, "version", json_object_new_string(VMSCOPE_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_array_add(f, json_object_new_string("kvm"));
	json_object_array_add(f, json_object_new_string("acpi"));
	json_object_array_add(f, json_object_new_string("vmi"));
	json_object_array_add(f, json_object_new_string("gdb"));
	json_object_object_add(o, "features", f);
	reply_json(rp, MHD_HTTP_OK, o);
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void api__info(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	const struct vm_config *cfg = api->vm->cfg;
	static const char *const serial_modes[] = {
		[SERIAL_TTY] = "Tty", [SERIAL_FILE] = "File", [SERIAL_NULL] = "Null",
		[SERIAL_OFF] = "Off",
	};
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	json_object *cpus = json_object_new_object(), *mem = json_object_new_object();
	json_object *payload = json_object_new_object(), *serial = json_object_new_object();

	(void)req;
	json_object_object_add(cpus, "boot_vcpus", json_object_new_int64(cfg->cpus_boot));
	json_object_object_add(cpus, "max_vcpus", json_object_new_int64(cfg->cpus_boot));
	json_object_object_add(c, "cpus", cpus);
	json_object_object_add(mem, "size", json_object_new_int64((int64_t)cfg->memory_size));
	json_object_object_add(mem, "shared", json_object_new_boolean(true));
	json_object_object_add(c, "memory", mem);
	json_object_object_add(payload, "kernel", str_or_null(cfg->kernel));
	json_object_object_add(payload, "initramfs", str_or_null(cfg->initramfs));
	json_object_object_add(payload, "cmdline", str_or_null(cfg->cmdline));
	json_object_object_add(c, "payload", payload);
	json_object_object_add(serial, "mode",
			       json_object_new_string(cfg->serial < ARRAY_SIZE(serial_modes) &&
							      serial_modes[cfg->serial]
						      ? serial_modes[cfg->serial] : "Off"));
	json_object_object_add(serial, "file", str_or_null(cfg->serial_path));
	json_object_object_add(c, "serial", serial);
	json_object_object_add(o, "config", c);
	json_object_object_add(o, "state", json_object_new_string(vm_state(api)));
	json_object_object_add(o, "memory_actual_size",
			       json_object_new_int64((int64_t)api->vm->map.ram_size));
	reply_json(rp, MHD_HTTP_OK, o);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* Exit kinds (VMSCOPE_EV_*, VMSCOPE_STAT_OTHER) that are exits, by their counter name. */
static const char *const exit_kind_names[VMSCOPE_STAT_OTHER + 1] = {
	[VMSCOPE_EV_IO] = "io",
	[VMSCOPE_EV_MMIO] = "mmio",
	[VMSCOPE_EV_HLT] = "hlt",
	[VMSCOPE_EV_BREAKPOINT] = "breakpoint",
	[VMSCOPE_EV_SINGLESTEP] = "singlestep",
	[VMSCOPE_EV_HYPERCALL] = "hypercall",
	[VMSCOPE_EV_MSR_READ] = "msr_read",
	[VMSCOPE_EV_MSR_WRITE] = "msr_write",
	[VMSCOPE_EV_PAGE_WRITE] = "page_write",
	[VMSCOPE_EV_SHUTDOWN] = "shutdown",
	[VMSCOPE_EV_INTERNAL_ERROR] = "internal_error",
	[VMSCOPE_STAT_OTHER] = "other",
};

static void api__counters(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	struct vm *vm = api->vm;
	struct acpi_pm_counters pm;
	json_object *o = json_object_new_object();

	(void)req;
	if (acpi_pm__counters(vm, &pm) == 0) {
		json_object *d = json_object_new_object();

		add_u64(d, "power_button_presses", pm.power_button_presses);
		add_u64(d, "sci_raised", pm.sci_raised);
		add_u64(d, "pm1_reads", pm.pm1_reads);
		add_u64(d, "pm1_writes", pm.pm1_writes);
		add_u64(d, "timer_reads", pm.timer_reads);
		json_object_object_add(o, "acpi_pm", d);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		json_object *d = json_object_new_object();
		char name[32];

		add_u64(d, "exits", atomic_load_explicit(&vm->vcpus[i]->nr_exits,
							 memory_order_relaxed));
		/* By kind, as the exit hook counts them (vmscope-ctl stats shows the same). */
		for (unsigned k = 0; k < ARRAY_SIZE(exit_kind_names); k++) {
			char key[48];

			if (!exit_kind_names[k] || !vm->vcpus[i]->vmi.stats)
				continue;
			snprintf(key, sizeof(key), "exits_%s", exit_kind_names[k]);
			add_u64(d, key, __atomic_load_n(&vm->vcpus[i]->vmi.stats[k],
							__ATOMIC_RELAXED));
		}
		snprintf(name, sizeof(name), "vcpu%u", i);
		json_object_object_add(o, name, d);
	}
	reply_json(rp, MHD_HTTP_OK, o);
}

static void api__pause_resume(struct api *api, bool pause, struct api_reply *rp)
{
	int r = 0;

	if (api->consumer < 0) {
		reply_text(rp, MHD_HTTP_NOT_IMPLEMENTED,
			   "vm.%s is unavailable: vmscope pauses vCPUs through its "
			   "introspection core, which did not start", pause ? "pause" : "resume");
		return;
	}
	if (vm_paused(api) == pause) {
		reply_text(rp, MHD_HTTP_CONFLICT, "the VM is already %s",
			   pause ? "paused" : "running");
		return;
	}
	if (pause)
		r = vm_pause(api);
	else
		vm_resume(api);
	if (r < 0) {
		reply_text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "vm.pause failed: %s", strerror(-r));
		return;
	}
	log_info("api: VM %s", pause ? "paused" : "resumed");
	reply_none(rp);
}

static void api__pause(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	api__pause_resume(api, true, rp);
}

static void api__resume(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	api__pause_resume(api, false, rp);
}

static void api__shutdown(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vm.shutdown: stopping the guest");
	vm__stop(api->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
	reply_none(rp);
}

static void api__vmm_shutdown(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vmm.shutdown: stopping the guest and exiting");
	vm__stop(api->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
	reply_none(rp);
}

static void api__reboot(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vm.reboot: vmscope does not reboot guests, stopping with status %d",
		 EXIT_REBOOT);
	vm__stop(api->vm, VM_STOP_REBOOT, EXIT_REBOOT);
	reply_none(rp);
}

static void api__power_button(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	if (acpi_pm__power_button(api->vm) < 0) {
		reply_text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "this VM has no ACPI PM device");
		return;
	}
	reply_none(rp);
}

/* Parses req's body as a JSON object; replies 400 and returns NULL when it is not one. */
static json_object *body_object(const struct api_req *req, struct api_reply *rp)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error e;

	if (!req->body || req->len == 0) {
		reply_text(rp, MHD_HTTP_BAD_REQUEST, "a JSON body is required");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		reply_text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, req->body, (int)req->len);
	e = json_tokener_get_error(tok);
	if (!o || e != json_tokener_success || (size_t)json_tokener_get_parse_end(tok) != req->len) {
		/* Trailing white space is fine; anything else after the object is not. */
		size_t end = o ? json_tokener_get_parse_end(tok) : 0;

		while (o && end < req->len && strchr(" \t\r\n", req->body[end]))
			end++;
		if (!o || e != json_tokener_success || end != req->len) {
			reply_text(rp, MHD_HTTP_BAD_REQUEST, "invalid JSON: %s",
				   e != json_tokener_success ? json_tokener_error_desc(e)
							     : "trailing data");
			json_object_put(o);
			json_tokener_free(tok);
			return NULL;
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		reply_text(rp, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void api__coredump(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	json_object *o = body_object(req, rp), *url;
	const char *s, *path;
	char err[512];
	int r;

	if (!o)
		return;
	if (!json_object_object_get_ex(o, "destination_url", &url) ||
	    !json_object_is_type(url, json_type_string)) {
		reply_text(rp, MHD_HTTP_BAD_REQUEST, "destination_url (a string) is required");
		goto out;
	}
	s = json_object_get_string(url);
	if (strncmp(s, "file://", 7) != 0 || s[7] != '/' ||
	    strlen(s) != (size_t)json_object_get_string_len(url)) {
		reply_text(rp, MHD_HTTP_BAD_REQUEST,
			   "destination_url must be file:///ABSOLUTE/PATH");
		goto out;
	}
	path = s + 7;
	/* As in Cloud Hypervisor, only a paused VM is dumped: its state holds still. */
	if (!vm_paused(api) || vmi__wait_stopped(api->vm, PAUSE_TIMEOUT_S * 1000) < 0) {
		reply_text(rp, MHD_HTTP_CONFLICT, "vm.coredump needs a paused VM (vm.pause first)");
		goto out;
	}
	r = coredump__write(api->vm, path, err, sizeof(err));
	if (r < 0) {
		reply_text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "vm.coredump: %s", err);
		goto out;
	}
	log_info("api: wrote a core dump to %s", path);
	reply_none(rp);
out:
	json_object_put(o);
}

/* ---- Routing ------------------------------------------------------------------- */

typedef void (*api_handler_fn)(struct api *api, const struct api_req *req,
			       struct api_reply *rp);

static const struct api_route {
	const char *path; /* after /api/v1/ */
	const char *method;
	api_handler_fn fn;
} routes[] = {
	{ "vmm.ping", "GET", api__ping },
	{ "vmm.shutdown", "PUT", api__vmm_shutdown },
	{ "vm.info", "GET", api__info },
	{ "vm.counters", "GET", api__counters },
	{ "vm.pause", "PUT", api__pause },
	{ "vm.resume", "PUT", api__resume },
	{ "vm.shutdown", "PUT", api__shutdown },
	{ "vm.reboot", "PUT", api__reboot },
	{ "vm.power-button", "PUT", api__power_button },
	{ "vm.coredump", "PUT", api__coredump },
};

static void api__route(struct api *api, const char *url, const char *method,
		       const struct api_req *req, struct api_reply *rp)
{
	const struct api_route *path_match = NULL;

	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) == 0) {
		const char *p = url + strlen(API_PREFIX);

		for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
			if (strcmp(routes[i].path, p) != 0)
				continue;
			path_match = &routes[i];
			if (strcmp(routes[i].method, method) == 0) {
				routes[i].fn(api, req, rp);
				return;
			}
		}
	}
	if (path_match) {
		reply_text(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes %s", url, path_match->method);
		rp->allow = path_match->method;
		return;
	}
	reply_text(rp, MHD_HTTP_NOT_FOUND, "no such API path");
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct api_reply *rp)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *body = rp->body ? rp->body : "";

	resp = mhd->create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	free(rp->body);
	rp->body = NULL;
	if (!resp)
		return MHD_NO;
	if (rp->status != MHD_HTTP_NO_CONTENT && rp->type)
		mhd->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp->type);
	if (rp->allow)
		mhd->add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rp->allow);
	ret = mhd->queue_response(c, rp->status, resp);
	mhd->destroy_response(resp);
	return ret;
}

static enum MHD_Result api__access(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api *api = cls;
	struct api_req *req = *con_cls;
	struct api_reply rp = { 0 };

	(void)version;
	if (!req) {
		const char *cl = mhd->lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		/* A declared length over the limit is refused before reading the body. */
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			reply_text(&rp, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than %d bytes",
				   API_MAX_BODY);
			req->too_big = true;
			return send_reply(c, &rp);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->too_big || req->len + n > API_MAX_BODY) {
			req->too_big = true;
			return MHD_YES;
		}
		char *b = realloc(req->body, req->len + n + 1);

		if (!b)
			return MHD_NO;
		memcpy(b + req->len, upload_data, n);
		req->body = b;
		req->len += n;
		req->body[req->len] = '\0';
		return MHD_YES;
	}
	if (req->too_big)
		reply_text(&rp, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than %d bytes", API_MAX_BODY);
	else
		api__route(api, url, method, req, &rp);
	log_debug("api: %s %s -> %u", method, url, rp.status);
	return send_reply(c, &rp);
}

static void api__completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct api_req *req = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (req) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

static void api__mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("api: libmicrohttpd: %s", msg);
}

/* ---- Setup --------------------------------------------------------------------- */

/*
 * MHD_run() handles what is ready, but may leave work it already knows of
 * (data read into its buffers) for the next call, which it announces with a
 * timeout of 0: its epoll fd alone would not wake the main loop for that.
 */
static void api__run(struct api *api)
{
	MHD_UNSIGNED_LONG_LONG timeout;

	for (int i = 0; i < 1000; i++) {
		mhd->run(api->mhd);
		if (mhd->get_timeout(api->mhd, &timeout) != MHD_YES || timeout != 0)
			break;
	}
}

static bool api__poll(struct vm *vm, int fd, void *opaque)
{
	(void)vm, (void)fd;
	api__run(opaque);
	return true;
}

static bool api__tick(struct vm *vm, int fd, void *opaque)
{
	uint64_t n;

	(void)vm;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return false;
	api__run(opaque);
	return true;
}

/* Creates, binds (mode 0600) and listens on a unix socket at path. */
static int api__listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, e;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	/* Replace a stale socket, never another kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	e = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old);
	if (e == 0 && listen(fd, 16) < 0)
		e = -errno;
	if (e < 0) {
		close(fd);
		return e;
	}
	return fd;
}

struct api *api__start(struct vm *vm, int *err)
{
	const struct vm_config *cfg = vm->cfg;
	const union MHD_DaemonInfo *info;
	struct api *api;
	int r;

	*err = 0;
	if (!config__has_api_socket(cfg))
		return NULL;
	api = calloc(1, sizeof(*api));
	if (!api) {
		*err = -ENOMEM;
		return NULL;
	}
	mhd = mhd_lib__load();
	if (!mhd) {
		*err = -ENOSYS;
		free(api);
		return NULL;
	}
	api->vm = vm;
	api->timer_fd = -1;
	api->consumer = -1;
	if (cfg->api_socket_path[0]) {
		api->listen_fd = api__listen(cfg->api_socket_path);
		if (api->listen_fd < 0) {
			*err = api->listen_fd;
			log_error("--api-socket: cannot listen on '%s': %s", cfg->api_socket_path,
				  *err == -EEXIST ? "a file that is not a socket is in the way"
						  : strerror(-*err));
			free(api);
			return NULL;
		}
		strcpy(api->path, cfg->api_socket_path);
	} else {
		int type = 0;
		socklen_t len = sizeof(type);

		if (getsockopt(cfg->api_socket_fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
		    type != SOCK_STREAM || listen(cfg->api_socket_fd, 16) < 0) {
			*err = -ENOTSOCK;
			log_error("--api-socket: fd=%d is not a stream socket vmscope can listen on",
				  cfg->api_socket_fd);
			free(api);
			return NULL;
		}
		api->listen_fd = cfg->api_socket_fd;
	}
	/* Idle connections (keep-alive, or a request never finished) close after 10 s. */
	api->mhd = mhd->start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				    api__access, api,
				    MHD_OPTION_EXTERNAL_LOGGER, api__mhd_log, api,
				    MHD_OPTION_LISTEN_SOCKET, api->listen_fd,
				    MHD_OPTION_NOTIFY_COMPLETED, api__completed, api,
				    MHD_OPTION_CONNECTION_LIMIT, 16u,
				    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				    MHD_OPTION_END);
	info = api->mhd ? mhd->get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		*err = -EIO;
		log_error("--api-socket: cannot start the HTTP server (libmicrohttpd)");
		goto fail;
	}
	api->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (api->timer_fd < 0) {
		*err = -errno;
		log_error("--api-socket: timerfd: %s", strerror(errno));
		goto fail;
	}
	timerfd_settime(api->timer_fd, 0,
			&(struct itimerspec){ .it_interval = { 1, 0 }, .it_value = { 1, 0 } }, NULL);
	r = vm__register_pollfd(vm, info->epoll_fd, api__poll, api);
	if (r == 0)
		r = vm__register_pollfd(vm, api->timer_fd, api__tick, api);
	if (r < 0) {
		*err = r;
		log_error("--api-socket: %s", strerror(-r));
		goto fail;
	}
	/* The introspection core pauses and resumes for us (it exists with --api-socket). */
	if (vm->vmi.core) {
		r = vmi__register_consumer(vm, &api_vmi_ops, api);
		if (r < 0)
			log_warn("api: vm.pause unavailable: %s", strerror(-r));
		api->consumer = r < 0 ? -1 : r;
	}
	log_info("api: listening on %s", api->path[0] ? api->path : "an inherited socket");
	return api;
fail:
	/* A registered pollfd would outlive api: give up on the whole VM (the caller does). */
	if (api->timer_fd >= 0)
		close(api->timer_fd);
	/* MHD_stop_daemon closes the listening socket. */
	if (api->mhd)
		mhd->stop_daemon(api->mhd);
	else
		close(api->listen_fd);
	if (api->path[0])
		unlink(api->path);
	free(api);
	return NULL;
}

void api__stop(struct api *api)
{
	const union MHD_DaemonInfo *info;
	struct timespec start, now;

	if (!api)
		return;
	/* Replies to the request that stopped the VM may still be queued. */
	info = mhd->get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		const union MHD_DaemonInfo *n =
			mhd->get_daemon_info(api->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		struct pollfd pfd = { .fd = info ? info->epoll_fd : -1, .events = POLLIN };

		api__run(api);
		if (!n || n->num_connections == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 1)
			break;
		poll(&pfd, 1, 50);
	}
	if (api->consumer >= 0)
		vmi__release_consumer(api->vm, api->consumer);
	mhd->stop_daemon(api->mhd); /* closes the listening socket too */
	close(api->timer_fd);
	if (api->path[0])
		unlink(api->path);
	free(api);
}
