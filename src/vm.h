/* A virtual machine: the KVM VM, its RAM, its devices and its vCPUs. */
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
#include "vmi/vmi.h"

struct vm;
struct vcpu;
struct tg_ucall;

/*
 * A file descriptor the VM's main loop watches for a module (control socket,
 * GDB stub, console input).  The callback returns false to stop watching it.
 */
typedef bool (*vm_pollfd_fn)(struct vm *vm, int fd, void *opaque);
#define VM_MAX_POLLFDS 8
#define VM_MAX_CLEANUPS 16

typedef void (*vm_ucall_fn)(struct vm *vm, struct vcpu *vcpu, const struct tg_ucall *uc,
			    void *opaque);

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

	struct vmi vmi;         /* introspection (src/vmi/) */

	/* A device refused what the user asked for (and said why): bad input, not a failure. */
	bool bad_config;

	atomic_int stop_reason; /* enum vm_stop_reason; first writer wins */
	int stop_status;        /* the process exit status that goes with it */
	int stop_efd;           /* eventfd signalled when the VM stops */
};

/*
 * Creates the VM, its RAM, irqchip and PIT (unless --irqchip off) and devices; returns NULL after
 * logging why, with *exit_status (when not NULL) set to EXIT_USAGE when the
 * configuration was at fault (a --disk that cannot be opened, ...), else
 * EXIT_ERROR.
 */
struct vm *vm__create(struct kvm_host *host, const struct vm_config *cfg, int *exit_status);

/*
 * For a device's init: what the user configured cannot be used.  Call it
 * after logging one line that names the option; the init then fails.
 */
void vm__config_error(struct vm *vm);
void vm__destroy(struct vm *vm);

/*
 * Host pointer for the guest-physical range [gpa, gpa + len), or NULL when
 * any of it is not RAM.  The one way to turn a guest address into a pointer.
 */
void *vm__gpa_ptr(struct vm *vm, uint64_t gpa, uint64_t len);

/*
 * Drives interrupt line irq (an IOAPIC/PIC pin) of the in-kernel irqchip;
 * does nothing under --irqchip off, where no interrupt can be delivered.
 */
void vm__irq_line(struct vm *vm, unsigned irq, bool level, const char *who);

/* Ends the VM with reason and process exit status; later calls are ignored. */
void vm__stop(struct vm *vm, enum vm_stop_reason reason, int status);
bool vm__stopping(const struct vm *vm);

/* Asks the main loop to call fn when fd is readable; call before vm__run. */
int vm__register_pollfd(struct vm *vm, int fd, vm_pollfd_fn fn, void *opaque);

/* Registers fn(opaque) to run when the VM is destroyed, after its vCPUs are gone. */
int vm__on_destroy(struct vm *vm, void (*fn)(void *opaque), void *opaque);

/* Creates the vCPUs, starts their threads, waits until the VM stops, joins them. */
int vm__run(struct vm *vm);

#endif
