/* The VMM: at most one VM at a time, and the REST API around it (see vmm.h). */
#include "vmm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/api.h"
#include "api/vmconfig.h"
#include "exit_status.h"
#include "gdb/stub.h"
#include "log.h"
#include "machine.h"
#include "seccomp_filter.h"
#include "vm.h"
#include "vm_lifecycle.h"

/* Checks what only the host can judge: vCPU count and memory size. */
static bool config_fits_host(const struct vm_config *cfg, const struct kvm_host *host)
{
	unsigned long long host_ram =
		(unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);

	if (cfg->cpus_boot > (unsigned)host->max_vcpus) {
		log_error("--cpus: boot=%u is more than this host's KVM allows (%d)", cfg->cpus_boot,
			  host->max_vcpus);
		return false;
	}
	if (cfg->memory_size > host_ram) {
		log_error("--memory: size=%lluM is more than this host's %lluM of RAM",
			  (unsigned long long)(cfg->memory_size >> 20), host_ram >> 20);
		return false;
	}
	return true;
}

/* Builds the VM of cfg; returns it, or NULL with *status the exit status that says why. */
static struct vm *vmm__build(struct vmm *vmm, const struct vm_config *cfg, int *status)
{
	struct vm *vm;

	if (!config_fits_host(cfg, &vmm->host)) {
		*status = EXIT_USAGE;
		return NULL;
	}
	vm = vm__create(&vmm->host, cfg, status);
	if (!vm)
		return NULL;
	*status = EXIT_USAGE;
	if (machine__load(vm) < 0)
		goto fail;
	*status = EXIT_ERROR;
	if ((cfg->gdb_path[0] || cfg->gdb_tcp_port) && gdb_stub__start(vm) < 0)
		goto fail;
	if (vmm->api && api__attach(vmm->api, vm) < 0)
		goto fail;
	return vm;
fail:
	vm__destroy(vm);
	return NULL;
}

int vmm__create(struct vmm *vmm, struct vm_spec *spec)
{
	if (vmm->cfg)
		return -EEXIST;
	/* The process's log level and filter, whatever the body says: it has no say in them. */
	spec->cfg.log_level = vmm->cmdline->log_level;
	spec->cfg.seccomp = vmm->cmdline->seccomp;
	vmm->spec = spec;
	vmm->cfg = &spec->cfg;
	log_info("api: vm.create: %u vCPU(s), %lluM, %s", spec->cfg.cpus_boot,
		 (unsigned long long)(spec->cfg.memory_size >> 20),
		 spec->cfg.kernel ? spec->cfg.kernel : "the embedded test guest");
	return 0;
}

int vmm__boot(struct vmm *vmm, char *err, size_t errlen)
{
	int status;

	if (!vmm->cfg)
		return -ENOENT;
	if (vmm->vm)
		return -EBUSY;
	log_clear_last_error();
	vmm->vm = vmm__build(vmm, vmm->cfg, &status);
	if (!vmm->vm) {
		snprintf(err, errlen, "%s", log_last_error()[0] ? log_last_error()
							       : "the VM could not be built");
		return status == EXIT_USAGE ? -EINVAL : -EIO;
	}
	vmm->vm_shutdown = false;
	return 0;
}

int vmm__shutdown_vm(struct vmm *vmm)
{
	if (!vmm->cfg)
		return -ENOENT;
	if (!vmm->vm || vm__stopping(vmm->vm))
		return -EINVAL;
	vmm->vm_shutdown = true;
	vm__stop(vmm->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
	return 0;
}

static void vmm__forget(struct vmm *vmm)
{
	vm_spec__free(vmm->spec);
	vmm->spec = NULL;
	vmm->cfg = NULL;
	vmm->deleting = false;
}

void vmm__delete(struct vmm *vmm)
{
	if (vmm->vm) {
		/* The running VM reads its configuration: forget it once the VM is gone. */
		vmm->deleting = true;
		vmm->vm_shutdown = true;
		vm__stop(vmm->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
		return;
	}
	vmm__forget(vmm);
}

void vmm__quit(struct vmm *vmm)
{
	vmm->quit = true;
	if (vmm->vm)
		vm__stop(vmm->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
}

/*
 * Runs the booted VM until it stops and takes it down.  Returns true when
 * the VMM goes on (the API ended the VM), false when vmscope ends with
 * *status.
 */
static bool vmm__run_vm(struct vmm *vmm, int *status)
{
	*status = vm__run(vmm->vm);
	if (vmm->api)
		api__detach(vmm->api);
	vm__destroy(vmm->vm);
	vmm->vm = NULL;
	if (vmm->deleting)
		vmm__forget(vmm);
	if (vmm->quit) {
		*status = EXIT_POWEROFF;
		return false;
	}
	if (vmm->vm_shutdown) {
		log_info("the VM is shut down; the API waits for vm.boot, vm.delete or vmm.shutdown");
		return true;
	}
	return false;
}

/* Serves the API with no VM booted, until one boots, vmm.shutdown or a signal. */
static int vmm__idle(struct vmm *vmm, int sig_fd)
{
	struct pollfd pfd[3] = { { .fd = sig_fd, .events = POLLIN } };
	int fds[2];
	unsigned n = api__pollfds(vmm->api, fds);

	for (unsigned i = 0; i < n; i++)
		pfd[1 + i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (!vmm->vm && !vmm->quit) {
		if (poll(pfd, 1 + n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return EXIT_ERROR;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				log_info("stopping on signal %u", si.ssi_signo);
				return EXIT_SIGNAL_BASE + (int)si.ssi_signo;
			}
		}
		for (unsigned i = 0; i < n; i++)
			if (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
				api__serve(vmm->api, fds[i]);
	}
	return 0;
}

static int vmm__loop(struct vmm *vmm)
{
	sigset_t stop_signals;
	int sig_fd, status = 0;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return EXIT_ERROR;
	}
	for (;;) {
		if (vmm->vm) {
			if (!vmm__run_vm(vmm, &status))
				break;
			continue;
		}
		if (vmm->quit || !vmm->api)
			break;
		status = vmm__idle(vmm, sig_fd);
		if (status != 0)
			break;
	}
	close(sig_fd);
	return status;
}

int vmm__main(const struct vm_config *cmdline)
{
	struct vmm vmm = { .cmdline = cmdline };
	int status, r;

	if (kvm_host__open(&vmm.host) < 0)
		return EXIT_ERROR;
	vmm.api = api__start(cmdline, &vmm, &r);
	if (!vmm.api && r < 0) {
		kvm_host__close(&vmm.host);
		return EXIT_ERROR;
	}
	/* From here on the main thread needs no new kind of system call (dlopen is done). */
	if (seccomp_filter__apply(SECCOMP_THREAD_VMM, cmdline->seccomp) < 0) {
		status = EXIT_ERROR;
		goto out;
	}
	/* As Cloud Hypervisor: with the API and no payload, wait for vm.create. */
	if (vmm.api && !cmdline->kernel) {
		log_info("api: no VM yet: waiting for vm.create and vm.boot");
	} else {
		vmm.cfg = cmdline;
		vmm.vm = vmm__build(&vmm, cmdline, &status);
		if (!vmm.vm)
			goto out;
	}
	status = vmm__loop(&vmm);
	if (vmm.vm) { /* a signal while a VM was built but not yet run */
		api__detach(vmm.api);
		vm__destroy(vmm.vm);
	}
out:
	api__stop(vmm.api); /* sends the replies still queued */
	vmm__forget(&vmm);
	kvm_host__close(&vmm.host);
	return status;
}
