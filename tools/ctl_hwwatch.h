/* vmscope-ctl watch ADDR LEN [w|rw] (tools/ctl_hwwatch.c): a debug-register watchpoint. */
#ifndef VMSCOPE_TOOLS_CTL_HWWATCH_H
#define VMSCOPE_TOOLS_CTL_HWWATCH_H

#include <stdbool.h>

#include "vmscope/vmscope.h"

/*
 * Sets a watchpoint on len bytes at addr (virtual when virt, else physical,
 * looked up in vCPU 0's page tables) of type VMSCOPE_HWBP_WRITE or _RW, and
 * subscribes to its hits: each prints the vCPU, RIP and the watched bytes
 * before and after, read while the vCPU waits; after max_hits (-1: no limit)
 * the event loop ends.  Returns 0, or prints why not and returns 1.
 */
int ctl_hw_watch(vmscope_t *vm, uint64_t addr, bool virt, unsigned len, unsigned type,
		 long max_hits, bool json);

#endif
