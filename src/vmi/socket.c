/*
 * The control socket (--vmi-socket): one controlling client at a time, on
 * its own thread.  Attach hands over the guest-RAM memfd, the event-channel
 * memfd and the eventfds; every later request is parsed by vmi_msg__parse
 * (msg.c) before anything acts on it.  A client that goes away, hangs past
 * --vmi-timeout or is told to detach loses all its hooks (vmi__detach).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "exit_status.h"
#include "log.h"
#include "seccomp_filter.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"
#include "vmi/requests.h"

static int send_reply(int fd, struct vmi_reply *rp, size_t payload, const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = rp, .iov_len = sizeof(rp->h) + payload };
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VMSCOPE_MAX_VCPUS + 3))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	rp->h.hdr.len = (uint32_t)iov.iov_len;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void do_attach(struct vmi_core *core, struct vmi_reply *rp)
{
	struct vm *vm = core->vm;
	struct vmscope_msg_attach_reply *a = (void *)rp->payload;
	int fds[VMSCOPE_MAX_VCPUS + 3];
	unsigned nfds = 0;
	bool paused = true;

	memset(a, 0, sizeof(*a));
	a->abi_version = VMSCOPE_ABI_VERSION;
	a->nr_vcpus = vm->nr_vcpus;
	a->ram_size = vm->map.ram_size;
	a->chan_size = core->chan_size;
	a->nr_regions = vm->map.nr_regions;
	for (unsigned i = 0; i < vm->map.nr_regions && i < 4; i++) {
		a->regions[i].gpa = vm->map.regions[i].gpa;
		a->regions[i].size = vm->map.regions[i].size;
		a->regions[i].offset = vm->map.regions[i].offset;
	}
	a->caps = core->caps;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		paused &= atomic_load(&vm->vcpus[i]->vmi->pause_req);
	if (paused)
		a->flags |= VMSCOPE_ATTACH_PAUSED;
	if (vm->host->emulated)
		a->flags |= VMSCOPE_ATTACH_EMULATED;
	fds[nfds++] = vm->mem_fd;
	fds[nfds++] = core->chan_fd;
	fds[nfds++] = core->ev_efd;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		fds[nfds++] = vm->vcpus[i]->vmi->rsp_efd;
	vmi__channel_reset(core);
	if (paused) {
		/* --vmi-wait: the client may read registers as soon as it is attached. */
		pthread_mutex_lock(&core->lock);
		vmi__pause_vcpus(core, VMSCOPE_ALL_VCPUS, true, rp);
		pthread_mutex_unlock(&core->lock);
	}
	if (send_reply(core->sock.client_fd, rp, sizeof(*a), fds, nfds) == 0) {
		atomic_store(&core->attached, true);
		log_info("vmi: client attached");
	}
}

static void client_gone(struct vmi_core *core, const char *why)
{
	if (atomic_load(&core->attached))
		vmi__detach(core, why, false);
	pthread_mutex_lock(&core->lock);
	close(core->sock.client_fd);
	core->sock.client_fd = -1;
	pthread_mutex_unlock(&core->lock);
}

static void on_client(struct vmi_core *core)
{
	uint8_t buf[VMSCOPE_MSG_MAX + 1];
	struct vmi_msg_limits lim = { .nr_vcpus = core->vm->nr_vcpus, .map = &core->vm->map };
	struct vmi_reply rp;
	struct vmi_msg m;
	const char *why;
	size_t payload = 0;
	ssize_t n;
	int r;

	n = recv(core->sock.client_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_gone(core, n == 0 ? "client closed the connection" : strerror(errno));
		return;
	}
	memset(&rp.h, 0, sizeof(rp.h));
	r = vmi_msg__parse(buf, (size_t)n > sizeof(buf) ? sizeof(buf) + 1 : (size_t)n, &lim, &m,
			   &why);
	rp.h.hdr = m.hdr;
	if (r < 0) {
		log_warn("vmi: malformed request (type %u, %zd bytes): %s", m.hdr.type, n, why);
		vmi__reply_fail(&rp, r, "%s", why);
		send_reply(core->sock.client_fd, &rp, 0, NULL, 0);
		return;
	}
	if (m.hdr.type == VMSCOPE_MSG_ATTACH) {
		if (atomic_load(&core->attached))
			vmi__reply_fail(&rp, -EALREADY, "already attached");
		else
			return do_attach(core, &rp);
	} else if (!atomic_load(&core->attached)) {
		vmi__reply_fail(&rp, -ENOTCONN, "attach first");
	} else if (m.hdr.type == VMSCOPE_MSG_DETACH) {
		send_reply(core->sock.client_fd, &rp, 0, NULL, 0);
		vmi__detach(core, "client asked to detach", true);
		return;
	} else {
		pthread_mutex_lock(&core->lock);
		payload = vmi__handle_request(core, &m, &rp);
		pthread_mutex_unlock(&core->lock);
	}
	send_reply(core->sock.client_fd, &rp, rp.h.status < 0 ? 0 : payload, NULL, 0);
}

static void on_listen(struct vmi_core *core)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct vmi_reply rp;
	int fd = accept4(core->sock.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	memset(&rp.h, 0, sizeof(rp.h));
	rp.h.hdr.type = VMSCOPE_MSG_ATTACH;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		log_warn("vmi: refusing a client of uid %u", (unsigned)cred.uid);
		vmi__reply_fail(&rp, -EACCES, "permission denied");
		send_reply(fd, &rp, 0, NULL, 0);
		close(fd);
		return;
	}
	if (core->sock.client_fd >= 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t buf[VMSCOPE_MSG_MAX];

		/* Read its request first: closing on unread data would reset the connection. */
		if (poll(&pfd, 1, 200) == 1 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= (ssize_t)sizeof(rp.h.hdr))
			memcpy(&rp.h.hdr, buf, sizeof(rp.h.hdr));
		vmi__reply_fail(&rp, -EBUSY, "busy: another client is attached");
		send_reply(fd, &rp, 0, NULL, 0);
		shutdown(fd, SHUT_WR);
		close(fd);
		return;
	}
	pthread_mutex_lock(&core->lock);
	core->sock.client_fd = fd;
	pthread_mutex_unlock(&core->lock);
}

static void *control_thread(void *arg)
{
	struct vmi_core *core = arg;
	struct vm *vm = core->vm;

	if (seccomp_filter__apply(SECCOMP_THREAD_VMI, vm->cfg->seccomp) < 0) {
		vm__stop(vm, VM_STOP_ERROR, EXIT_ERROR);
		return NULL;
	}
	while (!vm__stopping(vm)) {
		struct pollfd pfd[3] = {
			{ .fd = vm->stop_efd, .events = POLLIN },
			{ .fd = core->sock.listen_fd, .events = POLLIN },
			{ .fd = core->sock.client_fd, .events = POLLIN },
		};

		if (poll(pfd, 3, -1) < 0)
			continue;
		if (pfd[1].revents & POLLIN)
			on_listen(core);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			on_client(core);
	}
	return NULL;
}

int vmi__socket_listen(struct vmi_core *core, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old;

	strcpy(addr.sun_path, path);
	core->sock.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (core->sock.listen_fd < 0)
		return -errno;
	unlink(path);
	old = umask(0177); /* the socket is created 0600 */
	if (bind(core->sock.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		umask(old);
		log_error("--vmi-socket: cannot bind '%s': %s", path, strerror(e));
		return -e;
	}
	umask(old);
	if (listen(core->sock.listen_fd, 4) < 0)
		return -errno;
	return 0;
}

/* Once every vCPU exists; nothing to do without --vmi-socket. */
int vmi__socket_start(struct vmi_core *core)
{
	const struct vm_config *cfg = core->vm->cfg;
	int r;

	if (core->sock.listen_fd < 0)
		return 0;
	r = pthread_create(&core->sock.thread, NULL, control_thread, core);
	if (r != 0)
		return -r;
	core->sock.thread_started = true;
	log_info("vmi: listening on %s%s", cfg->vmi_socket,
		 cfg->vmi_wait ? " (vCPUs wait for a client to resume them)" : "");
	return 0;
}

void vmi__shutdown(struct vm *vm)
{
	struct vmi_core *core = vm->vmi;

	if (!core || !core->sock.thread_started)
		return;
	pthread_join(core->sock.thread, NULL);
	core->sock.thread_started = false;
	/* The client sees the connection end now, not at vm__destroy. */
	if (core->sock.client_fd >= 0) {
		close(core->sock.client_fd);
		core->sock.client_fd = -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->vmi->rsp_efd >= 0)
			close(vm->vcpus[i]->vmi->rsp_efd);
}
