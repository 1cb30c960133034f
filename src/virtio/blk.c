/*
 * virtio-blk over a raw image (--disk path=...,readonly=on|off), one device
 * per --disk.  Requests run on the device's worker thread with preadv/pwritev
 * straight into guest memory.  Reads, writes, flush (fdatasync) and GET_ID;
 * anything beyond the image or not in whole sectors fails with IOERR, a write
 * to a read-only disk with IOERR, an unknown type with UNSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "util.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vm.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR_SIZE 512
#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX 254
#define BLK_ID_BYTES 20

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk {
	int fd;
	bool readonly;
	uint64_t size; /* bytes; the capacity is the whole sectors in it */
	char id[BLK_ID_BYTES];
	struct virtq_chain chain;
	struct iovec data[VIRTQ_MAX_SEGS];
};

/* Reads or writes all of [off, off + len) through iov; false on error or short I/O. */
static bool blk__rw(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n) {
		ssize_t r = write ? pwritev(fd, iov, (int)(n > IOV_MAX ? IOV_MAX : n), (off_t)off)
				  : preadv(fd, iov, (int)(n > IOV_MAX ? IOV_MAX : n), (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return true;
}

/* Handles one request; returns the bytes written into the driver's buffers. */
static uint32_t blk__request(struct virtio_blk *b, struct virtq_chain *c)
{
	const struct iovec *in = c->iov + c->nr_out;
	struct blk_req_hdr hdr;
	uint8_t status = VIRTIO_BLK_S_OK;
	uint64_t data_len, written = 0, off;
	unsigned n;

	/* The status byte is the last writable byte. */
	if (iov__to_buf(c->iov, c->nr_out, 0, &hdr, sizeof(hdr)) != sizeof(hdr) || c->in_len == 0)
		return UINT32_MAX; /* malformed: no header or nowhere for the status */

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		data_len = c->in_len - 1;
		off = hdr.sector * SECTOR_SIZE;
		if (data_len % SECTOR_SIZE || hdr.sector > UINT64_MAX / SECTOR_SIZE ||
		    !range_within(off, data_len, b->size & ~(uint64_t)(SECTOR_SIZE - 1))) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov__slice(in, c->nr_in, 0, data_len, b->data, VIRTQ_MAX_SEGS);
		if (!blk__rw(b->fd, b->data, n, off, false))
			status = VIRTIO_BLK_S_IOERR;
		else
			written = data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		data_len = c->out_len - sizeof(hdr);
		off = hdr.sector * SECTOR_SIZE;
		if (b->readonly || data_len % SECTOR_SIZE || hdr.sector > UINT64_MAX / SECTOR_SIZE ||
		    !range_within(off, data_len, b->size & ~(uint64_t)(SECTOR_SIZE - 1))) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov__slice(c->iov, c->nr_out, sizeof(hdr), data_len, b->data, VIRTQ_MAX_SEGS);
		if (!blk__rw(b->fd, b->data, n, off, true))
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->readonly && fdatasync(b->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		data_len = c->in_len - 1;
		if (data_len > BLK_ID_BYTES)
			data_len = BLK_ID_BYTES;
		written = iov__from_buf(in, c->nr_in, 0, b->id, data_len);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	iov__from_buf(in, c->nr_in, c->in_len - 1, &status, 1);
	return (uint32_t)written + 1;
}

static void blk__notify(struct virtio_dev *dev, unsigned q)
{
	struct virtio_blk *b = dev->priv;
	struct virtq *vq = &dev->vq[q];
	bool used = false;
	int r;

	while ((r = virtq__pop(dev->vm, vq, &b->chain)) > 0) {
		uint32_t len = blk__request(b, &b->chain);

		if (len == UINT32_MAX) {
			virtio__needs_reset(dev, "request without header or status byte");
			break;
		}
		virtq__push(vq, b->chain.head, len);
		used = true;
	}
	if (r < 0)
		virtio__needs_reset(dev, "malformed descriptor chain");
	if (used)
		virtio__signal_queue(dev, q);
}

static void blk__free(struct virtio_dev *dev)
{
	struct virtio_blk *b = dev->priv;

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

static const struct virtio_ops blk_ops = {
	.name = "virtio-blk",
	.type = VIRTIO_ID_BLOCK,
	.class_code = 0x018000,
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH),
	.config_size = 36,
	.queue_notify = blk__notify,
	.free = blk__free,
};

static const struct virtio_ops blk_ro_ops = {
	.name = "virtio-blk",
	.type = VIRTIO_ID_BLOCK,
	.class_code = 0x018000,
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_RO),
	.config_size = 36,
	.queue_notify = blk__notify,
	.free = blk__free,
};

static int blk__open(const struct disk_config *d, struct virtio_blk *b)
{
	struct stat st;

	b->fd = open(d->path, (d->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		log_error("--disk: cannot open '%s': %s", d->path, strerror(errno));
		return -errno;
	}
	/* Like Cloud Hypervisor: one writer, or any number of readers, per image. */
	if (flock(b->fd, (d->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		log_error("--disk: '%s' is in use by another VM%s", d->path,
			  d->readonly ? " that writes it" : "");
		return -EBUSY;
	}
	if (fstat(b->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
	} else {
		log_error("--disk: '%s' is neither a file nor a block device", d->path);
		return -EINVAL;
	}
	/* Guests read their disks in long runs (boot, file copies): read ahead further. */
	posix_fadvise(b->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (b->size % SECTOR_SIZE)
		log_warn("--disk: '%s' is not a whole number of sectors; the last %llu bytes are "
			 "not visible", d->path, (unsigned long long)(b->size % SECTOR_SIZE));
	return 0;
}

static int blk__add(struct vm *vm, const struct disk_config *d, unsigned i)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	struct virtio_dev *dev;
	uint64_t capacity;
	uint32_t v;
	int r;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->readonly = d->readonly;
	snprintf(b->id, sizeof(b->id), "vmscope-disk%u", i); /* not NUL-terminated when 20 */
	r = blk__open(d, b);
	if (r < 0) {
		vm__config_error(vm);
		if (b->fd >= 0)
			close(b->fd);
		free(b);
		return r;
	}
	dev = virtio__create(vm, d->readonly ? &blk_ro_ops : &blk_ops, b);
	if (!dev)
		return -EIO;
	capacity = b->size / SECTOR_SIZE;
	memcpy(dev->config + 0, &capacity, 8);
	v = BLK_SEG_MAX;
	memcpy(dev->config + 12, &v, 4);
	v = SECTOR_SIZE;
	memcpy(dev->config + 20, &v, 4);
	return virtio__start(dev);
}

static int blk__init(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg->nr_disks && i < CONFIG_MAX_DISKS; i++) {
		int r = blk__add(vm, &vm->cfg->disks[i], i);

		if (r < 0)
			return r;
	}
	return 0;
}

static void blk__exit(struct vm *vm)
{
	virtio__free_type(vm, VIRTIO_ID_BLOCK);
}

DEVICE_INIT(DEVICE_LEVEL_VIRTIO, virtio_blk, blk__init, blk__exit);
