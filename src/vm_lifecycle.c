/*
 * A VM's life: built (KVM VM, RAM, irqchip, then its modules in order),
 * run (vCPU threads and the main loop until it stops), torn down.
 */
#include "vm_lifecycle.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "device.h"
#include "exit_status.h"
#include "kvm_ioctl.h"
#include "log.h"
#include "vcpu.h"
#include "vcpu_loop.h"
#include "vmi/vmi.h"

/* Addresses KVM needs for its own use on Intel hosts, inside the 32-bit hole. */
#define KVM_TSS_ADDR          0xfeffd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL

static int vm__create_ram(struct vm *vm)
{
	vm->mem_fd = memfd_create("vmscope-guest-ram", MFD_CLOEXEC);
	if (vm->mem_fd < 0)
		return -errno;
	if (ftruncate(vm->mem_fd, (off_t)vm->map.ram_size) < 0)
		return -errno;
	vm->ram = mmap(NULL, vm->map.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       vm->mem_fd, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		return -errno;
	}
	for (unsigned i = 0; i < vm->map.nr_regions; i++) {
		const struct mem_region *r = &vm->map.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)(vm->ram + r->offset),
		};

		if (vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

static int vm__create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };

	/* Only Intel needs these two; elsewhere they fail harmlessly. */
	vm_ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	{
		uint64_t addr = KVM_IDENTITY_MAP_ADDR;

		vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &addr);
	}
	if (vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	if (vm_ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

struct vm *vm__create(struct kvm_host *host, const struct vm_config *cfg, int *exit_status)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	const char *step;
	int r;

	if (!vm)
		return NULL;
	vm->host = host;
	vm->cfg = cfg;
	vm->mem_fd = -1;
	vm->stop_efd = -1;
	vm->pio.name = "port";
	vm->mmio.name = "MMIO";
	atomic_init(&vm->stop_reason, VM_RUNNING);

	step = "memory map";
	r = memmap__init(&vm->map, cfg->memory_size);
	if (r < 0)
		goto fail;
	step = "KVM_CREATE_VM";
	vm->vm_fd = kvm_ioctl(host->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		r = -errno;
		goto fail;
	}
	step = "guest RAM";
	r = vm__create_ram(vm);
	if (r < 0)
		goto fail;
	step = "in-kernel irqchip and PIT";
	r = cfg->no_irqchip ? 0 : vm__create_irqchip(vm);
	if (r < 0)
		goto fail;
	step = "eventfd";
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		r = -errno;
		goto fail;
	}
	step = "introspection";
	r = vmi__init(vm); /* registers its vCPU hooks when asked for */
	if (r < 0)
		goto fail;
	step = "devices";
	r = device__init_all(vm);
	if (r < 0)
		goto fail;
	return vm;
fail:
	/* A device that refused the configuration has said why in one line. */
	if (!vm->bad_config)
		log_error("creating the VM failed at %s: %s", step, strerror(-r));
	if (exit_status)
		*exit_status = vm->bad_config ? EXIT_USAGE : EXIT_ERROR;
	vm__destroy(vm);
	return NULL;
}

void vm__destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(vm->vcpus[i]);
	free(vm->vcpus);
	while (vm->nr_cleanups > 0) {
		vm->nr_cleanups--;
		vm->cleanups[vm->nr_cleanups].fn(vm->cleanups[vm->nr_cleanups].opaque);
	}
	device__exit_all(vm);
	if (vm->ram)
		munmap(vm->ram, vm->map.ram_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->vm_fd > 0)
		close(vm->vm_fd);
	free(vm);
}

static int vm__start_vcpus(struct vm *vm)
{
	vm->nr_vcpus = vm->cfg->cpus_boot;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	/* Create every vCPU before starting any: the test guest's APs start at once. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i] = vcpu__create(vm, i);
		if (!vm->vcpus[i]) {
			vm->nr_vcpus = i;
			return -EIO;
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu__start(vm->vcpus[i]);

		if (r < 0)
			return r;
	}
	return vm->hooks.ops && vm->hooks.ops->vm_started ? vm->hooks.ops->vm_started(vm) : 0;
}

/* The main loop: waits for a stop, a signal or a registered fd, until the VM stops. */
static void vm__main_loop(struct vm *vm, int sig_fd)
{
	struct pollfd pfd[2 + VM_MAX_POLLFDS];
	unsigned n = 0;

	pfd[n++] = (struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
	for (unsigned i = 0; i < vm->nr_pollfds; i++)
		pfd[n++] = (struct pollfd){ .fd = vm->pollfds[i].fd, .events = POLLIN };

	while (!vm__stopping(vm)) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			vm__stop(vm, VM_STOP_ERROR, EXIT_ERROR);
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				log_info("stopping the guest on signal %u", si.ssi_signo);
				vm__stop(vm, VM_STOP_SIGNAL, EXIT_SIGNAL_BASE + (int)si.ssi_signo);
			}
		}
		for (unsigned i = 0; i < vm->nr_pollfds; i++) {
			if (!(pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!vm->pollfds[i].fn(vm, vm->pollfds[i].fd, vm->pollfds[i].opaque))
				pfd[2 + i].fd = -1; /* poll ignores negative fds */
		}
	}
}

int vm__run(struct vm *vm)
{
	sigset_t stop_signals, old;
	int sig_fd, r;

	/* SIGINT and SIGTERM are read from a signalfd; vCPU threads inherit the mask. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return EXIT_ERROR;
	}

	r = vm__start_vcpus(vm);
	if (r < 0)
		vm__stop(vm, VM_STOP_ERROR, EXIT_ERROR);
	vm__main_loop(vm, sig_fd);

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->thread_started)
			pthread_join(vm->vcpus[i]->thread, NULL);
	if (vm->hooks.ops && vm->hooks.ops->vm_stopped)
		vm->hooks.ops->vm_stopped(vm);

	close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return vm->stop_status;
}
