/*
 * The VMM's side of the REST API: vmm.ping, vmm.shutdown, and the VM's life
 * cycle (vm.create, vm.boot, vm.delete, vm.info) as Cloud Hypervisor serves
 * them (src/vmm.c does the work); and the route table of every path.
 */
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/vmconfig.h"
#include "log.h"
#include "util.h"
#include "vm.h"
#include "vmm.h"

#ifndef VMSCOPE_VERSION
#define VMSCOPE_VERSION "0.0.0"
#endif

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
	api_reply__json(rp, MHD_HTTP_OK, o);
}

static void api__vmm_shutdown(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vmm.shutdown: stopping the guest, if one runs, and exiting");
	vmm__quit(api->vmm);
	api_reply__none(rp);
}

static void api__create(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	struct vm_spec *spec;
	char err[512];

	if (api->vmm->cfg) {
		api_reply__text(rp, MHD_HTTP_CONFLICT,
				"a VM is created already (vm.delete first)");
		return;
	}
	spec = vmconfig__parse(req->body, req->len, err, sizeof(err));
	if (!spec) {
		api_reply__text(rp, MHD_HTTP_BAD_REQUEST, "%s", err);
		return;
	}
	vmm__create(api->vmm, spec);
	api_reply__none(rp);
}

static void api__boot(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	char err[512] = "";
	int r;

	(void)req;
	r = vmm__boot(api->vmm, err, sizeof(err));
	if (r == -ENOENT)
		api_reply__text(rp, MHD_HTTP_NOT_FOUND, "no VM is created (vm.create first)");
	else if (r == -EBUSY)
		api_reply__text(rp, MHD_HTTP_CONFLICT, "the VM is booted already");
	else if (r < 0)
		api_reply__text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "vm.boot: %s", err);
	else
		api_reply__none(rp);
}

static void api__delete(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	if (api->vmm->cfg)
		log_info("api: vm.delete");
	vmm__delete(api->vmm);
	api_reply__none(rp);
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* The command line's configuration in VmConfig's shape (vm.create's is returned as given). */
static json_object *cmdline_config(const struct vm_config *cfg)
{
	static const char *const modes[] = {
		[SERIAL_TTY] = "Tty", [SERIAL_FILE] = "File", [SERIAL_NULL] = "Null",
		[SERIAL_OFF] = "Off",
	};
	json_object *c = json_object_new_object();
	json_object *cpus = json_object_new_object(), *mem = json_object_new_object();
	json_object *payload = json_object_new_object(), *serial = json_object_new_object();

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
			       json_object_new_string(cfg->serial < ARRAY_SIZE(modes) &&
							      modes[cfg->serial]
						      ? modes[cfg->serial] : "Off"));
	json_object_object_add(serial, "file", str_or_null(cfg->serial_path));
	json_object_object_add(c, "serial", serial);
	return c;
}

static void api__info(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	const struct vmm *vmm = api->vmm;
	json_object *o;
	uint64_t size;

	(void)req;
	if (!vmm->cfg) {
		api_reply__text(rp, MHD_HTTP_NOT_FOUND, "no VM is created (vm.create first)");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "config", vmm->spec ? json_object_get(vmm->spec->json)
						     : cmdline_config(vmm->cfg));
	json_object_object_add(o, "state", json_object_new_string(api->vm ? api__vm_state(api)
									  : "Created"));
	size = api->vm ? api->vm->map.ram_size : vmm->cfg->memory_size;
	json_object_object_add(o, "memory_actual_size", json_object_new_int64((int64_t)size));
	api_reply__json(rp, MHD_HTTP_OK, o);
}

/* Cloud Hypervisor's paths that vmscope does not serve yet. */
static void api__not_served(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)api;
	api_reply__text(rp, MHD_HTTP_NOT_IMPLEMENTED, "%s is not supported by vmscope yet",
			req->path);
}

#define NOT_SERVED(path) { path, "PUT", api__not_served, false }

const struct api_route api_routes[] = {
	{ "vmm.ping", "GET", api__ping, false },
	{ "vmm.shutdown", "PUT", api__vmm_shutdown, false },
	{ "vm.create", "PUT", api__create, false },
	{ "vm.boot", "PUT", api__boot, false },
	{ "vm.delete", "PUT", api__delete, false },
	{ "vm.info", "GET", api__info, false },
	{ "vm.counters", "GET", api__counters, true },
	{ "vm.pause", "PUT", api__pause, true },
	{ "vm.resume", "PUT", api__resume, true },
	{ "vm.shutdown", "PUT", api__vm_shutdown, true },
	{ "vm.reboot", "PUT", api__reboot, true },
	{ "vm.power-button", "PUT", api__power_button, true },
	{ "vm.coredump", "PUT", api__coredump, true },
	NOT_SERVED("vm.add-device"),
	NOT_SERVED("vm.add-disk"),
	NOT_SERVED("vm.add-fs"),
	NOT_SERVED("vm.add-net"),
	NOT_SERVED("vm.add-pmem"),
	NOT_SERVED("vm.add-vdpa"),
	NOT_SERVED("vm.add-vsock"),
	NOT_SERVED("vm.add-user-device"),
	NOT_SERVED("vm.remove-device"),
	NOT_SERVED("vm.resize"),
	NOT_SERVED("vm.resize-disk"),
	NOT_SERVED("vm.resize-zone"),
	NOT_SERVED("vm.snapshot"),
	NOT_SERVED("vm.restore"),
	NOT_SERVED("vm.send-migration"),
	NOT_SERVED("vm.receive-migration"),
	NOT_SERVED("vm.nmi"),
	{ "vm.balloon-stats", "GET", api__not_served, false },
};
const size_t api_nr_routes = ARRAY_SIZE(api_routes);
