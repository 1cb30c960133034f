/*
 * A virtual machine: the KVM VM, its RAM, its devices and its vCPUs, and what
 * the modules that make it up ask of it (stop it, find a guest page, raise an
 * interrupt, watch an fd, clean up, register vCPU hooks).  Low: it calls no
 * module.  Building, running and tearing one down: vm_lifecycle.h.
 */
#ifndef VMSCOPE_VM_H
#define VMSCOPE_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/loader.h"
#include "config.h"
#include "io.h"
#include "kvm_host.h"
#include "memmap.h"
#include "vcpu_hooks.h"

struct vm;
struct vcpu;
struct tg_ucall;
struct vmi_core;
struct pci_bus;
struct acpi_pm;
struct cmos_rtc;
struct serial8250;
struct virtio_dev;

/*
 * A file descriptor the VM's main loop watches for a module (control socket,
 * GDB stub, console input).  The callback returns false to stop watching it.
 */
typedef bool (*vm_pollfd_fn)(struct vm *vm, int fd, void *opaque);
#define VM_MAX_POLLFDS 8
#define VM_MAX_CLEANUPS 16

typedef void (*vm_ucall_fn)(struct vm *vm, struct vcpu *vcpu, const struct tg_ucall *uc,
			    void *opaque);

#define VM_MAX_VIRTIO 64

/*
 * The VM's devices, as Firecracker's DeviceManager: what each device's init
 * (device.h) made, reached from the VM, and freed by its exit twin.  Written
 * only while the VM is built and torn down, when no vCPU runs.
 */
struct vm_devices {
	struct pci_bus *pci;
	struct acpi_pm *acpi_pm;
	struct cmos_rtc *cmos_rtc;
	struct serial8250 *serial;
	unsigned nr_virtio;
	struct virtio_dev *virtio[VM_MAX_VIRTIO]; /* in creation order */
};

enum vm_stop_reason {
	VM_RUNNING,
	VM_STOP_GUEST_EXIT,   /* debug-exit port */
	VM_STOP_POWEROFF,
	VM_STOP_TRIPLE_FAULT,
	VM_STOP_REBOOT,
	VM_STOP_SIGNAL,
	VM_STOP_HALTED,       /* every vCPU halted, nothing to wake them (--irqchip off) */
	VM_STOP_ERROR,
};

struct vm {
	struct kvm_host *host;
	int vm_fd;
	int mem_fd;     /* memfd behind all guest RAM; handed to introspection clients */
	uint8_t *ram;   /* host mapping of the whole memfd */
	struct memmap map;
	const struct vm_config *cfg;

	struct io_bus pio, mmio;
	struct vm_devices devices;
	struct boot_entry entry;

	unsigned nr_vcpus;
	struct vcpu **vcpus;
	atomic_uint nr_halted;  /* vCPUs asleep on HLT (only without the in-kernel irqchip) */

	/* Test-guest reports (TG_PORT_UCALL), for in-process tests. */
	vm_ucall_fn ucall_fn;
	void *ucall_opaque;

	/* Teardown in reverse order of setup (vm__on_destroy). */
	unsigned nr_cleanups;
	struct { void (*fn)(void *opaque); void *opaque; } cleanups[VM_MAX_CLEANUPS];

	unsigned nr_pollfds;
	struct { int fd; vm_pollfd_fn fn; void *opaque; } pollfds[VM_MAX_POLLFDS];

	struct vcpu_hooks hooks; /* who sees exits before the device model */
	struct vmi_core *vmi;    /* introspection (src/vmi/); NULL without it */

	/* A device refused what the user asked for (and said why): bad input, not a failure. */
	bool bad_config;

	atomic_int stop_reason; /* enum vm_stop_reason; first writer wins */
	int stop_status;        /* the process exit status that goes with it */
	int stop_efd;           /* eventfd signalled when the VM stops */
};

/*
 * For a device's init: what the user configured cannot be used.  Call it
 * after logging one line that names the option; the init then fails.
 */
void vm__config_error(struct vm *vm);

/*
 * Host pointer for the guest-physical range [gpa, gpa + len), or NULL when
 * any of it is not RAM.  The one way to turn a guest address into a pointer.
 */
static inline void *vm__gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
	return memmap__ptr(&vm->map, vm->ram, gpa, len);
}

/*
 * Drives interrupt line irq (an IOAPIC/PIC pin) of the in-kernel irqchip;
 * does nothing under --irqchip off, where no interrupt can be delivered.
 */
void vm__irq_line(struct vm *vm, unsigned irq, bool level, const char *who);

/* Ends the VM with reason and process exit status; later calls are ignored. */
void vm__stop(struct vm *vm, enum vm_stop_reason reason, int status);

static inline bool vm__stopping(const struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_reason, memory_order_relaxed) != VM_RUNNING;
}

/* Asks the main loop to call fn when fd is readable; call before vm__run. */
int vm__register_pollfd(struct vm *vm, int fd, vm_pollfd_fn fn, void *opaque);

/* Registers fn(opaque) to run when the VM is destroyed, after its vCPUs are gone. */
int vm__on_destroy(struct vm *vm, void (*fn)(void *opaque), void *opaque);

/*
 * Registers the VM's vCPU hooks (vcpu_hooks.h), at set-up; -EBUSY when a set
 * is registered already.
 */
int vm__register_vcpu_hooks(struct vm *vm, const struct vcpu_hook_ops *ops);

#endif
