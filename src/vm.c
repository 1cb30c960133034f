/* The VM object's services to the modules that make it up (vm.h). */
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <unistd.h>

#include "kvm_ioctl.h"
#include "log.h"

void vm__config_error(struct vm *vm)
{
	vm->bad_config = true;
}

void vm__irq_line(struct vm *vm, unsigned irq, bool level, const char *who)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };

	if (vm->cfg->no_irqchip)
		return;
	if (vm_ioctl(vm, KVM_IRQ_LINE, &line) < 0)
		log_warn("%s: cannot %s IRQ %u: %s", who, level ? "raise" : "lower", irq,
			 strerror(errno));
}

void vm__stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason))
		return;
	vm->stop_status = status;
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		log_error("cannot signal the VM's main loop: %s", strerror(errno));
}

int vm__on_destroy(struct vm *vm, void (*fn)(void *opaque), void *opaque)
{
	if (vm->nr_cleanups == VM_MAX_CLEANUPS)
		return -ENOSPC;
	vm->cleanups[vm->nr_cleanups].fn = fn;
	vm->cleanups[vm->nr_cleanups].opaque = opaque;
	vm->nr_cleanups++;
	return 0;
}

int vm__register_pollfd(struct vm *vm, int fd, vm_pollfd_fn fn, void *opaque)
{
	if (vm->nr_pollfds == VM_MAX_POLLFDS)
		return -ENOSPC;
	vm->pollfds[vm->nr_pollfds].fd = fd;
	vm->pollfds[vm->nr_pollfds].fn = fn;
	vm->pollfds[vm->nr_pollfds].opaque = opaque;
	vm->nr_pollfds++;
	return 0;
}

int vm__register_vcpu_hooks(struct vm *vm, const struct vcpu_hook_ops *ops)
{
	if (vm->hooks.ops)
		return -EBUSY;
	vm->hooks.ops = ops;
	return 0;
}
