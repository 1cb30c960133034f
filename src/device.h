/*
 * Devices declare themselves once, in their own file, with DEVICE_INIT:
 * their level, an init and its exit twin.  vm__create runs the inits level
 * by level (buses before what plugs into them), vm__destroy the exits in
 * the reverse order, as kvmtool's core_init ... late_init and their exits.
 * Within a level the order does not matter.  What an init makes hangs off
 * the VM (struct vm_devices, vm.h), never off a process-wide registry.
 */
#ifndef VMSCOPE_DEVICE_H
#define VMSCOPE_DEVICE_H

struct vm;

enum device_level {
	DEVICE_LEVEL_BUS,      /* buses others plug into: PCI */
	DEVICE_LEVEL_PLATFORM, /* fixed ports: serial, i8042, ACPI PM, debug exit, test-guest reports */
	DEVICE_LEVEL_VIRTIO,   /* virtio devices, on the PCI bus */
	DEVICE_NR_LEVELS
};

struct device_init {
	const char *name;
	enum device_level level;
	/*
	 * Registers its I/O ranges; returns 0 or -errno.  When the user's
	 * configuration is at fault, it logs one line naming the option and
	 * calls vm__config_error() before failing.
	 */
	int (*init)(struct vm *vm);
	/*
	 * Frees what init left in vm->devices, however far it got (NULL: it
	 * leaves nothing).  Runs at every teardown, after the vCPUs are gone.
	 */
	void (*exit)(struct vm *vm);
};

#define DEVICE_INIT(lvl, dev_name, init_fn, exit_fn)                                  \
	static const struct device_init device_init_##dev_name                      \
		__attribute__((used, section("vmscope_devices"), aligned(8))) = {     \
			.name = #dev_name, .level = (lvl), .init = (init_fn),       \
			.exit = (exit_fn),                                          \
		}

/* Runs every device's init, level by level; returns the first failure. */
int device__init_all(struct vm *vm);
/* Runs every device's exit, the last level first. */
void device__exit_all(struct vm *vm);

#endif
