/* Shared by the offline openers (offline_raw.c, offline_core.c). */
#ifndef LIBVMSCOPE_OFFLINE_H
#define LIBVMSCOPE_OFFLINE_H

#include "target.h"

/*
 * Maps the whole file at path read-only into vm->map_base / vm->map_size
 * (freed by target__free).  0, or a negative errno with the reason recorded.
 * The file must not shrink while the target is open (reads would fault).
 */
int offline__map_file(struct vmscope *vm, const char *path);

#endif
