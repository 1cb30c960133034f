/*
 * The virtio-pci common configuration registers: feature negotiation,
 * device status and reset, and queue set-up.  An access reads or patches a
 * snapshot of the whole block, then applies each field it touched.
 */
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virtio/virtqueue.h"

static uint64_t virtio__offered(const struct virtio_dev *dev)
{
	return (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) |
	       (1ULL << VIRTIO_F_EVENT_IDX) | dev->ops->features;
}

void virtio__needs_reset(struct virtio_dev *dev, const char *why)
{
	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_warn("%s %u: %s; device needs reset", dev->ops->name, dev->index, why);
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	dev->config_gen++;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio__interrupt(dev, dev->msix_config, 2);
}

bool virtio__queue_live(const struct virtio_dev *dev, unsigned q)
{
	return q < dev->ops->nr_queues && dev->vq[q].ready &&
	       (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(dev->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio__reset(struct virtio_dev *dev)
{
	dev->status = 0;
	dev->dfselect = dev->gfselect = 0;
	dev->driver_features = 0;
	dev->msix_config = VIRTIO_MSI_NO_VECTOR;
	dev->queue_sel = 0;
	dev->isr = 0;
	dev->pba = 0;
	virtio__intx(dev, false);
	for (unsigned q = 0; q < dev->ops->nr_queues; q++) {
		struct virtq *vq = &dev->vq[q];

		vq->size = dev->ops->queue_max;
		vq->ready = false;
		vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
		vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		vq->last_avail = vq->used_idx = 0;
	}
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

struct common_field {
	uint8_t off, size;
};

static const struct common_field common_fields[] = {
	{ VIRTIO_PCI_DFSELECT, 4 }, { VIRTIO_PCI_DF, 4 },     { VIRTIO_PCI_GFSELECT, 4 },
	{ VIRTIO_PCI_GF, 4 },       { VIRTIO_PCI_MSIX_CONFIG, 2 }, { VIRTIO_PCI_NUM_QUEUES, 2 },
	{ VIRTIO_PCI_STATUS, 1 },   { VIRTIO_PCI_CFG_GEN, 1 }, { VIRTIO_PCI_Q_SELECT, 2 },
	{ VIRTIO_PCI_Q_SIZE, 2 },   { VIRTIO_PCI_Q_MSIX, 2 },  { VIRTIO_PCI_Q_ENABLE, 2 },
	{ VIRTIO_PCI_Q_NOFF, 2 },   { VIRTIO_PCI_Q_DESC, 8 },  { VIRTIO_PCI_Q_AVAIL, 8 },
	{ VIRTIO_PCI_Q_USED, 8 },
};

static void common_snapshot(const struct virtio_dev *dev, uint8_t *buf)
{
	uint64_t feat = virtio__offered(dev);
	unsigned q = dev->queue_sel;

	memset(buf, 0, VIRTIO_COMMON_SIZE);
	virtio__put(buf, VIRTIO_PCI_DFSELECT, dev->dfselect, 4);
	virtio__put(buf, VIRTIO_PCI_DF, dev->dfselect == 0 ? (uint32_t)feat
					: dev->dfselect == 1 ? (uint32_t)(feat >> 32) : 0, 4);
	virtio__put(buf, VIRTIO_PCI_GFSELECT, dev->gfselect, 4);
	virtio__put(buf, VIRTIO_PCI_GF, dev->gfselect == 0 ? (uint32_t)dev->driver_features
					: dev->gfselect == 1 ? (uint32_t)(dev->driver_features >> 32)
							     : 0, 4);
	virtio__put(buf, VIRTIO_PCI_MSIX_CONFIG, dev->msix_config, 2);
	virtio__put(buf, VIRTIO_PCI_NUM_QUEUES, dev->ops->nr_queues, 2);
	virtio__put(buf, VIRTIO_PCI_STATUS, dev->status, 1);
	virtio__put(buf, VIRTIO_PCI_CFG_GEN, dev->config_gen, 1);
	virtio__put(buf, VIRTIO_PCI_Q_SELECT, dev->queue_sel, 2);
	if (q < dev->ops->nr_queues) {
		const struct virtq *vq = &dev->vq[q];

		virtio__put(buf, VIRTIO_PCI_Q_SIZE, vq->size, 2);
		virtio__put(buf, VIRTIO_PCI_Q_MSIX, vq->msix_vector, 2);
		virtio__put(buf, VIRTIO_PCI_Q_ENABLE, vq->ready, 2);
		virtio__put(buf, VIRTIO_PCI_Q_NOFF, q, 2);
		virtio__put(buf, VIRTIO_PCI_Q_DESC, vq->desc_gpa, 8);
		virtio__put(buf, VIRTIO_PCI_Q_AVAIL, vq->avail_gpa, 8);
		virtio__put(buf, VIRTIO_PCI_Q_USED, vq->used_gpa, 8);
	} else {
		virtio__put(buf, VIRTIO_PCI_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
	}
}

static void virtio__write_status(struct virtio_dev *dev, uint8_t v)
{
	if (v == 0) {
		virtio__reset(dev);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = dev->driver_features;

		/* Only what was offered, and never the legacy interface. */
		if ((f & ~virtio__offered(dev)) || !(f & (1ULL << VIRTIO_F_VERSION_1)))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	/* Buffers made available before DRIVER_OK are looked at now. */
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(dev->status & VIRTIO_STATUS_DRIVER_OK)) {
		uint64_t one = 1;

		for (unsigned q = 0; q < dev->ops->nr_queues; q++)
			if (dev->vq[q].ready && write(dev->vq[q].efd, &one, sizeof(one)) < 0)
				log_warn("%s: queue kick: %s", dev->ops->name, strerror(errno));
	}
	dev->status = (uint8_t)(v & ~VIRTIO_STATUS_NEEDS_RESET) |
		      (dev->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void common_apply(struct virtio_dev *dev, const uint8_t *buf, const struct common_field *f)
{
	uint64_t v = virtio__get(buf, f->off, f->size);
	unsigned q = dev->queue_sel;
	struct virtq *vq = q < dev->ops->nr_queues ? &dev->vq[q] : NULL;
	bool can_setup = vq && !vq->ready;

	switch (f->off) {
	case VIRTIO_PCI_DFSELECT:
		dev->dfselect = (uint32_t)v;
		break;
	case VIRTIO_PCI_GFSELECT:
		dev->gfselect = (uint32_t)v;
		break;
	case VIRTIO_PCI_GF:
		if (dev->status & VIRTIO_STATUS_FEATURES_OK || dev->gfselect > 1)
			break;
		if (dev->gfselect == 0)
			dev->driver_features = (dev->driver_features & ~0xffffffffULL) | v;
		else
			dev->driver_features = (dev->driver_features & 0xffffffffULL) | (v << 32);
		break;
	case VIRTIO_PCI_MSIX_CONFIG:
		dev->msix_config = v < dev->nr_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_STATUS:
		virtio__write_status(dev, (uint8_t)v);
		break;
	case VIRTIO_PCI_Q_SELECT:
		dev->queue_sel = (uint16_t)v;
		break;
	case VIRTIO_PCI_Q_SIZE:
		if (can_setup)
			vq->size = (uint16_t)v; /* checked when the queue is enabled */
		break;
	case VIRTIO_PCI_Q_MSIX:
		if (vq)
			vq->msix_vector = v < dev->nr_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
		break;
	case VIRTIO_PCI_Q_ENABLE:
		if (!can_setup || v != 1)
			break;
		if (vq->size == 0 || vq->size > dev->ops->queue_max || !virtq__map(dev->vm, vq)) {
			virtio__needs_reset(dev, "queue enabled with a bad size or rings outside RAM");
			break;
		}
		vq->last_avail = vq->used_idx = 0;
		vq->event_idx = dev->driver_features & (1ULL << VIRTIO_F_EVENT_IDX);
		vq->signalled_valid = false;
		vq->ready = true;
		break;
	case VIRTIO_PCI_Q_DESC:
		if (can_setup)
			vq->desc_gpa = v;
		break;
	case VIRTIO_PCI_Q_AVAIL:
		if (can_setup)
			vq->avail_gpa = v;
		break;
	case VIRTIO_PCI_Q_USED:
		if (can_setup)
			vq->used_gpa = v;
		break;
	default: /* read-only */
		break;
	}
}

void virtio__common_access(struct virtio_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	uint8_t buf[VIRTIO_COMMON_SIZE];

	common_snapshot(dev, buf);
	if (!range_within(off, len, sizeof(buf))) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		memcpy(data, buf + off, len);
		return;
	}
	memcpy(buf + off, data, len);
	for (unsigned i = 0; i < ARRAY_SIZE(common_fields); i++) {
		const struct common_field *f = &common_fields[i];

		if (off < (uint64_t)f->off + f->size && f->off < off + len)
			common_apply(dev, buf, f);
	}
}
