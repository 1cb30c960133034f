/*
 * Set-up and tear-down of the introspection core: what this host can
 * deliver, the event channel and the control socket when --vmi-socket asks
 * for them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm_ioctl.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

static void vmi__cleanup(void *opaque)
{
	struct vmi_core *core = opaque;

	if (core->sock.client_fd >= 0)
		close(core->sock.client_fd);
	if (core->sock.listen_fd >= 0)
		close(core->sock.listen_fd);
	if (core->vm->cfg->vmi_socket)
		unlink(core->vm->cfg->vmi_socket);
	if (core->hdr)
		munmap(core->hdr, core->chan_size);
	if (core->chan_fd >= 0)
		close(core->chan_fd);
	if (core->ev_efd >= 0)
		close(core->ev_efd);
	pthread_mutex_destroy(&core->lock);
	pthread_cond_destroy(&core->cond);
	core->vm->vmi = NULL;
	free(core);
}

/* What the vCPU loop calls in the core (vcpu_hooks.h). */
static const struct vcpu_hook_ops vmi_vcpu_hooks = {
	.vcpu_init = vmi__vcpu_init,
	.vcpu_destroy = vmi__vcpu_free,
	.vm_started = vmi__start,
	.vm_stopped = vmi__shutdown,
	.before_run = vmi__before_run,
	.exit = vmi__hook,
	.unclaimed = vmi__unclaimed,
	.wake = vmi__wake,
	.vcpu_exit = vmi__vcpu_exit,
};

/* At VM creation (before vCPUs exist): enables what must be enabled early. */
int vmi__init(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct vmi_core *core;
	bool gdb = cfg->gdb_path[0] || cfg->gdb_tcp_port;
	bool api = config__has_api_socket(cfg);
	int r;

	/* The core also serves in-process consumers (GDB stub, REST API) without a socket. */
	if (!cfg->vmi_socket && !gdb && !api)
		return 0;
	if (cfg->vmi_socket && cfg->cpus_boot > VMSCOPE_MAX_VCPUS) {
		log_error("--vmi-socket: introspection supports at most %d vCPUs", VMSCOPE_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->vmi_socket &&
	    strlen(cfg->vmi_socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("--vmi-socket: path too long");
		return -ENAMETOOLONG;
	}
	core = calloc(1, sizeof(*core));
	if (!core)
		return -ENOMEM;
	core->vm = vm;
	core->sock.listen_fd = core->sock.client_fd = core->chan_fd = core->ev_efd = -1;
	core->timeout_ms = cfg->vmi_timeout_ms ? cfg->vmi_timeout_ms : 5000;
	core->client_lost = vmi__detach_lost;
	pthread_mutex_init(&core->lock, NULL);
	pthread_cond_init(&core->cond, NULL);
	vm->vmi = core;
	if (vm__on_destroy(vm, vmi__cleanup, core) < 0) {
		vm->vmi = NULL;
		free(core);
		return -ENOSPC;
	}
	core->nr_slots = vm->map.nr_regions;
	r = vm__register_vcpu_hooks(vm, &vmi_vcpu_hooks);
	if (r < 0)
		return r;
	if (!cfg->vmi_socket)
		return 0; /* no client: no channel, no socket, no extra exits */

	/* Capabilities: what this host can deliver, probed. */
	core->caps = 1u << VMSCOPE_EV_IO | 1u << VMSCOPE_EV_MMIO | 1u << VMSCOPE_EV_SHUTDOWN |
		    1u << VMSCOPE_EV_INTERNAL_ERROR | 1u << VMSCOPE_EV_PAUSE |
		    1u << VMSCOPE_EV_VCPU_START;
	if (host_debug__sw_bp_ok(&vm->host->dbg))
		core->caps |= 1u << VMSCOPE_EV_BREAKPOINT;
	if (host_debug__step_ok(&vm->host->dbg))
		core->caps |= 1u << VMSCOPE_EV_SINGLESTEP;
	if (host_debug__hw_bp_ok(&vm->host->dbg))
		core->caps |= 1u << VMSCOPE_EV_HW_BREAKPOINT;
	if (vm->host->cap_readonly_mem)
		core->caps |= 1u << VMSCOPE_EV_PAGE_WRITE;
	if (vm->host->cap_user_space_msr && vm->host->cap_msr_filter) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X86_USER_SPACE_MSR, .args[0] = KVM_MSR_EXIT_REASON_FILTER,
		};

		if (vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == 0) {
			core->usermsr_enabled = true;
			core->caps |= 1u << VMSCOPE_EV_MSR_READ | 1u << VMSCOPE_EV_MSR_WRITE;
		} else {
			log_warn("vmi: KVM_CAP_X86_USER_SPACE_MSR: %s; no MSR events", strerror(errno));
		}
	}
	/*
	 * Measured on kvm_pvm: KVM_CAP_EXIT_HYPERCALL is offered, but a vmcall
	 * (or vmmcall, patched into vmcall) is emulated by re-executing it, so
	 * the vCPU never leaves it and no hypercall exit ever comes.
	 */
	if (!vm->host->emulated &&
	    vm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_EXIT_HYPERCALL) & (1 << 12)) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL, .args[0] = 1ULL << 12 };

		if (vm_ioctl(vm, KVM_ENABLE_CAP, &cap) == 0)
			core->caps |= 1u << VMSCOPE_EV_HYPERCALL;
	}
	{
		int sr = vm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

		core->sync_regs = sr > 0 && (sr & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
						   (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	}
	if (cfg->no_irqchip) /* else HLT never leaves KVM */
		core->caps |= 1u << VMSCOPE_EV_HLT;

	if (vmi__channel_create(core, cfg->cpus_boot) < 0) {
		log_error("vmi: cannot create the event channel: %s", strerror(errno));
		return -ENOMEM;
	}
	core->ev_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (core->ev_efd < 0)
		return -errno;
	return vmi__socket_listen(core, cfg->vmi_socket);
}

/* After the vCPUs are created: starts serving clients. */
int vmi__start(struct vm *vm)
{
	struct vmi_core *core = vm->vmi;

	if (!core)
		return 0;
	vmi__update_watch(core);
	pthread_mutex_lock(&core->lock);
	atomic_store_explicit(&core->ready, true, memory_order_release);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	/* A consumer's all-stop asked before the vCPUs existed: make sure it holds. */
	if (atomic_load(&core->halt))
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu__kick(vm->vcpus[i]);
	return vmi__socket_start(core);
}
