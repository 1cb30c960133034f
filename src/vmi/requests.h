/* Control-socket requests and their replies (private to src/vmi). */
#ifndef VMSCOPE_VMI_REQUESTS_H
#define VMSCOPE_VMI_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "vmi/core.h"
#include "vmi/msg.h"

struct vmi_reply {
	struct vmscope_msg_reply_hdr h;
	uint8_t payload[VMSCOPE_MSG_MAX];
};

/* Sets rp's status and error text; returns 0. */
int vmi__reply_fail(struct vmi_reply *rp, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Lock held.  Returns the reply's payload size. */
size_t vmi__handle_request(struct vmi_core *core, const struct vmi_msg *m, struct vmi_reply *rp);
/* Lock held.  Pausing waits until the vCPUs (which, or all) are stopped for it. */
int vmi__pause_vcpus(struct vmi_core *core, uint32_t which, bool pause, struct vmi_reply *rp);

#endif
