/*
 * The paths of the REST API that act on a booted VM (api.h lists them all),
 * and the VM's state as the API sees it: vm.pause and vm.resume go through
 * the introspection core (vmi__halt).  The route table in lifecycle.c calls
 * these only while a VM is booted (api->vm).
 */
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "acpi/pm.h"
#include "api/api_internal.h"
#include "api/coredump.h"
#include "api/json_body.h"
#include "exit_status.h"
#include "log.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/vmi.h"
#include "vmm.h"

#define PAUSE_TIMEOUT_S 5

/* ---- VM state ------------------------------------------------------------------ */

static bool vm_paused(const struct api *api)
{
	return api->halted || vmi__client_paused(api->vm);
}

const char *api__vm_state(const struct api *api)
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

	if (api->halted) {
		vmi__halt(vm, api->consumer, false);
		api->halted = false;
	}
	if (vmi__client_paused(vm))
		vmi__lift_client_pause(vm);
}

/* ---- Handlers ------------------------------------------------------------------ */

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

void api__counters(struct api *api, const struct api_req *req, struct api_reply *rp)
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

			if (!exit_kind_names[k] || !vm->vcpus[i]->exit_stats)
				continue;
			snprintf(key, sizeof(key), "exits_%s", exit_kind_names[k]);
			add_u64(d, key, __atomic_load_n(&vm->vcpus[i]->exit_stats[k],
							__ATOMIC_RELAXED));
		}
		snprintf(name, sizeof(name), "vcpu%u", i);
		json_object_object_add(o, name, d);
	}
	api_reply__json(rp, MHD_HTTP_OK, o);
}

static void api__pause_resume(struct api *api, bool pause, struct api_reply *rp)
{
	int r = 0;

	if (api->consumer < 0) {
		api_reply__text(rp, MHD_HTTP_NOT_IMPLEMENTED,
				"vm.%s is unavailable: vmscope pauses vCPUs through its "
				"introspection core, which did not start",
				pause ? "pause" : "resume");
		return;
	}
	if (vm_paused(api) == pause) {
		/* Cloud Hypervisor's code for a VM not in the state the request needs. */
		api_reply__text(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "the VM is already %s",
				pause ? "paused" : "running");
		return;
	}
	if (pause)
		r = vm_pause(api);
	else
		vm_resume(api);
	if (r < 0) {
		api_reply__text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "vm.pause failed: %s",
				strerror(-r));
		return;
	}
	log_info("api: VM %s", pause ? "paused" : "resumed");
	api_reply__none(rp);
}

void api__pause(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	api__pause_resume(api, true, rp);
}

void api__resume(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	api__pause_resume(api, false, rp);
}

void api__vm_shutdown(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vm.shutdown: stopping the guest; vmscope stays");
	vmm__shutdown_vm(api->vmm);
	api_reply__none(rp);
}

void api__reboot(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	log_info("api: vm.reboot: vmscope does not reboot guests, stopping with status %d",
		 EXIT_REBOOT);
	vm__stop(api->vm, VM_STOP_REBOOT, EXIT_REBOOT);
	api_reply__none(rp);
}

void api__power_button(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	(void)req;
	if (api->vm->cfg->no_irqchip) {
		/* The press would set PM1_STS, but no SCI could tell the guest. */
		api_reply__text(rp, MHD_HTTP_CONFLICT,
				"the guest gets no interrupts (--irqchip off): no power button");
		return;
	}
	if (acpi_pm__power_button(api->vm) < 0) {
		api_reply__text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR,
				"this VM has no ACPI PM device");
		return;
	}
	api_reply__none(rp);
}

/* Parses req's body as a JSON object; replies 400 and returns NULL when it is not one. */
static json_object *body_object(const struct api_req *req, struct api_reply *rp)
{
	char err[256];
	json_object *o = json_body__parse(req->body, req->len, err, sizeof(err));

	if (!o)
		api_reply__text(rp, MHD_HTTP_BAD_REQUEST, "%s", err);
	return o;
}

void api__coredump(struct api *api, const struct api_req *req, struct api_reply *rp)
{
	json_object *o = body_object(req, rp), *url;
	const char *s, *path;
	char err[512];
	int r;

	if (!o)
		return;
	if (!json_object_object_get_ex(o, "destination_url", &url) ||
	    !json_object_is_type(url, json_type_string)) {
		api_reply__text(rp, MHD_HTTP_BAD_REQUEST, "destination_url (a string) is required");
		goto out;
	}
	s = json_object_get_string(url);
	if (strncmp(s, "file://", 7) != 0 || s[7] != '/' ||
	    strlen(s) != (size_t)json_object_get_string_len(url)) {
		api_reply__text(rp, MHD_HTTP_BAD_REQUEST,
				"destination_url must be file:///ABSOLUTE/PATH");
		goto out;
	}
	path = s + 7;
	/* As in Cloud Hypervisor, only a paused VM is dumped: its state holds still. */
	if (!vm_paused(api) || vmi__wait_stopped(api->vm, PAUSE_TIMEOUT_S * 1000) < 0) {
		api_reply__text(rp, MHD_HTTP_CONFLICT,
				"vm.coredump needs a paused VM (vm.pause first)");
		goto out;
	}
	r = coredump__write(api->vm, path, err, sizeof(err));
	if (r < 0) {
		api_reply__text(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "vm.coredump: %s", err);
		goto out;
	}
	log_info("api: wrote a core dump to %s", path);
	api_reply__none(rp);
out:
	json_object_put(o);
}
