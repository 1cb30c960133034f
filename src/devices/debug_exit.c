/*
 * The debug-exit port: a guest that writes a 32-bit status there ends the VM,
 * and vmscope exits with that status (QEMU's isa-debug-exit sits at the same port).
 */
#include <string.h>

#include "device.h"
#include "exit_status.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmscope/testguest.h"

static void debug_exit__io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			   uint32_t len, bool is_write)
{
	uint32_t status = 0;

	(void)opaque;
	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (offset != 0 || len != 4) {
		log_warn("vCPU %u: ignoring a %u-byte write at debug-exit port offset %llu", vcpu->id,
			 len, (unsigned long long)offset);
		return;
	}
	memcpy(&status, data, sizeof(status));
	if (status > 255) {
		log_error("guest wrote exit status %u to the debug-exit port; statuses are 0 to 255",
			  status);
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		return;
	}
	log_info("guest exited with status %u", status);
	vm__stop(vcpu->vm, VM_STOP_GUEST_EXIT, (int)status);
}

static int debug_exit__init(struct vm *vm)
{
	return io__register(&vm->pio, TG_PORT_DEBUG_EXIT, 4, debug_exit__io, NULL, "debug-exit");
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, debug_exit, debug_exit__init, NULL);
