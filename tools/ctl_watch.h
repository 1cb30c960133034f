/* vmscope-ctl watch (tools/ctl_watch.c): follow the embedded test guest as it runs. */
#ifndef VMSCOPE_TOOLS_CTL_WATCH_H
#define VMSCOPE_TOOLS_CTL_WATCH_H

#include "vmscope/vmscope.h"

/*
 * Finds the guest's system-call entry (the LSTAR MSR, read at once or seen
 * being written), plants a breakpoint there and prints every system call
 * with the task that made it, decoded (a write's text is read from the
 * task's own address space); prints the task table when the first call
 * arrives and when the last task exits.  Returns when the guest ends, after
 * timeout_ms (-1: none) or on SIGINT; returns the process exit status.
 */
int ctl_watch(vmscope_t *vm, const char *guest_elf, int timeout_ms);

#endif
