/*
 * Targets: allocation, teardown, errors and the questions every target can
 * answer (vCPU count, RAM size, saved registers).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "target.h"
#include "tcache.h"

int target__fail(struct vmscope *vm, int err, const char *fmt, ...)
{
	va_list ap;

	if (!vm)
		return err;
	va_start(ap, fmt);
	vsnprintf(vm->last_error, sizeof(vm->last_error), fmt, ap);
	va_end(ap);
	return err;
}

struct vmscope *target__new(const struct target_ops *ops)
{
	struct vmscope *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->ops = ops;
	vm->tcache = tcache__new();
	if (!vm->tcache) {
		free(vm);
		return NULL;
	}
	return vm;
}

void target__free(struct vmscope *vm)
{
	if (!vm)
		return;
	if (vm->map_base && vm->map_size)
		munmap(vm->map_base, vm->map_size);
	free(vm->regions);
	free(vm->saved_regs);
	tcache__free(vm->tcache);
	free(vm);
}

void vmscope_close(vmscope_t *vm)
{
	if (!vm)
		return;
	if (vm->ops->close)
		vm->ops->close(vm);
	target__free(vm);
}

/* Why the last open or attach on this thread failed (vmscope_last_error(NULL)). */
static _Thread_local char open_error[sizeof(((struct vmscope *)0)->last_error)];

void target__abandon(struct vmscope *vm)
{
	if (!vm)
		return;
	memcpy(open_error, vm->last_error, sizeof(open_error));
	target__free(vm);
}

const char *vmscope_last_error(const vmscope_t *vm)
{
	return vm ? vm->last_error : open_error;
}

const char *vmscope_strerror(int err)
{
	const char *s = strerrordesc_np(err < 0 ? -err : err);

	return s ? s : "Unknown error";
}

unsigned vmscope_vcpu_count(const vmscope_t *vm)
{
	return vm ? vm->nr_vcpus : 0;
}

uint64_t vmscope_ram_size(const vmscope_t *vm)
{
	uint64_t total = 0;

	if (!vm)
		return 0;
	for (unsigned i = 0; i < vm->nr_regions; i++)
		total += vm->regions[i].size;
	return total;
}

int vmscope_get_regs(vmscope_t *vm, unsigned vcpu, struct vmscope_regs *regs)
{
	if (!vm || !regs)
		return -EINVAL;
	return vm->ops->get_regs(vm, vcpu, regs);
}

int target__saved_regs(struct vmscope *vm, unsigned vcpu, struct vmscope_regs *regs)
{
	if (vm->nr_vcpus == 0 || !vm->saved_regs)
		return target__fail(vm, -ENODATA, "get_regs: this target has no saved CPU state");
	if (vcpu >= vm->nr_vcpus)
		return target__fail(vm, -EINVAL, "get_regs: vCPU %u out of range (target has %u)",
				    vcpu, vm->nr_vcpus);
	*regs = vm->saved_regs[vcpu];
	return 0;
}
