/*
 * Just enough of the i8042 keyboard controller for a guest to reset the
 * machine (command 0xfe on port 0x64), as Linux does on reboot.
 */
#include <string.h>

#include "device.h"
#include "exit_status.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET    0xfe

/* opaque is the port number the range was registered for. */
static void i8042__io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
		      uint32_t len, bool is_write)
{
	(void)offset;
	if (!is_write) {
		/* No keyboard: empty output buffer, controller idle. */
		memset(data, 0, len);
		return;
	}
	if (opaque == (void *)I8042_COMMAND_PORT && data[0] == I8042_CMD_RESET) {
		log_info("guest reset the machine through the keyboard controller");
		vm__stop(vcpu->vm, VM_STOP_REBOOT, EXIT_REBOOT);
	}
}

static int i8042__init(struct vm *vm)
{
	/* Two one-byte ranges: the ports between belong to the PIT and the speaker. */
	int r = io__register(&vm->pio, I8042_DATA_PORT, 1, i8042__io, (void *)I8042_DATA_PORT,
			     "i8042 data");

	return r ? r : io__register(&vm->pio, I8042_COMMAND_PORT, 1, i8042__io,
				    (void *)I8042_COMMAND_PORT, "i8042 command");
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, i8042, i8042__init, NULL);
