/* Running the devices' inits and exits in their levels (device.h). */
#include "device.h"

#include <string.h>

#include "log.h"
#include "vm.h"

/* The linker defines these around the section that DEVICE_INIT fills. */
extern const struct device_init __start_vmscope_devices[];
extern const struct device_init __stop_vmscope_devices[];

int device__init_all(struct vm *vm)
{
	for (unsigned level = 0; level < DEVICE_NR_LEVELS; level++) {
		for (const struct device_init *d = __start_vmscope_devices;
		     d < __stop_vmscope_devices; d++) {
			int r;

			if (d->level != level)
				continue;
			r = d->init(vm);
			if (r < 0) {
				if (!vm->bad_config)
					log_error("device %s: %s", d->name, strerror(-r));
				return r;
			}
		}
	}
	return 0;
}

void device__exit_all(struct vm *vm)
{
	for (unsigned level = DEVICE_NR_LEVELS; level-- > 0;)
		for (const struct device_init *d = __stop_vmscope_devices;
		     d-- > __start_vmscope_devices;)
			if (d->level == level && d->exit)
				d->exit(vm);
}
