/*
 * Runs the embedded test guest inside the test process, like the KVM
 * selftests: the test asserts on the guest's structured reports (ucalls),
 * never on its console prose.
 */
#ifndef VMSCOPE_TESTS_GUEST_RUN_H
#define VMSCOPE_TESTS_GUEST_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmscope/testguest.h"

#define GUEST_RUN_MAX_UCALLS 64

struct guest_run {
	int status;              /* what vmscope would exit with */
	int stop_reason;         /* enum vm_stop_reason */
	unsigned nr_ucalls;
	struct tg_ucall ucalls[GUEST_RUN_MAX_UCALLS];
	unsigned ucall_vcpu[GUEST_RUN_MAX_UCALLS];
};

/* Boots the embedded guest with cpus vCPUs and mem_mib MiB; returns 0 or -1. */
int guest_run(unsigned cpus, unsigned mem_mib, struct guest_run *out);

/* The same with a raw image at disk_path (NULL: none) behind a virtio-blk device. */
int guest_run_with_disk(unsigned cpus, unsigned mem_mib, const char *disk_path,
			struct guest_run *out);

/*
 * Runs len bytes of 64-bit machine code placed at 1 MiB on one vCPU, entered
 * in long mode (low 4 GiB identity-mapped); fills status and stop_reason.
 */
int code_run(const uint8_t *code, size_t len, struct guest_run *out);

/* True when this host's KVM emulates guest kernel code (kvm_pvm). */
bool kvm_host_is_emulated(void);

/* The first ucall of kind after index *from (then *from moves past it); NULL when none. */
const struct tg_ucall *guest_run__find(const struct guest_run *r, uint32_t kind, unsigned *from);

#endif
