/*
 * Attaching to a running vmscope and the control requests: each request is
 * one SOCK_SEQPACKET message answered by one reply.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "live.h"
#include "mem.h"

#define REQUEST_TIMEOUT_MS 30000

static void live__close(struct vmscope *vm);
static int live__get_regs(struct vmscope *vm, unsigned vcpu, struct vmscope_regs *regs);

static const struct target_ops live_ops = {
	.kind = "live VM",
	.get_regs = live__get_regs,
	.close = live__close,
};

static struct vmscope_live *live_of(struct vmscope *vm)
{
	return vm && vm->ops == &live_ops ? vm->live : NULL;
}

static int recv_reply(struct vmscope *vm, int sock, uint8_t *buf, size_t size, int *fds,
		      unsigned *nfds)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	union {
		char b[CMSG_SPACE(sizeof(int) * (VMSCOPE_MAX_VCPUS + 3))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, vm->live && vm->live->closing ? 2000 : REQUEST_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return target__fail(vm, -ETIMEDOUT, "the hypervisor did not reply");
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return target__fail(vm, -errno, "control socket: %s", strerror(errno));
	if (n == 0)
		return target__fail(vm, -ECONNRESET, "the hypervisor closed the connection");
	if (nfds) {
		*nfds = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (unsigned i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*nfds < VMSCOPE_MAX_VCPUS + 3)
					fds[(*nfds)++] = fd;
				else
					close(fd);
			}
		}
	}
	return (int)n;
}

int live__request(struct vmscope *vm, uint32_t type, const void *payload, size_t len,
		  void *out, size_t out_len)
{
	struct vmscope_live *l = live_of(vm);
	uint8_t msg[VMSCOPE_MSG_MAX], buf[VMSCOPE_MSG_MAX];
	struct vmscope_msg_hdr h = { .type = type, .len = (uint32_t)(sizeof(h) + len) };
	struct vmscope_msg_reply_hdr rh;
	int n;

	if (!l)
		return target__fail(vm, -ENOTSUP, "not a live target: a %s", target__kind(vm));
	if (l->sock < 0)
		return target__fail(vm, -ENOTCONN, "detached");
	h.id = ++l->next_id;
	memcpy(msg, &h, sizeof(h));
	if (len)
		memcpy(msg + sizeof(h), payload, len);
	if (send(l->sock, msg, h.len, MSG_NOSIGNAL) < 0)
		return target__fail(vm, -errno, "control socket: %s", strerror(errno));
	for (;;) {
		n = recv_reply(vm, l->sock, buf, sizeof(buf), NULL, NULL);
		if (n < 0)
			return n;
		if ((size_t)n < sizeof(rh))
			return target__fail(vm, -EPROTO, "short reply from the hypervisor");
		memcpy(&rh, buf, sizeof(rh));
		if (rh.hdr.id == h.id)
			break;
	}
	if (rh.status < 0) {
		rh.error[sizeof(rh.error) - 1] = 0;
		return target__fail(vm, rh.status, "%s", rh.error);
	}
	if (out_len) {
		if ((size_t)n != sizeof(rh) + out_len)
			return target__fail(vm, -EPROTO, "reply of unexpected size");
		memcpy(out, buf + sizeof(rh), out_len);
	}
	return 0;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

vmscope_t *vmscope_attach(const char *socket_path, int *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vmscope *vm = target__new(&live_ops);
	struct vmscope_live *l;
	struct vmscope_msg_attach req = { .abi_version = VMSCOPE_ABI_VERSION };
	struct vmscope_msg_hdr h = { .type = VMSCOPE_MSG_ATTACH, .len = sizeof(h) + sizeof(req), .id = 1 };
	uint8_t msg[sizeof(h) + sizeof(req)], buf[VMSCOPE_MSG_MAX];
	struct vmscope_msg_reply_hdr rh;
	int fds[VMSCOPE_MAX_VCPUS + 3];
	unsigned nfds = 0;
	struct vmscope_region *regions;
	int r, n;

	if (!vm) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		r = target__fail(vm, -ENOMEM, "out of memory");
		goto fail;
	}
	vm->live = l;
	l->sock = l->chan_fd = l->ev_efd = l->stop_efd = -1;
	for (unsigned i = 0; i < VMSCOPE_MAX_VCPUS; i++)
		l->rsp_efd[i] = -1;
	if (!socket_path || strlen(socket_path) >= sizeof(addr.sun_path)) {
		r = target__fail(vm, -EINVAL, "bad socket path");
		goto fail;
	}
	strcpy(addr.sun_path, socket_path);
	l->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->sock < 0 || connect(l->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = target__fail(vm, -errno, "cannot connect to %s: %s", socket_path, strerror(errno));
		goto fail;
	}
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &req, sizeof(req));
	if (send(l->sock, msg, sizeof(msg), MSG_NOSIGNAL) < 0) {
		r = target__fail(vm, -errno, "control socket: %s", strerror(errno));
		goto fail;
	}
	n = recv_reply(vm, l->sock, buf, sizeof(buf), fds, &nfds);
	if (n < 0) {
		r = n;
		goto fail;
	}
	if ((size_t)n < sizeof(rh)) {
		close_fds(fds, nfds);
		r = target__fail(vm, -EPROTO, "short attach reply");
		goto fail;
	}
	memcpy(&rh, buf, sizeof(rh));
	if (rh.status < 0) {
		close_fds(fds, nfds);
		rh.error[sizeof(rh.error) - 1] = 0;
		r = target__fail(vm, rh.status, "attach refused: %s", rh.error);
		goto fail;
	}
	if ((size_t)n != sizeof(rh) + sizeof(l->info)) {
		close_fds(fds, nfds);
		r = target__fail(vm, -EPROTO, "attach reply of unexpected size");
		goto fail;
	}
	memcpy(&l->info, buf + sizeof(rh), sizeof(l->info));
	if (l->info.nr_vcpus == 0 || l->info.nr_vcpus > VMSCOPE_MAX_VCPUS ||
	    nfds != 3 + l->info.nr_vcpus || l->info.nr_regions == 0 || l->info.nr_regions > 4) {
		close_fds(fds, nfds);
		r = target__fail(vm, -EPROTO, "attach reply does not add up");
		goto fail;
	}
	l->chan_fd = fds[1];
	l->ev_efd = fds[2];
	for (unsigned i = 0; i < l->info.nr_vcpus; i++)
		l->rsp_efd[i] = fds[3 + i];
	vm->nr_vcpus = l->info.nr_vcpus;
	vm->writable = true;

	/* Guest RAM: one shared mapping of the memfd, regions from the map sent. */
	vm->map_base = mmap(NULL, l->info.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (vm->map_base == MAP_FAILED) {
		vm->map_base = NULL;
		r = target__fail(vm, -errno, "cannot map guest RAM: %s", strerror(errno));
		goto fail;
	}
	vm->map_size = l->info.ram_size;
	regions = calloc(l->info.nr_regions, sizeof(*regions));
	if (!regions) {
		r = target__fail(vm, -ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < l->info.nr_regions; i++) {
		if (l->info.regions[i].offset > l->info.ram_size ||
		    l->info.regions[i].size > l->info.ram_size - l->info.regions[i].offset) {
			free(regions);
			r = target__fail(vm, -EPROTO, "memory map outside the RAM memfd");
			goto fail;
		}
		regions[i].gpa = l->info.regions[i].gpa;
		regions[i].size = l->info.regions[i].size;
		regions[i].host = (uint8_t *)vm->map_base + l->info.regions[i].offset;
	}
	r = mem__set_regions(vm, regions, l->info.nr_regions);
	if (r < 0) {
		free(regions);
		goto fail;
	}

	l->hdr = mmap(NULL, l->info.chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, l->chan_fd, 0);
	if (l->hdr == MAP_FAILED) {
		l->hdr = NULL;
		r = target__fail(vm, -errno, "cannot map the event channel: %s", strerror(errno));
		goto fail;
	}
	l->chan_size = l->info.chan_size;
	if (l->hdr->magic != VMSCOPE_CHAN_MAGIC || l->hdr->version != VMSCOPE_ABI_VERSION ||
	    l->hdr->nr_vcpus != l->info.nr_vcpus || l->hdr->ev_size != sizeof(struct vmscope_event) ||
	    l->hdr->rsp_size != sizeof(struct vmscope_response) || l->hdr->total_size != l->chan_size ||
	    (l->hdr->ev_slots & (l->hdr->ev_slots - 1)) || (l->hdr->rsp_slots & (l->hdr->rsp_slots - 1)) ||
	    l->hdr->vcpu_offset + l->hdr->vcpu_stride * l->hdr->nr_vcpus > l->chan_size) {
		r = target__fail(vm, -EPROTO, "event channel layout not understood");
		goto fail;
	}
	l->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_efd < 0) {
		r = target__fail(vm, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	l->next_id = 1;
	return vm;
fail:
	if (err)
		*err = r;
	live__close(vm);
	vm->live = NULL;
	target__abandon(vm);
	return NULL;
}

/* Detaches (hooks removed, breakpoints restored, vCPUs resumed) and frees vm->live. */
static void live__close(struct vmscope *vm)
{
	struct vmscope_live *l = vm->live;

	if (!l)
		return;
	if (l->sock >= 0 && l->hdr) {
		/* Detach politely; the hypervisor does the same when the socket just closes. */
		l->closing = true;
		live__request(vm, VMSCOPE_MSG_DETACH, NULL, 0, NULL, 0);
	}
	if (l->sock >= 0)
		close(l->sock);
	if (l->hdr)
		munmap(l->hdr, l->chan_size);
	if (l->chan_fd >= 0)
		close(l->chan_fd);
	if (l->ev_efd >= 0)
		close(l->ev_efd);
	if (l->stop_efd >= 0)
		close(l->stop_efd);
	for (unsigned i = 0; i < VMSCOPE_MAX_VCPUS; i++)
		if (l->rsp_efd[i] >= 0)
			close(l->rsp_efd[i]);
	free(l);
	vm->live = NULL;
}

/* ---- Requests --------------------------------------------------------------- */

uint64_t vmscope_caps(const vmscope_t *vm)
{
	return vm && vm->live ? vm->live->info.caps : 0;
}

unsigned vmscope_attach_flags(const vmscope_t *vm)
{
	return vm && vm->live ? vm->live->info.flags : 0;
}

static int vcpu_req(vmscope_t *vm, uint32_t type, unsigned vcpu, uint32_t enable)
{
	struct vmscope_msg_vcpu m = { .vcpu = vcpu, .enable = enable };

	return live__request(vm, type, &m, sizeof(m), NULL, 0);
}

int vmscope_pause(vmscope_t *vm, unsigned vcpu)
{
	return vcpu_req(vm, VMSCOPE_MSG_PAUSE, vcpu, 0);
}

int vmscope_resume(vmscope_t *vm, unsigned vcpu)
{
	vmscope_flush_tlb(vm);
	return vcpu_req(vm, VMSCOPE_MSG_RESUME, vcpu, 0);
}

int vmscope_singlestep(vmscope_t *vm, unsigned vcpu, int enable)
{
	return vcpu_req(vm, VMSCOPE_MSG_SINGLESTEP, vcpu, enable ? 1 : 0);
}

/* Registers of a paused or held vCPU. */
static int live__get_regs(struct vmscope *vm, unsigned vcpu, struct vmscope_regs *regs)
{
	struct vmscope_msg_vcpu m = { .vcpu = vcpu };
	struct vmscope_msg_regs out;
	int r = live__request(vm, VMSCOPE_MSG_GET_REGS, &m, sizeof(m), &out, sizeof(out));

	if (r == 0)
		*regs = out.regs;
	return r;
}

int vmscope_set_regs(vmscope_t *vm, unsigned vcpu, const struct vmscope_regs *regs)
{
	struct vmscope_msg_regs m = { .vcpu = vcpu };

	if (!regs)
		return -EINVAL;
	m.regs = *regs;
	return live__request(vm, VMSCOPE_MSG_SET_REGS, &m, sizeof(m), NULL, 0);
}

int vmscope_get_msr(vmscope_t *vm, unsigned vcpu, uint32_t index, uint64_t *value)
{
	struct vmscope_msg_msr m = { .vcpu = vcpu, .index = index }, out;
	int r = live__request(vm, VMSCOPE_MSG_GET_MSR, &m, sizeof(m), &out, sizeof(out));

	if (r == 0 && value)
		*value = out.value;
	return r;
}

int vmscope_set_msr(vmscope_t *vm, unsigned vcpu, uint32_t index, uint64_t value)
{
	struct vmscope_msg_msr m = { .vcpu = vcpu, .index = index, .value = value }, out;

	return live__request(vm, VMSCOPE_MSG_SET_MSR, &m, sizeof(m), &out, sizeof(out));
}

int vmscope_inject(vmscope_t *vm, unsigned vcpu, unsigned vector, int has_error,
		   uint32_t error_code)
{
	struct vmscope_msg_inject m = {
		.vcpu = vcpu, .vector = (uint8_t)vector, .has_error = has_error ? 1 : 0,
		.error_code = error_code,
	};

	if (vector > 255)
		return target__fail(vm, -EINVAL, "bad vector");
	return live__request(vm, VMSCOPE_MSG_INJECT, &m, sizeof(m), NULL, 0);
}

static int gpa_req(vmscope_t *vm, uint32_t type, uint64_t gpa)
{
	struct vmscope_msg_gpa m = { .gpa = gpa };

	return live__request(vm, type, &m, sizeof(m), NULL, 0);
}

int vmscope_set_bp_pa(vmscope_t *vm, uint64_t gpa)
{
	return gpa_req(vm, VMSCOPE_MSG_SET_BP, gpa);
}

int vmscope_clear_bp_pa(vmscope_t *vm, uint64_t gpa)
{
	return gpa_req(vm, VMSCOPE_MSG_CLEAR_BP, gpa);
}

int vmscope_set_bp_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa_out)
{
	uint64_t gpa;
	int r = vmscope_translate(vm, cr3, gva, 0, &gpa, NULL);

	if (r < 0)
		return r;
	if (gpa_out)
		*gpa_out = gpa;
	return vmscope_set_bp_pa(vm, gpa);
}

int vmscope_clear_bp_va(vmscope_t *vm, uint64_t cr3, uint64_t gva)
{
	uint64_t gpa;
	int r = vmscope_translate(vm, cr3, gva, 0, &gpa, NULL);

	return r < 0 ? r : vmscope_clear_bp_pa(vm, gpa);
}

int vmscope_protect_page(vmscope_t *vm, uint64_t gpa)
{
	return gpa_req(vm, VMSCOPE_MSG_PROTECT, gpa);
}

int vmscope_unprotect_page(vmscope_t *vm, uint64_t gpa)
{
	return gpa_req(vm, VMSCOPE_MSG_UNPROTECT, gpa);
}

int vmscope_watch_msrs(vmscope_t *vm, const uint32_t *index, unsigned n)
{
	struct vmscope_msg_msr_watch m = { .nr = n };

	if (n > VMSCOPE_MAX_WATCHED_MSRS || (n && !index))
		return target__fail(vm, -EINVAL, "at most %d MSRs", VMSCOPE_MAX_WATCHED_MSRS);
	if (n)
		memcpy(m.index, index, n * sizeof(*index));
	return live__request(vm, VMSCOPE_MSG_MSR_WATCH, &m, sizeof(m), NULL, 0);
}

/* Any target: a running vCPU is paused for the read (get_regs says -EBUSY). */
int vmscope_sample_regs(vmscope_t *vm, unsigned vcpu, struct vmscope_regs *regs)
{
	int r = vmscope_get_regs(vm, vcpu, regs);

	if (r != -EBUSY)
		return r;
	r = vmscope_pause(vm, vcpu);
	if (r < 0)
		return r;
	r = vmscope_get_regs(vm, vcpu, regs);
	vmscope_resume(vm, vcpu);
	return r;
}
