/* Building, running and tearing down a VM (struct vm: vm.h). */
#ifndef VMSCOPE_VM_LIFECYCLE_H
#define VMSCOPE_VM_LIFECYCLE_H

#include "kvm_host.h"
#include "vm.h"

/*
 * Creates the VM, its RAM, irqchip and PIT (unless --irqchip off),
 * introspection and devices; returns NULL after logging why, with
 * *exit_status (when not NULL) set to EXIT_USAGE when the configuration was
 * at fault (a --disk that cannot be opened, ...), else EXIT_ERROR.
 */
struct vm *vm__create(struct kvm_host *host, const struct vm_config *cfg, int *exit_status);
void vm__destroy(struct vm *vm);

/* Creates the vCPUs, starts their threads, waits until the VM stops, joins them. */
int vm__run(struct vm *vm);

#endif
