/* Shared by the offline openers (offline_raw.c, offline_core.c). */
#ifndef LIBVMSCOPE_OFFLINE_H
#define LIBVMSCOPE_OFFLINE_H

#include "target.h"

/*
 * A new offline target of a kind with the whole file at path mapped read-only
 * at vm->map_base / vm->map_size (freed with the target).  NULL on failure,
 * with *err (when not NULL) set and the reason kept for vmscope_last_error.
 * The file must not shrink while the target is open (reads would fault).
 */
struct vmscope *offline__open(const struct target_ops *ops, const char *path, int *err);

/* The raw-image kind (offline_raw.c); also what a test's writable target is. */
extern const struct target_ops offline_raw_ops;

#endif
