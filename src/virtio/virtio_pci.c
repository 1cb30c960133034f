/*
 * The virtio 1.x PCI transport (modern only): configuration-space
 * capabilities, the common configuration, ISR, device configuration, notify
 * registers and MSI-X table in BAR 0, and the per-device worker thread.
 *
 * Locks: the PCI bus lock may be held when dev->lock is taken from a BAR
 * access, never the other way round: configuration-space callbacks (bus lock
 * held) only kick the worker or touch ioeventfds.
 */
#include "virtio/virtio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virtio/virtqueue.h"
#include "vm.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 1

/* Every virtio device of every VM in the process, for virtio__find and teardown. */
#define VIRTIO_MAX_DEVICES 64
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct virtio_dev *registry[VIRTIO_MAX_DEVICES];

static uint64_t virtio__offered(const struct virtio_dev *dev)
{
	return (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) |
	       (1ULL << VIRTIO_F_EVENT_IDX) | dev->ops->features;
}

static uint16_t virtio__msix_ctrl(const struct virtio_dev *dev)
{
	uint16_t v;

	memcpy(&v, dev->pci.cfg + dev->pci.cap_msix + 2, 2);
	return v;
}

static void virtio__intx(struct virtio_dev *dev, bool level)
{
	struct kvm_irq_level irq = { .irq = pci__intx_gsi(dev->pci.slot), .level = level };

	if (level == dev->intx_level)
		return;
	dev->intx_level = level;
	if (ioctl(dev->vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_warn("%s: cannot set IRQ %u: %s", dev->ops->name, irq.irq, strerror(errno));
	if (level) {
		atomic_fetch_add(&dev->irq_count[VIRTIO_MAX_VECTORS], 1);
		pthread_cond_broadcast(&dev->irq_cond);
	}
}

/* Sends MSI-X vector v now (lock held). */
static void virtio__msix_deliver(struct virtio_dev *dev, unsigned v)
{
	const struct virtio_msix_entry *e = &dev->msix[v];
	uint64_t one = 1;

	if (dev->irqfd_ok[v]) {
		if (write(dev->irqfd[v], &one, sizeof(one)) < 0)
			log_warn("%s: irqfd write: %s", dev->ops->name, strerror(errno));
	} else {
		struct kvm_msi msi = { .address_lo = e->addr_lo, .address_hi = e->addr_hi,
				       .data = e->data };

		if (ioctl(dev->vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
			log_debug("%s: KVM_SIGNAL_MSI: %s", dev->ops->name, strerror(errno));
	}
	atomic_fetch_add(&dev->irq_count[v], 1);
	pthread_cond_broadcast(&dev->irq_cond);
}

/* An interrupt for vector (MSI-X) or, with MSI-X off, INTx with isr_bit in the ISR. */
static void virtio__interrupt(struct virtio_dev *dev, uint16_t vector, uint8_t isr_bit)
{
	uint16_t ctrl = virtio__msix_ctrl(dev);

	if (ctrl & MSIX_CTRL_ENABLE) {
		if (vector >= dev->nr_vectors)
			return;
		if ((ctrl & MSIX_CTRL_MASKALL) || (dev->msix[vector].ctrl & MSIX_ENTRY_MASKED)) {
			dev->pba |= 1u << vector;
			return;
		}
		virtio__msix_deliver(dev, vector);
		return;
	}
	dev->isr |= isr_bit;
	if (!(dev->pci.cfg[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >> 8)))
		virtio__intx(dev, true);
}

/* Sends what was held back while masked, now that it may not be (lock held). */
static void virtio__msix_flush_pending(struct virtio_dev *dev)
{
	uint16_t ctrl = virtio__msix_ctrl(dev);

	if (!(ctrl & MSIX_CTRL_ENABLE) || (ctrl & MSIX_CTRL_MASKALL))
		return;
	for (unsigned v = 0; v < dev->nr_vectors; v++) {
		if ((dev->pba & (1u << v)) && !(dev->msix[v].ctrl & MSIX_ENTRY_MASKED)) {
			dev->pba &= ~(1u << v);
			virtio__msix_deliver(dev, v);
		}
	}
}

void virtio__signal_queue(struct virtio_dev *dev, unsigned q)
{
	if (q < dev->ops->nr_queues && virtq__wants_interrupt(&dev->vq[q]))
		virtio__interrupt(dev, dev->vq[q].msix_vector, 1);
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

void virtio__kick_worker(struct virtio_dev *dev)
{
	uint64_t one = 1;

	if (write(dev->stop_efd, &one, sizeof(one)) < 0)
		log_warn("%s: cannot wake its worker: %s", dev->ops->name, strerror(errno));
}

static void virtio__reset(struct virtio_dev *dev)
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

/* --- common configuration: a snapshot is read or patched, then fields applied --- */

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

static void put(uint8_t *buf, unsigned off, uint64_t v, unsigned size)
{
	memcpy(buf + off, &v, size); /* little-endian host */
}

static uint64_t get(const uint8_t *buf, unsigned off, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, buf + off, size);
	return v;
}

static void common_snapshot(const struct virtio_dev *dev, uint8_t *buf)
{
	uint64_t feat = virtio__offered(dev);
	unsigned q = dev->queue_sel;

	memset(buf, 0, VIRTIO_COMMON_SIZE);
	put(buf, VIRTIO_PCI_DFSELECT, dev->dfselect, 4);
	put(buf, VIRTIO_PCI_DF, dev->dfselect == 0 ? (uint32_t)feat
				: dev->dfselect == 1 ? (uint32_t)(feat >> 32) : 0, 4);
	put(buf, VIRTIO_PCI_GFSELECT, dev->gfselect, 4);
	put(buf, VIRTIO_PCI_GF, dev->gfselect == 0 ? (uint32_t)dev->driver_features
				: dev->gfselect == 1 ? (uint32_t)(dev->driver_features >> 32) : 0, 4);
	put(buf, VIRTIO_PCI_MSIX_CONFIG, dev->msix_config, 2);
	put(buf, VIRTIO_PCI_NUM_QUEUES, dev->ops->nr_queues, 2);
	put(buf, VIRTIO_PCI_STATUS, dev->status, 1);
	put(buf, VIRTIO_PCI_CFG_GEN, dev->config_gen, 1);
	put(buf, VIRTIO_PCI_Q_SELECT, dev->queue_sel, 2);
	if (q < dev->ops->nr_queues) {
		const struct virtq *vq = &dev->vq[q];

		put(buf, VIRTIO_PCI_Q_SIZE, vq->size, 2);
		put(buf, VIRTIO_PCI_Q_MSIX, vq->msix_vector, 2);
		put(buf, VIRTIO_PCI_Q_ENABLE, vq->ready, 2);
		put(buf, VIRTIO_PCI_Q_NOFF, q, 2);
		put(buf, VIRTIO_PCI_Q_DESC, vq->desc_gpa, 8);
		put(buf, VIRTIO_PCI_Q_AVAIL, vq->avail_gpa, 8);
		put(buf, VIRTIO_PCI_Q_USED, vq->used_gpa, 8);
	} else {
		put(buf, VIRTIO_PCI_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
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
	uint64_t v = get(buf, f->off, f->size);
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

static void virtio__common_access(struct virtio_dev *dev, uint64_t off, uint8_t *data,
				  uint32_t len, bool is_write)
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

/* --- MSI-X table --- */

static void virtio__msix_access(struct virtio_dev *dev, uint64_t off, uint8_t *data,
				uint32_t len, bool is_write)
{
	for (uint32_t done = 0; done + 4 <= len; done += 4) {
		uint64_t o = off + done;
		unsigned v = (unsigned)(o / 16), word = (unsigned)(o % 16) / 4;
		struct virtio_msix_entry *e;
		uint32_t *reg, val;

		if ((o & 3) || v >= dev->nr_vectors) {
			if (!is_write)
				memset(data + done, 0, 4);
			continue;
		}
		e = &dev->msix[v];
		reg = word == 0 ? &e->addr_lo : word == 1 ? &e->addr_hi : word == 2 ? &e->data : &e->ctrl;
		if (!is_write) {
			memcpy(data + done, reg, 4);
			continue;
		}
		memcpy(&val, data + done, 4);
		if (word == 3)
			val &= MSIX_ENTRY_MASKED;
		if (*reg == val)
			continue;
		*reg = val;
		if (word < 3) {
			int r = pci__msi_route(dev->pci.bus, (unsigned)dev->gsi[v],
					       ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data, true);

			if (r < 0 && dev->irqfd_ok[v]) {
				log_warn("%s: KVM_SET_GSI_ROUTING: %s; using KVM_SIGNAL_MSI",
					 dev->ops->name, strerror(-r));
				dev->irqfd_ok[v] = false;
			}
		} else {
			virtio__msix_flush_pending(dev);
		}
	}
}

/* --- BAR 0 --- */

static void virtio__bar_access(struct pci_device *pdev, unsigned bar, uint64_t off,
			       uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_dev *dev = pdev->opaque;

	(void)bar;
	/* Notify first and without the lock: it is the hot path. */
	if (off >= VIRTIO_NOTIFY_OFF && off < VIRTIO_NOTIFY_OFF + 0x1000) {
		uint64_t q = (off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT, one = 1;

		if (is_write)
			atomic_fetch_add_explicit(&dev->notify_exits, 1, memory_order_relaxed);
		if (!is_write)
			memset(data, 0, len);
		else if (q < dev->ops->nr_queues && write(dev->vq[q].efd, &one, sizeof(one)) < 0)
			log_warn("%s: queue notify: %s", dev->ops->name, strerror(errno));
		return;
	}
	pthread_mutex_lock(&dev->lock);
	if (off < VIRTIO_COMMON_OFF + 0x1000) {
		virtio__common_access(dev, off - VIRTIO_COMMON_OFF, data, len, is_write);
	} else if (off >= VIRTIO_ISR_OFF && off < VIRTIO_ISR_OFF + 0x1000) {
		if (!is_write) {
			memset(data, 0, len);
			if (off == VIRTIO_ISR_OFF) {
				data[0] = dev->isr; /* reading clears it */
				dev->isr = 0;
				virtio__intx(dev, false);
			}
		}
	} else if (off >= VIRTIO_DEVICE_CFG_OFF && off < VIRTIO_DEVICE_CFG_OFF + 0x1000) {
		uint64_t o = off - VIRTIO_DEVICE_CFG_OFF;

		if (!range_within(o, len, dev->ops->config_size)) {
			if (!is_write)
				memset(data, 0, len);
		} else if (!is_write) {
			memcpy(data, dev->config + o, len);
		} else if (dev->ops->config_write) {
			memcpy(dev->config + o, data, len);
			dev->ops->config_write(dev, (uint32_t)o, len);
		}
	} else if (off >= VIRTIO_MSIX_TABLE_OFF && off < VIRTIO_MSIX_PBA_OFF) {
		virtio__msix_access(dev, off - VIRTIO_MSIX_TABLE_OFF, data, len, is_write);
	} else if (off >= VIRTIO_MSIX_PBA_OFF && off < VIRTIO_MSIX_PBA_OFF + 8) {
		if (!is_write) {
			uint64_t pba = dev->pba;

			memset(data, 0, len);
			memcpy(data, (uint8_t *)&pba + (off - VIRTIO_MSIX_PBA_OFF),
			       len < VIRTIO_MSIX_PBA_OFF + 8 - off ? len : VIRTIO_MSIX_PBA_OFF + 8 - off);
		}
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* --- configuration space callbacks (bus lock held) --- */

static void virtio__cfg_written(struct pci_device *pdev, uint32_t off, uint32_t len)
{
	struct virtio_dev *dev = pdev->opaque;
	uint32_t ctrl = pdev->cap_msix + 2;

	/* MSI-X enabled or unmasked: the worker sends what is pending. */
	if (off <= ctrl + 1 && ctrl < off + len)
		virtio__kick_worker(dev);
}

static void virtio__ioeventfds(struct virtio_dev *dev, bool assign)
{
	uint64_t base = pci__bar_addr(&dev->pci, 0);
	bool on = assign && pci__mem_enabled(&dev->pci) && base;

	for (unsigned q = 0; q < dev->ops->nr_queues; q++) {
		struct virtq *vq = &dev->vq[q];
		uint64_t addr = base + VIRTIO_NOTIFY_OFF + (uint64_t)q * VIRTIO_NOTIFY_MULT;
		struct kvm_ioeventfd ioe = { .len = 2, .fd = vq->efd };

		if (vq->ioeventfd_addr && (!on || vq->ioeventfd_addr != addr)) {
			ioe.addr = vq->ioeventfd_addr;
			ioe.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(dev->vm->vm_fd, KVM_IOEVENTFD, &ioe);
			vq->ioeventfd_addr = 0;
		}
		if (on && !vq->ioeventfd_addr) {
			ioe.addr = addr;
			ioe.flags = 0;
			if (ioctl(dev->vm->vm_fd, KVM_IOEVENTFD, &ioe) == 0)
				vq->ioeventfd_addr = addr;
			else
				log_debug("%s: KVM_IOEVENTFD: %s; notifications exit to user space",
					  dev->ops->name, strerror(errno));
		}
	}
}

static void virtio__bar_moved(struct pci_device *pdev)
{
	virtio__ioeventfds(pdev->opaque, true);
}

/* --- the worker --- */

static void *virtio__worker(void *arg)
{
	struct virtio_dev *dev = arg;
	unsigned nq = dev->ops->nr_queues;

	for (;;) {
		struct pollfd pfd[1 + VIRTIO_MAX_QUEUES + VIRTIO_MAX_FDS];
		unsigned n = 0;
		uint64_t cnt;

		pfd[n++] = (struct pollfd){ .fd = dev->stop_efd, .events = POLLIN };
		for (unsigned q = 0; q < nq; q++)
			pfd[n++] = (struct pollfd){ .fd = dev->vq[q].efd, .events = POLLIN };
		pthread_mutex_lock(&dev->lock);
		for (unsigned i = 0; i < dev->nr_fds; i++)
			pfd[n++] = (struct pollfd){ .fd = dev->fd_wanted[i] ? dev->fds[i] : -1,
						    .events = POLLIN };
		pthread_mutex_unlock(&dev->lock);

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: worker poll: %s", dev->ops->name, strerror(errno));
			return NULL;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(dev->stop_efd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			if (atomic_load(&dev->stopping))
				return NULL;
			pthread_mutex_lock(&dev->lock);
			virtio__msix_flush_pending(dev);
			pthread_mutex_unlock(&dev->lock);
		}
		for (unsigned q = 0; q < nq; q++) {
			if (!(pfd[1 + q].revents & POLLIN))
				continue;
			if (read(dev->vq[q].efd, &cnt, sizeof(cnt)) < 0)
				continue;
			pthread_mutex_lock(&dev->lock);
			if (virtio__queue_live(dev, q))
				dev->ops->queue_notify(dev, q);
			pthread_mutex_unlock(&dev->lock);
		}
		for (unsigned i = 0; i < dev->nr_fds; i++) {
			if (!(pfd[1 + nq + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			pthread_mutex_lock(&dev->lock);
			dev->ops->fd_ready(dev, i);
			pthread_mutex_unlock(&dev->lock);
		}
	}
}

/* --- creation and teardown --- */

static void virtio__free(struct virtio_dev *dev)
{
	if (dev->worker_started) {
		atomic_store(&dev->stopping, true);
		virtio__kick_worker(dev);
		pthread_join(dev->worker, NULL);
	}
	if (dev->pci.bus)
		virtio__ioeventfds(dev, false);
	for (unsigned v = 0; v < dev->nr_vectors; v++) {
		if (dev->irqfd_ok[v]) {
			struct kvm_irqfd irqfd = { .fd = (uint32_t)dev->irqfd[v],
						   .gsi = (uint32_t)dev->gsi[v],
						   .flags = KVM_IRQFD_FLAG_DEASSIGN };

			ioctl(dev->vm->vm_fd, KVM_IRQFD, &irqfd);
		}
		if (dev->irqfd[v] >= 0)
			close(dev->irqfd[v]);
	}
	for (unsigned q = 0; q < dev->ops->nr_queues; q++)
		if (dev->vq[q].efd >= 0)
			close(dev->vq[q].efd);
	if (dev->stop_efd >= 0)
		close(dev->stop_efd);
	if (dev->ops->free)
		dev->ops->free(dev);
	pthread_cond_destroy(&dev->irq_cond);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

/* Frees every virtio device of the VM, newest first (one vm__on_destroy for all). */
static void virtio__free_all(void *opaque)
{
	struct vm *vm = opaque;

	for (unsigned i = VIRTIO_MAX_DEVICES; i-- > 0;) {
		struct virtio_dev *dev = NULL;

		pthread_mutex_lock(&registry_lock);
		if (registry[i] && registry[i]->vm == vm) {
			dev = registry[i];
			registry[i] = NULL;
		}
		pthread_mutex_unlock(&registry_lock);
		if (dev)
			virtio__free(dev);
	}
}

struct virtio_dev *virtio__find(struct vm *vm, uint16_t type, unsigned index)
{
	struct virtio_dev *found = NULL;

	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MAX_DEVICES && !found; i++)
		if (registry[i] && registry[i]->vm == vm && registry[i]->ops->type == type &&
		    registry[i]->index == index)
			found = registry[i];
	pthread_mutex_unlock(&registry_lock);
	return found;
}

/* Puts dev in the registry; the VM's first device also arranges the teardown. */
static int virtio__register(struct virtio_dev *dev)
{
	bool first = true;
	unsigned slot = VIRTIO_MAX_DEVICES;

	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MAX_DEVICES; i++) {
		if (!registry[i]) {
			if (slot == VIRTIO_MAX_DEVICES)
				slot = i;
			continue;
		}
		if (registry[i]->vm == dev->vm) {
			first = false;
			if (registry[i]->ops->type == dev->ops->type)
				dev->index++;
		}
	}
	if (slot < VIRTIO_MAX_DEVICES)
		registry[slot] = dev;
	pthread_mutex_unlock(&registry_lock);
	if (slot == VIRTIO_MAX_DEVICES)
		return -ENOSPC;
	if (first) {
		int r = vm__on_destroy(dev->vm, virtio__free_all, dev->vm);

		if (r < 0) {
			pthread_mutex_lock(&registry_lock);
			registry[slot] = NULL;
			pthread_mutex_unlock(&registry_lock);
			return r;
		}
	}
	return 0;
}

static void virtio__add_caps(struct virtio_dev *dev)
{
	struct pci_device *p = &dev->pci;
	uint8_t msix[12] = { PCI_CAP_ID_MSIX, 0 };
	struct {
		uint8_t type;
		uint32_t off, len;
	} regions[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_OFF, VIRTIO_COMMON_SIZE },
		{ VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_OFF, 1 },
		{ VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_DEVICE_CFG_OFF, dev->ops->config_size ? dev->ops->config_size : 4 },
		{ VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_OFF,
		  dev->ops->nr_queues * VIRTIO_NOTIFY_MULT },
	};
	int off;

	put(msix, 2, dev->nr_vectors - 1, 2);   /* table size - 1; disabled, unmasked */
	put(msix, 4, VIRTIO_MSIX_TABLE_OFF | 0, 4); /* BIR 0 */
	put(msix, 8, VIRTIO_MSIX_PBA_OFF | 0, 4);
	off = pci__add_cap(p, msix, sizeof(msix));
	p->cap_msix = (uint8_t)off;
	p->wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;

	for (unsigned i = 0; i < ARRAY_SIZE(regions); i++) {
		uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0 };
		uint8_t len = regions[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;

		cap[2] = len;
		cap[3] = regions[i].type;
		cap[4] = 0; /* BAR 0 */
		put(cap, 8, regions[i].off, 4);
		put(cap, 12, regions[i].len, 4);
		if (len == 20)
			put(cap, 16, VIRTIO_NOTIFY_MULT, 4);
		pci__add_cap(p, cap, len);
	}
}

struct virtio_dev *virtio__create(struct vm *vm, const struct virtio_ops *ops, void *priv)
{
	struct pci_bus *bus = pci__bus(vm);
	struct virtio_dev *dev;
	const char *step;
	int r;

	if (!bus || ops->nr_queues > VIRTIO_MAX_QUEUES || ops->config_size > VIRTIO_CONFIG_MAX) {
		log_error("%s: no PCI bus or a bad device description", ops->name);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->vm = vm;
	dev->ops = ops;
	dev->priv = priv;
	dev->stop_efd = -1;
	dev->nr_vectors = ops->nr_queues + 1;
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->irq_cond, NULL);
	for (unsigned v = 0; v < VIRTIO_MAX_VECTORS; v++) {
		dev->irqfd[v] = -1;
		dev->msix[v].ctrl = MSIX_ENTRY_MASKED;
	}
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		dev->vq[q].efd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_FDS; i++)
		dev->fds[i] = -1;

	step = "registering it";
	r = virtio__register(dev);
	if (r < 0) {
		log_error("%s: %s: %s", ops->name, step, strerror(-r));
		virtio__free(dev);
		return NULL;
	}
	virtio__reset(dev);

	step = "eventfds";
	dev->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->stop_efd < 0)
		goto fail_errno;
	for (unsigned q = 0; q < ops->nr_queues; q++) {
		dev->vq[q].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->vq[q].efd < 0)
			goto fail_errno;
	}
	step = "MSI-X vectors";
	for (unsigned v = 0; v < dev->nr_vectors; v++) {
		struct kvm_irqfd irqfd;

		dev->gsi[v] = pci__alloc_gsi(bus);
		if (dev->gsi[v] < 0) {
			r = dev->gsi[v];
			goto fail;
		}
		dev->irqfd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->irqfd[v] < 0)
			goto fail_errno;
		irqfd = (struct kvm_irqfd){ .fd = (uint32_t)dev->irqfd[v], .gsi = (uint32_t)dev->gsi[v] };
		dev->irqfd_ok[v] = ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) == 0;
		if (!dev->irqfd_ok[v])
			log_debug("%s: KVM_IRQFD: %s; using KVM_SIGNAL_MSI", ops->name, strerror(errno));
	}

	step = "PCI";
	pci__init_header(&dev->pci, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + ops->type,
			 ops->class_code, 1, VIRTIO_PCI_VENDOR, 0x40);
	pci__set_bar(&dev->pci, 0, VIRTIO_BAR_SIZE);
	virtio__add_caps(dev);
	dev->pci.opaque = dev;
	dev->pci.bar_access = virtio__bar_access;
	dev->pci.cfg_written = virtio__cfg_written;
	dev->pci.bar_moved = virtio__bar_moved;
	r = pci__add_device(bus, &dev->pci);
	if (r < 0)
		goto fail;
	return dev;
fail_errno:
	r = -errno;
fail:
	log_error("%s: %s: %s", ops->name, step, strerror(-r));
	return NULL; /* freed with the VM: it is in the registry */
}

/* Called by the device type once priv, config and fds are in place. */
int virtio__start(struct virtio_dev *dev)
{
	int r = pthread_create(&dev->worker, NULL, virtio__worker, dev);

	if (r != 0) {
		log_error("%s: cannot start its worker: %s", dev->ops->name, strerror(r));
		return -r;
	}
	dev->worker_started = true;
	return 0;
}

bool virtio__wait_irq(struct virtio_dev *dev, unsigned vector, unsigned *seen, int timeout_ms)
{
	struct timespec deadline;
	bool got;

	if (vector > VIRTIO_MAX_VECTORS)
		return false;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&dev->lock);
	while (atomic_load(&dev->irq_count[vector]) == *seen &&
	       pthread_cond_timedwait(&dev->irq_cond, &dev->lock, &deadline) == 0)
		;
	got = atomic_load(&dev->irq_count[vector]) != *seen;
	*seen = atomic_load(&dev->irq_count[vector]);
	pthread_mutex_unlock(&dev->lock);
	return got;
}
