/*
 * What the files of the virtio-pci transport share; private to src/virtio.
 *
 *   virtio_pci.c      the PCI function: capabilities, BAR 0 dispatch,
 *                     ioeventfds, creation, teardown, the VM's list of them
 *   virtio_common.c   the common configuration registers, status and reset
 *   virtio_irq.c      INTx, MSI-X delivery, masking, pending bits, the table
 *   virtio_worker.c   the per-device worker thread
 */
#ifndef VMSCOPE_VIRTIO_INTERNAL_H
#define VMSCOPE_VIRTIO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "virtio/virtio.h"

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 1

static inline void virtio__put(uint8_t *buf, unsigned off, uint64_t v, unsigned size)
{
	memcpy(buf + off, &v, size); /* little-endian host */
}

static inline uint64_t virtio__get(const uint8_t *buf, unsigned off, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, buf + off, size);
	return v;
}

/* virtio_irq.c; all with dev->lock held. */
void virtio__intx(struct virtio_dev *dev, bool level);
/* An interrupt for vector (MSI-X) or, with MSI-X off, INTx with isr_bit in the ISR. */
void virtio__interrupt(struct virtio_dev *dev, uint16_t vector, uint8_t isr_bit);
/* Sends what was held back while masked, now that it may not be. */
void virtio__msix_flush_pending(struct virtio_dev *dev);
/* An access to the MSI-X table at off from its start. */
void virtio__msix_access(struct virtio_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write);

/* virtio_common.c; dev->lock held. */
void virtio__reset(struct virtio_dev *dev);
/* An access to the common configuration at off from its start. */
void virtio__common_access(struct virtio_dev *dev, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write);

/* virtio_worker.c: stops and joins the worker if it was started. */
void virtio__stop(struct virtio_dev *dev);

/* virtio_pci.c: undoes virtio__create, however far it got. */
void virtio__free(struct virtio_dev *dev);

#endif
