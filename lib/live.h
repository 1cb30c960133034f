/* The live side of a target: the control socket and the event channel. */
#ifndef LIBVMSCOPE_LIVE_H
#define LIBVMSCOPE_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "target.h"

struct live_sub {
	vmscope_event_fn fn;
	void *opaque;
};

struct vmscope_live {
	int sock;
	bool closing;      /* detaching: do not wait long for the reply */
	uint64_t next_id;
	struct vmscope_msg_attach_reply info;
	int chan_fd, ev_efd, stop_efd;
	int rsp_efd[VMSCOPE_MAX_VCPUS];
	struct vmscope_chan_header *hdr;
	size_t chan_size;
	struct live_sub subs[VMSCOPE_EV_NR];
};

/* One request and its reply; reply payload copied to out (exactly out_len bytes). */
int live__request(struct vmscope *vm, uint32_t type, const void *payload, size_t len,
		  void *out, size_t out_len);

static inline struct vmscope_ring *live__ring(struct vmscope_live *l, unsigned vcpu, int rsp)
{
	return (struct vmscope_ring *)((uint8_t *)l->hdr + l->hdr->vcpu_offset +
				       l->hdr->vcpu_stride * vcpu + (rsp ? l->hdr->rsp_offset : 0));
}

#endif
