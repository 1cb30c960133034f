/*
 * The kind of a KVM exit: the event kind (VMSCOPE_EV_*) it would be
 * reported as, or VMSCOPE_STAT_OTHER.  The vCPU loop counts exits by kind
 * and hooks watch them by kind (vcpu_hooks.h).
 */
#ifndef VMSCOPE_EXIT_KIND_H
#define VMSCOPE_EXIT_KIND_H

#include <stdint.h>

#include "vmscope/abi.h"

#define EXIT_KIND_NR_REASONS 64
extern const uint8_t exit_kind_of_reason[EXIT_KIND_NR_REASONS];

static inline unsigned exit_kind(uint32_t exit_reason)
{
	return exit_reason < EXIT_KIND_NR_REASONS ? exit_kind_of_reason[exit_reason]
						  : VMSCOPE_STAT_OTHER;
}

#endif
