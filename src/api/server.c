/*
 * The REST API server: see api.h for the paths.  libmicrohttpd runs in its
 * epoll mode with no thread of its own: its epoll fd is watched by the main
 * thread (one of the VM main loop's pollfds while a VM runs, the VMM's idle
 * loop otherwise) and MHD_run() is called when it is readable, so requests
 * are handled on the main thread, one at a time, never while a VM is half
 * built.  The routes are in lifecycle.c, the handlers there and in handlers.c.
 */
#include <errno.h>
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

#include "api/api_internal.h"
#include "api/mhd_lib.h"
#include "log.h"
#include "vm.h"
#include "vmi/vmi.h"
#include "vmm.h"

#define API_PREFIX "/api/v1/"

/* libmicrohttpd's functions, loaded when the first API server starts. */
static const struct mhd_lib *mhd;

/* ---- Routing ------------------------------------------------------------------- */

static void api__route(struct api *api, const char *url, const char *method,
		       struct api_req *req, struct api_reply *rp)
{
	const struct api_route *path_match = NULL;

	if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) == 0) {
		const char *p = url + strlen(API_PREFIX);

		for (size_t i = 0; i < api_nr_routes; i++) {
			if (strcmp(api_routes[i].path, p) != 0)
				continue;
			path_match = &api_routes[i];
			if (strcmp(api_routes[i].method, method) != 0)
				continue;
			req->path = p;
			if (api_routes[i].booted && !api->vm) {
				/* Cloud Hypervisor's codes: not created, or not booted. */
				if (!api->vmm->cfg)
					api_reply__text(rp, MHD_HTTP_NOT_FOUND,
							"%s: no VM is created (vm.create first)", p);
				else
					api_reply__text(rp, MHD_HTTP_METHOD_NOT_ALLOWED,
							"%s: the VM is not booted (vm.boot first)", p);
				return;
			}
			api_routes[i].fn(api, req, rp);
			return;
		}
	}
	if (path_match) {
		api_reply__text(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes %s", url,
				path_match->method);
		rp->allow = path_match->method;
		return;
	}
	api_reply__text(rp, MHD_HTTP_NOT_FOUND, "no such API path");
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
			api_reply__text(&rp, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than %d bytes",
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
		api_reply__text(&rp, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than %d bytes",
				API_MAX_BODY);
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

void api__serve(struct api *api, int fd)
{
	uint64_t n;

	if (fd == api->timer_fd && read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("api: timerfd: %s", strerror(errno));
	api__run(api);
}

unsigned api__pollfds(const struct api *api, int fds[2])
{
	const union MHD_DaemonInfo *info = mhd->get_daemon_info(api->mhd,
								MHD_DAEMON_INFO_EPOLL_FD);

	fds[0] = api->timer_fd;
	if (!info)
		return 1;
	fds[1] = info->epoll_fd;
	return 2;
}

static bool api__poll(struct vm *vm, int fd, void *opaque)
{
	(void)vm;
	api__serve(opaque, fd);
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

static const struct vmi_consumer_ops api_vmi_ops = { 0 };

int api__attach(struct api *api, struct vm *vm)
{
	int fds[2], r = 0;
	unsigned n = api__pollfds(api, fds);

	for (unsigned i = 0; i < n && r == 0; i++)
		r = vm__register_pollfd(vm, fds[i], api__poll, api);
	if (r < 0) {
		log_error("--api-socket: %s", strerror(-r));
		return r;
	}
	api->vm = vm;
	api->halted = false;
	/* The introspection core pauses and resumes for us (it exists with --api-socket). */
	if (vm->vmi) {
		r = vmi__register_consumer(vm, &api_vmi_ops, api);
		if (r < 0)
			log_warn("api: vm.pause unavailable: %s", strerror(-r));
		api->consumer = r < 0 ? -1 : r;
	}
	return 0;
}

void api__detach(struct api *api)
{
	if (!api || !api->vm)
		return;
	if (api->consumer >= 0)
		vmi__release_consumer(api->vm, api->consumer);
	api->consumer = -1;
	api->vm = NULL;
	api->halted = false;
}

struct api *api__start(const struct vm_config *cfg, struct vmm *vmm, int *err)
{
	const union MHD_DaemonInfo *info;
	struct api *api;

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
	api->vmm = vmm;
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
	log_info("api: listening on %s", api->path[0] ? api->path : "an inherited socket");
	return api;
fail:
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
	api__detach(api);
	mhd->stop_daemon(api->mhd); /* closes the listening socket too */
	close(api->timer_fd);
	if (api->path[0])
		unlink(api->path);
	free(api);
}
