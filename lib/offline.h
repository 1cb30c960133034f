/* Shared by the offline openers (offline_raw.c, offline_core.c). */
#ifndef LIBVMSCOPE_OFFLINE_H
#define LIBVMSCOPE_OFFLINE_H

#include "target.h"

/*
 * A new offline target of kind with the whole file at path mapped read-only
 * at vm->map_base / vm->map_size (freed with the target).  NULL on failure,
 * with *err (when not NULL) set and the reason kept for vmscope_last_error.
 * The file must not shrink while the target is open (reads would fault).
 */
struct vmscope *offline__open(enum vmscope_target_kind kind, const char *path, int *err);

#endif
