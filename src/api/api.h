/*
 * The REST API (--api-socket): Cloud Hypervisor's paths and JSON bodies over
 * HTTP/1.1 on a unix socket, served by libmicrohttpd from the main thread
 * (the VM's main loop while one runs, the VMM's otherwise; src/vmm.c), JSON
 * by json-c.  It drives the VMM's one VM through Cloud Hypervisor's life
 * cycle: vm.create, vm.boot, vm.shutdown, vm.delete, vmm.shutdown.
 *
 *   GET  /api/v1/vmm.ping         build_version, version, pid, features
 *   PUT  /api/v1/vmm.shutdown     stop the VM if booted, and exit (status 0)
 *   PUT  /api/v1/vm.create        a VmConfig JSON body (src/api/vmconfig.h)
 *   PUT  /api/v1/vm.boot          build and start the created VM
 *   PUT  /api/v1/vm.shutdown      stop the VM; the VMM stays (vm.boot again,
 *                                   vm.delete)
 *   PUT  /api/v1/vm.delete        stop the VM if booted, forget its config
 *   GET  /api/v1/vm.info          config (as given), state (Created, Running,
 *                                   Paused, Shutdown), memory_actual_size
 *   GET  /api/v1/vm.counters      per-device counters, per-vCPU exit counts
 *   PUT  /api/v1/vm.pause         park every vCPU (the API pauses as a
 *   PUT  /api/v1/vm.resume          consumer of the introspection core)
 *   PUT  /api/v1/vm.reboot        vmscope does not reboot guests: it stops with
 *                                   the reset status (4), as for a guest reset
 *   PUT  /api/v1/vm.power-button  ACPI power button (src/devices/acpi_pm.c)
 *   PUT  /api/v1/vm.coredump      {"destination_url":"file:///path"}: ELF core
 *                                   of a paused VM (src/api/coredump.c)
 *
 * Replies: 200 with JSON for the GETs, 204 for the PUTs that worked; errors
 * carry a one-line text/plain reason.  As Cloud Hypervisor: 404 when no VM
 * is created, 405 when the VM is not in the state the request needs (not
 * booted, not paused, already paused).  Also 400 (a body that is not what
 * the path takes: the field at fault named), 404 (unknown path), 405 (known
 * path, other method; Allow names the right one), 409 (vm.create when a VM
 * is created, vm.boot when booted), 413 (body over API_MAX_BODY), 500 (the
 * action failed, e.g. vm.boot could not build the VM: its reason), 501
 * (Cloud Hypervisor paths vmscope does not serve yet: hot-plug, resize,
 * snapshot, restore, migration, ...).
 * A vmi client that detaches does not undo vm.pause; vm.resume also lifts a
 * client's pause of every vCPU (--vmi-wait).
 */
#ifndef VMSCOPE_API_API_H
#define VMSCOPE_API_API_H

#include <stddef.h>

struct vm;
struct vmm;
struct api;
struct vm_config;

/* Bodies above this size are refused with 413. */
#define API_MAX_BODY (64 * 1024)

/*
 * Opens the socket that cmdline names (--api-socket) for vmm.  Returns NULL
 * with *err set: 0 when no --api-socket was given, else -errno, logged.
 */
struct api *api__start(const struct vm_config *cmdline, struct vmm *vmm, int *err);

/* The fds to watch while no VM runs (at most 2); call api__serve when one is readable. */
unsigned api__pollfds(const struct api *api, int fds[2]);
void api__serve(struct api *api, int fd);

/* Serves the API from vm's main loop while vm runs; api__detach when it has stopped. */
int api__attach(struct api *api, struct vm *vm);
void api__detach(struct api *api);

/* Sends the replies still pending (at most ~1 s), then closes. */
void api__stop(struct api *api);

#endif
