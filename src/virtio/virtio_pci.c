/*
 * The virtio 1.x PCI transport (modern only), its PCI side: configuration-space
 * capabilities, the dispatch of BAR 0 accesses (common configuration, ISR,
 * device configuration, notify registers, MSI-X table and pending bits),
 * notify ioeventfds, and creating and freeing a device.
 *
 * Locks: the PCI bus lock may be held when dev->lock is taken from a BAR
 * access, never the other way round: configuration-space callbacks (bus lock
 * held) only kick the worker or touch ioeventfds.
 */
#include "kvm_ioctl.h"
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "vm.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

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
			vm_ioctl(dev->vm, KVM_IOEVENTFD, &ioe);
			vq->ioeventfd_addr = 0;
		}
		if (on && !vq->ioeventfd_addr) {
			ioe.addr = addr;
			ioe.flags = 0;
			if (vm_ioctl(dev->vm, KVM_IOEVENTFD, &ioe) == 0)
				vq->ioeventfd_addr = addr;
			else
				log_debug("%s: %s; notifications exit to user space", dev->ops->name,
					  kvm_ioctl__why());
		}
	}
}

static void virtio__bar_moved(struct pci_device *pdev)
{
	virtio__ioeventfds(pdev->opaque, true);
}

/* --- creation and teardown --- */

void virtio__free(struct virtio_dev *dev)
{
	virtio__stop(dev);
	if (dev->pci.bus)
		virtio__ioeventfds(dev, false);
	for (unsigned v = 0; v < dev->nr_vectors; v++) {
		if (dev->irqfd_ok[v]) {
			struct kvm_irqfd irqfd = { .fd = (uint32_t)dev->irqfd[v],
						   .gsi = (uint32_t)dev->gsi[v],
						   .flags = KVM_IRQFD_FLAG_DEASSIGN };

			vm_ioctl(dev->vm, KVM_IRQFD, &irqfd);
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

	virtio__put(msix, 2, dev->nr_vectors - 1, 2);   /* table size - 1; disabled, unmasked */
	virtio__put(msix, 4, VIRTIO_MSIX_TABLE_OFF | 0, 4); /* BIR 0 */
	virtio__put(msix, 8, VIRTIO_MSIX_PBA_OFF | 0, 4);
	off = pci__add_cap(p, msix, sizeof(msix));
	p->cap_msix = (uint8_t)off;
	p->wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;

	for (unsigned i = 0; i < ARRAY_SIZE(regions); i++) {
		uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0 };
		uint8_t len = regions[i].type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;

		cap[2] = len;
		cap[3] = regions[i].type;
		cap[4] = 0; /* BAR 0 */
		virtio__put(cap, 8, regions[i].off, 4);
		virtio__put(cap, 12, regions[i].len, 4);
		if (len == 20)
			virtio__put(cap, 16, VIRTIO_NOTIFY_MULT, 4);
		pci__add_cap(p, cap, len);
	}
}

/* Puts dev among the VM's devices and numbers it among those of its type. */
static int virtio__register(struct virtio_dev *dev)
{
	struct vm_devices *devs = &dev->vm->devices;

	if (devs->nr_virtio == VM_MAX_VIRTIO)
		return -ENOSPC;
	for (unsigned i = 0; i < devs->nr_virtio; i++)
		if (devs->virtio[i]->ops->type == dev->ops->type)
			dev->index++;
	devs->virtio[devs->nr_virtio++] = dev;
	return 0;
}

struct virtio_dev *virtio__find(struct vm *vm, uint16_t type, unsigned index)
{
	for (unsigned i = 0; i < vm->devices.nr_virtio; i++)
		if (vm->devices.virtio[i]->ops->type == type && vm->devices.virtio[i]->index == index)
			return vm->devices.virtio[i];
	return NULL;
}

void virtio__free_type(struct vm *vm, uint16_t type)
{
	struct vm_devices *devs = &vm->devices;
	unsigned kept = 0;

	for (unsigned i = devs->nr_virtio; i-- > 0;) {
		if (devs->virtio[i]->ops->type == type) {
			virtio__free(devs->virtio[i]);
			devs->virtio[i] = NULL;
		}
	}
	for (unsigned i = 0; i < devs->nr_virtio; i++)
		if (devs->virtio[i])
			devs->virtio[kept++] = devs->virtio[i];
	devs->nr_virtio = kept;
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
		dev->irqfd_ok[v] = vm_ioctl(vm, KVM_IRQFD, &irqfd) == 0;
		if (!dev->irqfd_ok[v])
			log_debug("%s: %s; using KVM_SIGNAL_MSI", ops->name, kvm_ioctl__why());
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
	return NULL; /* freed with the VM (virtio__free_type): it is among its devices */
}
