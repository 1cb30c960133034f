/*
 * ELF64 core dumps of guest memory in the layout of QEMU's dump-guest-memory
 * (what libvmscope's vmscope_open_core reads, lib/offline_core.c):
 * one PT_NOTE with a "CORE" NT_PRSTATUS note per vCPU followed by a "QEMU"
 * QEMUCPUState note per vCPU, then one PT_LOAD per RAM region whose p_paddr
 * is its guest-physical address.
 */
#ifndef VMSCOPE_API_COREDUMP_H
#define VMSCOPE_API_COREDUMP_H

#include <stddef.h>

struct vm;

/*
 * Writes the core of vm to path (created 0600, replaced if it exists).  The
 * vCPUs must not be running (paused, or the VM stopped).  Returns 0, or
 * -errno with a one-line reason in err.
 */
int coredump__write(struct vm *vm, const char *path, char *err, size_t errlen);

#endif
