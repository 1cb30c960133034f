/*
 * What the files of the REST API share; private to src/api.
 *
 *   server.c    listen, start and stop; libmicrohttpd on the VM's main loop;
 *               a request's body, its route, its reply sent
 *   handlers.c  one function per path of a running VM, the VM's state
 *               (paused, running) as the API sees it
 *   lifecycle.c vm.create, vm.boot, vm.delete, vm.info, vmm.*: the VMM's side;
 *               the route table
 *   vmconfig.c  the VmConfig JSON of vm.create
 *   json_body.c a body parsed as one JSON object
 *   reply.c     building a reply: JSON, a line of text, or none
 *   coredump.c  the ELF core of vm.coredump
 *   mhd_lib.c   libmicrohttpd, dlopen()ed
 */
#ifndef VMSCOPE_API_INTERNAL_H
#define VMSCOPE_API_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

struct api {
	struct vmm *vmm;
	struct vm *vm;  /* the VM being served (api__attach); NULL when none runs */
	struct MHD_Daemon *mhd;
	int listen_fd;
	int timer_fd;   /* ticks once a second so libmicrohttpd can expire idle connections */
	int consumer;   /* our id with the introspection core (vmi__halt), -1: none */
	bool halted;    /* vm.pause is in force */
	char path[108]; /* unlinked at the end; "" for an inherited fd */
};

/* One request: its body so far. */
struct api_req {
	const char *path; /* after /api/v1/, set when it is routed */
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

typedef void (*api_handler_fn)(struct api *api, const struct api_req *req,
			       struct api_reply *rp);

struct api_route {
	const char *path; /* after /api/v1/ */
	const char *method;
	api_handler_fn fn;
	bool booted;      /* needs a booted VM: else 404 (none created) or 405 */
};

/* lifecycle.c: every path the API serves. */
extern const struct api_route api_routes[];
extern const size_t api_nr_routes;

/*
 * handlers.c: the paths that act on a booted VM.  The route table calls
 * them through api_vm_route, which answers 404 or 405 when no VM is booted.
 */
void api__counters(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__pause(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__resume(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__vm_shutdown(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__reboot(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__power_button(struct api *api, const struct api_req *req, struct api_reply *rp);
void api__coredump(struct api *api, const struct api_req *req, struct api_reply *rp);
/* "Paused", "Running" or "Shutdown" for the VM being served. */
const char *api__vm_state(const struct api *api);

/* reply.c */
void api_reply__text(struct api_reply *rp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Takes ownership of obj. */
void api_reply__json(struct api_reply *rp, unsigned status, json_object *obj);
void api_reply__none(struct api_reply *rp);

#endif
