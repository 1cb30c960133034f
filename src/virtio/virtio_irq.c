/*
 * Virtio-pci interrupts: INTx with the ISR, MSI-X delivery through irqfds
 * (KVM_SIGNAL_MSI when an irqfd is unavailable), masking with pending bits,
 * the MSI-X table, and the interrupt counts the tests wait on.
 */
#include "kvm_ioctl.h"
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "virtio/virtqueue.h"
#include "vm.h"

static uint16_t virtio__msix_ctrl(const struct virtio_dev *dev)
{
	uint16_t v;

	memcpy(&v, dev->pci.cfg + dev->pci.cap_msix + 2, 2);
	return v;
}

void virtio__intx(struct virtio_dev *dev, bool level)
{
	struct kvm_irq_level irq = { .irq = pci__intx_gsi(dev->pci.slot), .level = level };

	if (level == dev->intx_level)
		return;
	dev->intx_level = level;
	if (vm_ioctl(dev->vm, KVM_IRQ_LINE, &irq) < 0)
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

		if (vm_ioctl(dev->vm, KVM_SIGNAL_MSI, &msi) < 0)
			log_debug("%s: %s", dev->ops->name, kvm_ioctl__why());
	}
	atomic_fetch_add(&dev->irq_count[v], 1);
	pthread_cond_broadcast(&dev->irq_cond);
}

void virtio__interrupt(struct virtio_dev *dev, uint16_t vector, uint8_t isr_bit)
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

void virtio__msix_flush_pending(struct virtio_dev *dev)
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

void virtio__msix_access(struct virtio_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
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
