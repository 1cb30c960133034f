/* virtio-rng (--rng [src=PATH]): fills the driver's buffers from /dev/urandom or PATH. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vm.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_PER_REQUEST (64u << 10) /* a driver asking for more gets this much */

struct virtio_rng {
	int fd;
	struct virtq_chain chain;
	struct iovec part[VIRTQ_MAX_SEGS];
};

static void rng__notify(struct virtio_dev *dev, unsigned q)
{
	struct virtio_rng *rng = dev->priv;
	struct virtq *vq = &dev->vq[q];
	bool used = false;
	int r;

	while ((r = virtq__pop(dev->vm, vq, &rng->chain)) > 0) {
		struct virtq_chain *c = &rng->chain;
		size_t want = c->in_len < RNG_MAX_PER_REQUEST ? c->in_len : RNG_MAX_PER_REQUEST;
		unsigned n = iov__slice(c->iov + c->nr_out, c->nr_in, 0, want, rng->part,
					VIRTQ_MAX_SEGS);
		ssize_t got = n ? readv(rng->fd, rng->part, (int)(n > IOV_MAX ? IOV_MAX : n)) : 0;

		if (got < 0) {
			log_warn("virtio-rng: reading the source failed: %s", strerror(errno));
			got = 0;
		}
		virtq__push(vq, c->head, (uint32_t)got);
		used = true;
	}
	if (r < 0)
		virtio__needs_reset(dev, "malformed descriptor chain");
	if (used)
		virtio__signal_queue(dev, q);
}

static void rng__free(struct virtio_dev *dev)
{
	struct virtio_rng *rng = dev->priv;

	if (!rng)
		return;
	if (rng->fd >= 0)
		close(rng->fd);
	free(rng);
}

static const struct virtio_ops rng_ops = {
	.name = "virtio-rng",
	.type = VIRTIO_ID_RNG,
	.class_code = 0x00ff00,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.config_size = 0,
	.queue_notify = rng__notify,
	.free = rng__free,
};

static int rng__init(struct vm *vm)
{
	const char *src = vm->cfg->rng_src[0] ? vm->cfg->rng_src : "/dev/urandom";
	struct virtio_rng *rng;
	struct virtio_dev *dev;

	if (!vm->cfg->rng)
		return 0;
	rng = calloc(1, sizeof(*rng));
	if (!rng)
		return -ENOMEM;
	rng->fd = open(src, O_RDONLY | O_CLOEXEC);
	if (rng->fd < 0) {
		int r = -errno;

		log_error("--rng: cannot open '%s': %s", src, strerror(errno));
		vm__config_error(vm);
		free(rng);
		return r;
	}
	dev = virtio__create(vm, &rng_ops, rng);
	return dev ? virtio__start(dev) : -EIO;
}

static void rng__exit(struct vm *vm)
{
	virtio__free_type(vm, VIRTIO_ID_RNG);
}

DEVICE_INIT(DEVICE_LEVEL_VIRTIO, virtio_rng, rng__init, rng__exit);
