/*
 * Control-socket messages: a pure parser over a byte buffer (no I/O, no
 * state), so that it can be fuzzed.  Every number a client sends passes here
 * before use: type, length, vCPU index, event kind, guest-physical address.
 */
#ifndef VMSCOPE_VMI_MSG_H
#define VMSCOPE_VMI_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "memmap.h"
#include "vmscope/abi.h"

struct vmi_msg {
	struct vmscope_msg_hdr hdr;
	union {
		struct vmscope_msg_attach attach;
		struct vmscope_msg_subscribe subscribe;
		struct vmscope_msg_vcpu vcpu;
		struct vmscope_msg_regs regs;
		struct vmscope_msg_msr msr;
		struct vmscope_msg_gpa gpa;
		struct vmscope_msg_inject inject;
		struct vmscope_msg_msr_watch msr_watch;
		struct vmscope_msg_hwbp hwbp;
	} u;
};

struct vmi_msg_limits {
	unsigned nr_vcpus;
	const struct memmap *map;
};

/* Payload size of a request type; -1 for an unknown type. */
long vmi_msg__payload_size(uint32_t type);

/*
 * Validates buf[0, len) as one request and copies it into *out.  Returns 0,
 * or -EINVAL / -EPROTO / -ERANGE / -EFAULT with *why set to a static reason.
 * out->hdr is filled whenever len covers a header (so that a reply can name it).
 */
int vmi_msg__parse(const void *buf, size_t len, const struct vmi_msg_limits *lim,
		   struct vmi_msg *out, const char **why);

/*
 * Whether a hardware breakpoint can be what is asked: a known kind, a length
 * of 1, 2, 4 or 8 (1 for execute), the address aligned to it and canonical
 * (48 or 57 bits, sign-extended).  0, or -EINVAL with *why set.
 */
int vmi_msg__check_hwbp(uint64_t addr, unsigned type, unsigned len, const char **why);

#endif
