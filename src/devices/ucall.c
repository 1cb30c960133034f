/*
 * The test guest's report port: the guest writes the guest-physical address
 * of a struct tg_ucall; the host checks it and hands it to vm->ucall_fn.
 */
#include <string.h>

#include "device.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmscope/testguest.h"

static bool ucall__valid(const struct tg_ucall *uc)
{
	return uc->kind >= TG_UCALL_BOOT && uc->kind <= TG_UCALL_DONE &&
	       uc->nr_args <= sizeof(uc->args) / sizeof(uc->args[0]) &&
	       memchr(uc->msg, '\0', sizeof(uc->msg)) != NULL;
}

static void ucall__io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
		      uint32_t len, bool is_write)
{
	struct tg_ucall uc;
	const void *src;
	uint32_t gpa;

	(void)opaque;
	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (offset != 0 || len != 4) {
		log_warn("vCPU %u: ignoring a %u-byte write to the ucall port", vcpu->id, len);
		return;
	}
	memcpy(&gpa, data, sizeof(gpa));
	src = vm__gpa_ptr(vcpu->vm, gpa, sizeof(uc));
	if (!src) {
		log_warn("vCPU %u: ucall at 0x%x is outside guest RAM", vcpu->id, gpa);
		return;
	}
	/* Copy first: the guest may change the struct while we look at it. */
	memcpy(&uc, src, sizeof(uc));
	if (!ucall__valid(&uc)) {
		log_warn("vCPU %u: malformed ucall at 0x%x (kind %u, %u args)", vcpu->id, gpa,
			 uc.kind, uc.nr_args);
		return;
	}
	log_debug("vCPU %u: ucall kind %u args 0x%llx 0x%llx 0x%llx %s", vcpu->id, uc.kind,
		  (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
		  (unsigned long long)uc.args[2], uc.msg);
	if (uc.kind == TG_UCALL_FAIL)
		log_error("guest reports failure at line %llu: %s", (unsigned long long)uc.args[0],
			  uc.msg);
	if (vcpu->vm->ucall_fn)
		vcpu->vm->ucall_fn(vcpu->vm, vcpu, &uc, vcpu->vm->ucall_opaque);
}

static int ucall__init(struct vm *vm)
{
	return io__register(&vm->pio, TG_PORT_UCALL, 4, ucall__io, NULL, "ucall");
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, ucall, ucall__init, NULL);
