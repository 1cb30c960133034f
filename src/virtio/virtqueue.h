/*
 * Split virtqueues, read with suspicion: every descriptor chain is checked
 * before the device touches a byte of it.  A chain is refused (negative
 * return, nothing consumed) when it loops, is longer than the queue (or the
 * indirect table), names a descriptor index past the queue, nests indirect
 * tables, has an indirect table of bad size or place, puts a readable
 * descriptor after a writable one, or points at bytes that are not guest RAM
 * (including ranges that wrap or lengths larger than RAM).  Buffers come back
 * as host iovecs, each one checked through memmap__ptr.
 */
#ifndef VMSCOPE_VIRTQUEUE_H
#define VMSCOPE_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtio.h"

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTQ_MAX_SEGS 1024          /* descriptors in one chain, indirect included */
#define VIRTQ_MAX_CHAIN_BYTES (256u << 20) /* bytes in one chain */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

struct virtq_chain {
	uint16_t head;
	unsigned nr_out, nr_in;   /* iov[0..nr_out) readable, then nr_in writable */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Checks the rings of a queue the driver enables and maps them; returns
 * false (and leaves it disabled) when they are misaligned or not in RAM.
 */
bool virtq__map(struct vm *vm, struct virtq *vq);

/*
 * Takes the next available chain: 1 with *c filled, 0 when the ring is
 * empty, -EINVAL when the ring or the chain is malformed (the device should
 * then be marked NEEDS_RESET).
 */
int virtq__pop(struct vm *vm, struct virtq *vq, struct virtq_chain *c);

/* Gives the last popped chain back untouched (no room for a packet, say). */
void virtq__unpop(struct virtq *vq);

/* Returns a chain to the driver with len bytes written into its writable part. */
void virtq__push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * True when the driver wants an interrupt for the buffers used since the
 * last call (VIRTIO_F_EVENT_IDX: its used_event; else the avail ring's
 * NO_INTERRUPT flag).  Called by the one thread that pushes to vq.
 */
bool virtq__wants_interrupt(struct virtq *vq);

/* Copies between a buffer and the iovecs [iov, iov + n), starting skip bytes in. */
size_t iov__to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov__from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

/* The part [skip, skip + len) of iov as at most max iovecs in out; returns how many. */
unsigned iov__slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
		    struct iovec *out, unsigned max);

#endif
