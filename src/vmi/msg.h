/*
 * Control-socket messages: a pure parser over a byte buffer (no I/O, no
 * state), so that it can be fuzzed.  Every number a client sends passes here
 * before use: type, length, vCPU index, event kind, guest-physical address.
 */
#ifndef VMSCOPE_VMI_MSG_H
#define VMSCOPE_VMI_MSG_H

#include <stdbool.h>
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

/* Where a request names its vCPU (a uint32_t vcpu in the payload), or none. */
#define VMI_VCPU_IN(member) ((int)offsetof(struct vmi_msg, u.member.vcpu))
#define VMI_NO_VCPU (-1)

/*
 * The control messages, one row each.  The parser (msg.c) takes from a row
 * the payload size, where the vCPU index is and whether it may be
 * VMSCOPE_ALL_VCPUS, and the check of the other fields; the dispatcher
 * (requests.c) whether that vCPU must be stopped (parked or held in an
 * event) and the handler.  ATTACH and DETACH begin and end the session
 * (socket.c) and have no handler.  A new message is a row here, its check
 * (or none) and its handler.
 *
 * type, payload size, vCPU, may be all, must be stopped, check, handler
 */
#define VMI_MESSAGES(X)                                                                     \
	X(ATTACH, sizeof(struct vmscope_msg_attach), VMI_NO_VCPU, false, false,            \
	  check_attach, NULL)                                                              \
	X(DETACH, 0, VMI_NO_VCPU, false, false, NULL, NULL)                                \
	X(SUBSCRIBE, sizeof(struct vmscope_msg_subscribe), VMI_NO_VCPU, false, false,      \
	  check_subscribe, req_subscribe)                                                  \
	X(UNSUBSCRIBE, sizeof(struct vmscope_msg_subscribe), VMI_NO_VCPU, false, false,    \
	  check_subscribe, req_unsubscribe)                                                \
	X(PAUSE, sizeof(struct vmscope_msg_vcpu), VMI_VCPU_IN(vcpu), true, false,          \
	  check_no_enable, req_pause)                                                      \
	X(RESUME, sizeof(struct vmscope_msg_vcpu), VMI_VCPU_IN(vcpu), true, false,         \
	  check_no_enable, req_resume)                                                     \
	X(GET_REGS, sizeof(struct vmscope_msg_vcpu), VMI_VCPU_IN(vcpu), false, true,       \
	  check_no_enable, req_get_regs)                                                   \
	X(SET_REGS, sizeof(struct vmscope_msg_regs), VMI_VCPU_IN(regs), false, true,       \
	  check_set_regs, req_set_regs)                                                    \
	X(GET_MSR, sizeof(struct vmscope_msg_msr), VMI_VCPU_IN(msr), false, true, NULL,    \
	  req_msr)                                                                         \
	X(SET_MSR, sizeof(struct vmscope_msg_msr), VMI_VCPU_IN(msr), false, true, NULL,    \
	  req_msr)                                                                         \
	X(SET_BP, sizeof(struct vmscope_msg_gpa), VMI_NO_VCPU, false, false, check_bp,     \
	  req_set_bp)                                                                      \
	X(CLEAR_BP, sizeof(struct vmscope_msg_gpa), VMI_NO_VCPU, false, false, check_bp,   \
	  req_clear_bp)                                                                    \
	X(SINGLESTEP, sizeof(struct vmscope_msg_vcpu), VMI_VCPU_IN(vcpu), false, false,    \
	  check_enable, req_singlestep)                                                    \
	X(PROTECT, sizeof(struct vmscope_msg_gpa), VMI_NO_VCPU, false, false, check_page,  \
	  req_protect)                                                                     \
	X(UNPROTECT, sizeof(struct vmscope_msg_gpa), VMI_NO_VCPU, false, false,            \
	  check_page, req_protect)                                                         \
	X(INJECT, sizeof(struct vmscope_msg_inject), VMI_VCPU_IN(inject), false, true,     \
	  check_inject, req_inject)                                                        \
	X(MSR_WATCH, sizeof(struct vmscope_msg_msr_watch), VMI_NO_VCPU, false, false,      \
	  check_msr_watch, req_msr_watch)                                                  \
	X(SET_HWBP, sizeof(struct vmscope_msg_hwbp), VMI_NO_VCPU, false, false,            \
	  check_hwbp, req_set_hwbp)                                                        \
	X(CLEAR_HWBP, sizeof(struct vmscope_msg_hwbp), VMI_NO_VCPU, false, false,          \
	  check_hwbp, req_clear_hwbp)

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
