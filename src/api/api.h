/*
 * The REST API (--api-socket): Cloud Hypervisor's paths and JSON bodies over
 * HTTP/1.1 on a unix socket, served by libmicrohttpd from the VM's main loop
 * (so a request never sees the vCPUs half-created), JSON by json-c.
 *
 *   GET  /api/v1/vmm.ping         build_version, version, pid, features
 *   GET  /api/v1/vm.info          config, state, memory_actual_size
 *   GET  /api/v1/vm.counters      per-device counters, per-vCPU exit counts
 *   PUT  /api/v1/vm.pause         park every vCPU (needs --vmi-socket or --gdb:
 *   PUT  /api/v1/vm.resume          the API pauses as a consumer of the
 *                                   introspection core, vmi__halt)
 *   PUT  /api/v1/vm.shutdown      stop the guest now; vmscope exits 0
 *   PUT  /api/v1/vm.reboot        vmscope does not reboot guests: it stops with
 *                                   the reset status (4), as for a guest reset
 *   PUT  /api/v1/vm.power-button  ACPI power button (src/devices/acpi_pm.c)
 *   PUT  /api/v1/vm.coredump      {"destination_url":"file:///path"}: ELF core
 *                                   of a paused VM (src/api/coredump.c)
 *   PUT  /api/v1/vmm.shutdown     stop the guest and exit (status 0)
 *
 * Replies: 200 with JSON for the GETs, 204 for the PUTs that worked; errors
 * carry a one-line text/plain reason: 400 (body not a JSON object, missing or
 * bad destination_url), 404 (unknown path), 405 (known path, other method;
 * Allow names the right one), 409 (pause when paused, resume when running,
 * coredump when not paused), 413 (body over API_MAX_BODY), 500 (the action
 * failed), 501 (vm.pause/vm.resume without --vmi-socket or --gdb).
 * vmscope runs one VM for its whole life, so vm.shutdown and vmm.shutdown
 * both end the process.
 * A vmi client that detaches does not undo vm.pause; vm.resume also lifts a
 * client's pause of every vCPU (--vmi-wait).
 */
#ifndef VMSCOPE_API_API_H
#define VMSCOPE_API_API_H

#include <stddef.h>

struct vm;
struct api;

/* Bodies above this size are refused with 413. */
#define API_MAX_BODY (64 * 1024)

/*
 * Opens the socket named by vm->cfg (--api-socket) and registers it with the
 * VM's main loop; call after machine__load, before vm__run.  Returns NULL
 * with *err set (0 when no --api-socket was given, else -errno, logged).
 */
struct api *api__start(struct vm *vm, int *err);

/* After vm__run: sends the replies still pending (at most ~1 s), then closes. */
void api__stop(struct api *api);

#endif
