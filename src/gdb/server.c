/*
 * The stub's listening socket and thread: one GDB connection at a time, in
 * all-stop mode.  A peer that disappears, sends garbage or hangs never stops
 * the guest for good: its breakpoints are removed, the vCPUs resumed, and the
 * stub listens for the next connection.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "gdb/stub_impl.h"
#include "exit_status.h"
#include "log.h"
#include "seccomp_filter.h"
#include "vm.h"
#include "vmi/vmi.h"

/* How long a reply may wait for a debugger that does not read. */
#define GDB_SEND_TIMEOUT_S 10

static void conn_write(void *opaque, const void *buf, size_t len)
{
	struct gdb_stub *st = opaque;
	const char *p = buf;

	while (len > 0 && st->conn_fd >= 0) {
		ssize_t n = send(st->conn_fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The peer is gone or stuck; the read side notices and cleans up. */
			log_warn("gdb: cannot send to the debugger (%s); dropping it",
				 n < 0 ? strerror(errno) : "closed");
			shutdown(st->conn_fd, SHUT_RDWR);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

/* Takes the pending stop once every vCPU is parked; false when there is none. */
static bool take_stop(struct gdb_stub *st, struct gdb_stop *stop)
{
	bool have;

	pthread_mutex_lock(&st->lock);
	have = st->stop_pending;
	pthread_mutex_unlock(&st->lock);
	if (!have)
		return false;
	/* Without our lock: a vCPU on its way to the park may call back into the stub. */
	if (gdb_stub__wait_parked(st) < 0)
		log_warn("gdb: a vCPU did not stop within 5 s");
	pthread_mutex_lock(&st->lock);
	*stop = st->stop;
	st->stop_pending = false;
	pthread_mutex_unlock(&st->lock);
	return true;
}

static void serve(struct gdb_stub *st)
{
	struct gdb_session *s = &st->session;
	struct gdb_stop stop;
	static char buf[65536];

	/* Attach: stop the guest (it may already be waiting at its first instruction). */
	stop = (struct gdb_stop){ .kind = GDB_STOP_INTERRUPT, .vcpu = 0 };
	gdb_stub__request_stop(st, &stop);
	if (gdb_stub__wait_parked(st) < 0)
		log_warn("gdb: a vCPU did not stop within 5 s");
	pthread_mutex_lock(&st->lock);
	stop = st->stop;
	st->stop_pending = false;
	pthread_mutex_unlock(&st->lock);
	drain(st->event_fd);
	st->g_vcpu = stop.vcpu;
	gdb_session__init(s, &gdb_stub_ops, st, conn_write, st, &stop);

	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = st->conn_fd, .events = POLLIN },
			{ .fd = st->event_fd, .events = POLLIN },
			{ .fd = st->quit_fd, .events = POLLIN },
			{ .fd = st->vm->stop_efd, .events = POLLIN },
		};

		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("gdb: poll: %s", strerror(errno));
			break;
		}
		if (pfd[2].revents || pfd[3].revents) {
			/* The guest is gone: tell GDB how it ended. */
			if (pfd[3].revents && !pfd[2].revents) {
				struct gdb_stop exited = { .kind = GDB_STOP_EXITED,
							   .status = st->vm->stop_status };

				if (s->state == GDB_SESSION_RUNNING)
					gdb_session__stopped(s, &exited);
				else
					gdb_session__console(s, "vmscope: the guest has stopped\n");
			}
			return;
		}
		if (pfd[1].revents) {
			drain(st->event_fd);
			if (take_stop(st, &stop)) {
				st->g_vcpu = stop.vcpu;
				gdb_session__stopped(s, &stop);
			}
		}
		if (pfd[0].revents) {
			ssize_t n = read(st->conn_fd, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				log_info("gdb: the debugger went away; removing its breakpoints and "
					 "resuming the guest");
				gdb_stub__release(st);
				return;
			}
			pthread_mutex_lock(&st->ops_lock);
			if (vm__stopping(st->vm)) {
				pthread_mutex_unlock(&st->ops_lock);
				continue; /* the stop_efd branch ends the session */
			}
			gdb_session__input(s, buf, (size_t)n);
			st->g_vcpu = s->g_vcpu;
			pthread_mutex_unlock(&st->ops_lock);
			if (s->state == GDB_SESSION_CLOSED)
				return; /* D or k: the ops already released or ended the guest */
		}
	}
}

static void *server_thread(void *arg)
{
	struct gdb_stub *st = arg;

	if (seccomp_filter__apply(SECCOMP_THREAD_GDB, st->vm->cfg->seccomp) < 0) {
		vm__stop(st->vm, VM_STOP_ERROR, EXIT_ERROR);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = st->listen_fd, .events = POLLIN },
			{ .fd = st->quit_fd, .events = POLLIN },
			{ .fd = st->vm->stop_efd, .events = POLLIN },
		};
		struct timeval send_timeout = { .tv_sec = GDB_SEND_TIMEOUT_S };
		int one = 1;

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents || pfd[2].revents)
			break;
		st->conn_fd = accept4(st->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (st->conn_fd < 0)
			continue;
		setsockopt(st->conn_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A debugger that stops reading cannot block the stub (and the guest) for good. */
		setsockopt(st->conn_fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
		log_info("gdb: debugger attached");
		serve(st);
		close(st->conn_fd);
		st->conn_fd = -1;
	}
	return NULL;
}

static int listen_unix(struct gdb_stub *st, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_error("--gdb: path '%s' is too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run would make bind fail. */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		log_error("--gdb: cannot listen on %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	snprintf(st->path, sizeof(st->path), "%s", path);
	return fd;
}

static int listen_tcp(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		int e = errno;

		log_error("--gdb: cannot listen on TCP port %u: %s", port, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static void gdb_stub__destroy(void *opaque)
{
	struct gdb_stub *st = opaque;
	uint64_t one = 1;

	if (st->thread_started) {
		(void)!write(st->quit_fd, &one, sizeof(one));
		pthread_join(st->thread, NULL);
	}
	if (st->listen_fd >= 0)
		close(st->listen_fd);
	if (st->path[0])
		unlink(st->path);
	close(st->quit_fd);
	close(st->event_fd);
	pthread_mutex_destroy(&st->ops_lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int gdb_stub__start(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct gdb_stub *st = calloc(1, sizeof(*st));
	int r;

	if (cfg->cpus_boot > GDB_MAX_VCPUS) {
		log_error("--gdb: the stub handles at most %u vCPUs (--cpus boot=%u)", GDB_MAX_VCPUS,
			  cfg->cpus_boot);
		free(st);
		return -EINVAL;
	}
	if (!st)
		return -ENOMEM;
	st->vm = vm;
	st->nr_vcpus = cfg->cpus_boot < GDB_MAX_VCPUS ? cfg->cpus_boot : GDB_MAX_VCPUS;
	st->conn_fd = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->ops_lock, NULL);
	st->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st->quit_fd = eventfd(0, EFD_CLOEXEC);
	for (unsigned i = 0; i < st->nr_vcpus; i++)
		st->act[i] = GDB_ACT_CONT;
	r = gdb_stub__attach_core(st);
	if (r < 0) {
		log_error("gdb: cannot use the introspection core: %s", strerror(-r));
		close(st->event_fd);
		close(st->quit_fd);
		pthread_mutex_destroy(&st->ops_lock);
			pthread_mutex_destroy(&st->lock);
		free(st);
		return r;
	}
	/* wait: every vCPU parks before its first instruction, stopped "by a trap". */
	st->halt = cfg->gdb_wait;
	st->stop = (struct gdb_stop){ .kind = GDB_STOP_STEP, .vcpu = 0 };
	st->stop_pending = cfg->gdb_wait;
	if (cfg->gdb_wait)
		vmi__halt(vm, st->cid, true);
	st->listen_fd = cfg->gdb_path[0] ? listen_unix(st, cfg->gdb_path)
				      : listen_tcp(cfg->gdb_tcp_addr, cfg->gdb_tcp_port);
	if (st->event_fd < 0 || st->quit_fd < 0 || st->listen_fd < 0) {
		r = st->listen_fd < 0 ? st->listen_fd : -errno;
		st->listen_fd = st->listen_fd < 0 ? -1 : st->listen_fd;
		if (st->event_fd < 0)
			st->event_fd = eventfd(0, 0);
		if (st->quit_fd < 0)
			st->quit_fd = eventfd(0, 0);
		gdb_stub__destroy(st);
		return r;
	}
	r = vm__on_destroy(vm, gdb_stub__destroy, st);
	if (r < 0) {
		gdb_stub__destroy(st);
		return r;
	}
	r = pthread_create(&st->thread, NULL, server_thread, st);
	if (r != 0) {
		log_error("gdb: cannot start the stub's thread: %s", strerror(r));
		return -r;
	}
	st->thread_started = true;
	/* Shown at the default log level when the guest waits: say why nothing happens. */
	if (cfg->gdb_path[0])
		log_msg(cfg->gdb_wait ? LOG_WARN : LOG_INFO, "gdb: listening on %s%s",
			cfg->gdb_path, cfg->gdb_wait ? "; the guest waits for the debugger" : "");
	else
		log_msg(cfg->gdb_wait ? LOG_WARN : LOG_INFO, "gdb: listening on %u.%u.%u.%u:%u%s",
			cfg->gdb_tcp_addr >> 24, cfg->gdb_tcp_addr >> 16 & 0xff,
			cfg->gdb_tcp_addr >> 8 & 0xff, cfg->gdb_tcp_addr & 0xff, cfg->gdb_tcp_port,
			cfg->gdb_wait ? "; the guest waits for the debugger" : "");
	if (cfg->gdb_tcp_port && cfg->gdb_tcp_addr >> 24 != 127)
		log_warn("gdb: allow-remote=on: any machine that reaches TCP port %u can read and "
			 "write all guest memory and registers, with no authentication",
			 cfg->gdb_tcp_port);
	return 0;
}
