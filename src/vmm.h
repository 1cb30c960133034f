/*
 * The VMM: the process around the VMs.  It holds the KVM handle and the REST
 * API, and at most one VM at a time, as Cloud Hypervisor does: a VM's
 * configuration comes from the command line or from the API's vm.create, the
 * VM is built when it boots (the command line's at once, vm.create's at
 * vm.boot), and the API's vm.shutdown ends the VM but not the VMM.
 * Whatever else ends a VM (the guest powers off or resets, a triple fault, a
 * signal) ends vmscope with that VM's exit status.
 */
#ifndef VMSCOPE_VMM_H
#define VMSCOPE_VMM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "kvm_host.h"

struct api;
struct vm;
struct vm_spec;

struct vmm {
	struct kvm_host host;
	const struct vm_config *cmdline; /* the command line: log level, --api-socket */
	struct api *api;                 /* NULL without --api-socket */
	const struct vm_config *cfg;     /* the VM's configuration; NULL: none created */
	struct vm_spec *spec;            /* vm.create's, which cfg then points into */
	struct vm *vm;                   /* the booted VM; NULL when not booted */
	bool vm_shutdown;                /* the API ended the VM: the VMM stays */
	bool deleting;                   /* vm.delete: forget the configuration once the VM is gone */
	bool quit;                       /* vmm.shutdown */
};

/*
 * Runs vmscope with the command line's configuration: boots its VM, unless
 * --api-socket without --kernel asks to wait for vm.create.  Returns the
 * process exit status.
 */
int vmm__main(const struct vm_config *cmdline);

/* vm.create: takes spec.  -EEXIST when a configuration is there already. */
int vmm__create(struct vmm *vmm, struct vm_spec *spec);

/*
 * vm.boot: builds the VM from the configuration; the main loop runs it.
 * -ENOENT with no configuration, -EBUSY when booted; -EINVAL or -EIO when
 * building it failed, with the reason in err.
 */
int vmm__boot(struct vmm *vmm, char *err, size_t errlen);

/*
 * vm.shutdown: stops the booted VM; the configuration stays.  -ENOENT with
 * no configuration, -EINVAL when it is not booted.
 */
int vmm__shutdown_vm(struct vmm *vmm);

/* vm.delete: stops the VM if it is booted and forgets the configuration. */
void vmm__delete(struct vmm *vmm);

/* vmm.shutdown: stops the VM if it is booted, then vmscope exits 0. */
void vmm__quit(struct vmm *vmm);

#endif
