/*
 * Devices declare themselves once with DEVICE_INIT(fn); vm__create calls
 * every declared init function, so adding a device never touches a central list.
 */
#ifndef VMSCOPE_DEVICE_H
#define VMSCOPE_DEVICE_H

struct vm;

struct device_init {
	const char *name;
	/*
	 * Registers its I/O ranges; returns 0 or -errno.  When the user's
	 * configuration is at fault, it logs one line naming the option and
	 * calls vm__config_error() before failing.
	 */
	int (*init)(struct vm *vm);
};

#define DEVICE_INIT(dev_name, fn)                                                     \
	static const struct device_init device_init_##dev_name                      \
		__attribute__((used, section("vmscope_devices"), aligned(8))) = {     \
			.name = #dev_name, .init = fn,                              \
		}

/* Calls every device's init in link order; returns the first failure. */
int device__init_all(struct vm *vm);

#endif
