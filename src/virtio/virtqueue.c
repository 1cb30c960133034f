/* Split virtqueue access with every guest-controlled number checked (virtqueue.h). */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "vm.h"

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

bool virtq__map(struct vm *vm, struct virtq *vq)
{
	uint64_t n = vq->size;

	if (!is_pow2(vq->size) || (vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return false;
	vq->desc = vm__gpa_ptr(vm, vq->desc_gpa, 16 * n);
	vq->avail = vm__gpa_ptr(vm, vq->avail_gpa, 6 + 2 * n);
	vq->used = vm__gpa_ptr(vm, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return false;
	}
	return true;
}

static uint16_t load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* VIRTIO_F_EVENT_IDX fields: one past the end of the avail and of the used ring. */
static uint16_t *used_event(const struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(const struct virtq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->size];
}

/*
 * An empty ring, as far as the device can tell.  With EVENT_IDX the driver
 * notifies only when it makes entry avail_event available, so that is set
 * to the next entry before the device goes to sleep, and the ring is looked
 * at once more: an entry added meanwhile was either seen here or notified.
 */
static bool ring_empty(struct virtq *vq)
{
	if (load16(&vq->avail->idx) != vq->last_avail)
		return false;
	if (!vq->event_idx)
		return true;
	__atomic_store_n(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(&vq->avail->idx) == vq->last_avail;
}

/* Copies descriptor i of a table of n, read once so the guest cannot change it under us. */
static struct virtq_desc read_desc(const struct virtq_desc *table, unsigned i)
{
	struct virtq_desc d;

	memcpy(&d, (const void *)&table[i], sizeof(d));
	return d;
}

/* Adds one buffer to the chain after checking it lies in RAM. */
static int chain_add(struct vm *vm, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (c->nr_out + c->nr_in >= VIRTQ_MAX_SEGS)
		return -EINVAL;
	if (!writable && c->nr_in)
		return -EINVAL; /* readable after writable */
	if (d->len == 0) {
		p = NULL; /* empty buffers are legal and carry nothing */
	} else {
		p = vm__gpa_ptr(vm, d->addr, d->len);
		if (!p)
			return -EINVAL;
	}
	if ((writable ? c->in_len : c->out_len) + d->len > VIRTQ_MAX_CHAIN_BYTES)
		return -EINVAL;
	c->iov[c->nr_out + c->nr_in] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

/* Walks an indirect table: at most len/16 entries, no nesting, no loops. */
static int walk_indirect(struct vm *vm, struct virtq_chain *c, const struct virtq_desc *ind)
{
	const struct virtq_desc *table;
	unsigned n, i, steps = 0;

	if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) ||
	    ind->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SEGS)
		return -EINVAL;
	n = ind->len / sizeof(struct virtq_desc);
	table = vm__gpa_ptr(vm, ind->addr, ind->len);
	if (!table || ((uintptr_t)table & 1))
		return -EINVAL;
	for (i = 0;;) {
		struct virtq_desc d = read_desc(table, i);

		if (++steps > n || (d.flags & VIRTQ_DESC_F_INDIRECT))
			return -EINVAL;
		if (chain_add(vm, c, &d) < 0)
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -EINVAL;
		i = d.next;
	}
}

int virtq__pop(struct vm *vm, struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx, head, i;
	unsigned steps = 0;

	if (!vq->ready || ring_empty(vq))
		return 0;
	avail_idx = load16(&vq->avail->idx);
	/* More entries than the ring holds: the index is garbage. */
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return -EINVAL;
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail % vq->size], __ATOMIC_RELAXED);
	if (head >= vq->size)
		return -EINVAL;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (i = head;;) {
		struct virtq_desc d = read_desc(vq->desc, i);

		if (++steps > vq->size)
			return -EINVAL; /* a loop, or longer than the queue */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* An indirect descriptor is alone in its chain and not writable. */
			if ((d.flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE)) || steps != 1)
				return -EINVAL;
			if (walk_indirect(vm, c, &d) < 0)
				return -EINVAL;
			break;
		}
		if (chain_add(vm, c, &d) < 0)
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return -EINVAL;
		i = d.next;
	}
	vq->last_avail++;
	return 1;
}

void virtq__unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq__push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct virtq_used_elem e = { .id = head, .len = len };

	if (!vq->ready)
		return;
	memcpy((void *)&vq->used->ring[vq->used_idx % vq->size], &e, sizeof(e));
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq__wants_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	/* The driver asked to hear of used entry used_event: is it in [old, now)? */
	return !valid || (uint16_t)(now - load16(used_event(vq)) - 1) < (uint16_t)(now - old);
}

/*
 * Copies len bytes between buf and the iovec's bytes from skip on: into the
 * iovec when to_iov, out of it otherwise.  Returns how many were copied.
 */
static size_t iov__copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf,
			size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint8_t *part;
		size_t take;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		part = (uint8_t *)iov[i].iov_base + skip;
		take = iov[i].iov_len - skip;
		if (take > len - done)
			take = len - done;
		if (to_iov)
			memcpy(part, buf + done, take);
		else
			memcpy(buf + done, part, take);
		done += take;
		skip = 0;
	}
	return done;
}

size_t iov__to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov__copy(iov, n, skip, buf, len, false);
}

size_t iov__from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	/* iov__copy only reads buf in this direction. */
	return iov__copy(iov, n, skip, (uint8_t *)buf, len, true);
}

unsigned iov__slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
		    struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len && k < max; i++) {
		size_t take;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, take };
		len -= take;
		skip = 0;
	}
	return k;
}
