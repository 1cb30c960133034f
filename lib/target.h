/*
 * What every libvmscope target is made of, live or offline.  Private to the
 * library: memory access, page walks and the live transport all read it.
 */
#ifndef LIBVMSCOPE_TARGET_H
#define LIBVMSCOPE_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "vmscope/vmscope.h"

struct vmscope;

/*
 * What differs between kinds of target: one table per kind (live.c,
 * offline_core.c, offline_raw.c), reached from every target.
 */
struct target_ops {
	const char *kind; /* "live VM", "core dump", "raw image": for messages */
	/* Registers of vCPU vcpu (any number: the kind checks it). */
	int (*get_regs)(struct vmscope *vm, unsigned vcpu, struct vmscope_regs *regs);
	/* Frees what the kind added to the target (NULL: nothing); target__free frees the rest. */
	void (*close)(struct vmscope *vm);
};

/* A run of guest-physical memory backed by host memory we have mapped. */
struct vmscope_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host; /* where it is mapped in this process */
};

struct vmscope_tcache; /* the translation cache (tcache.c) */
struct vmscope_live;   /* the connection to a running hypervisor (live.c) */

struct vmscope {
	const struct target_ops *ops;
	bool writable;

	/*
	 * Guest-physical memory: sorted by gpa, non-overlapping (mem__add_regions
	 * checks).  regions is malloc'ed; target__free frees it and munmaps
	 * map_base/map_size when set, so whoever sets them hands them over.
	 */
	unsigned nr_regions;
	struct vmscope_region *regions;
	void *map_base;  /* the one mapping the regions point into */
	size_t map_size;

	/*
	 * vCPU count (live), or CPUs with saved state (core).  saved_regs holds
	 * nr_vcpus entries for a core dump (malloc'ed, freed by target__free);
	 * NULL for raw images and live targets.
	 */
	unsigned nr_vcpus;
	struct vmscope_regs *saved_regs;

	/* Paging flags (VMSCOPE_PAGING_*) for the *_va accesses: vmscope_set_va_flags. */
	unsigned va_flags;

	struct vmscope_tcache *tcache;
	struct vmscope_live *live; /* NULL for offline targets */

	char last_error[256];
};

/* Records a one-line reason for the caller (vmscope_last_error) and returns err. */
int target__fail(struct vmscope *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The kind of target, for a message (vm may be NULL: a message then goes nowhere). */
static inline const char *target__kind(const struct vmscope *vm)
{
	return vm ? vm->ops->kind : "missing target";
}

/* Allocates a target of a kind with its cache; NULL when out of memory. */
struct vmscope *target__new(const struct target_ops *ops);
/* Frees what target__new and the memory side allocated (not the live part). */
void target__free(struct vmscope *vm);
/*
 * For an open or attach that fails: keeps vm's last error for
 * vmscope_last_error(NULL) on this thread, then target__free.
 */
void target__abandon(struct vmscope *vm);

/* get_regs of a target whose registers were saved (a core dump's notes; none for a raw image). */
int target__saved_regs(struct vmscope *vm, unsigned vcpu, struct vmscope_regs *regs);

#endif
