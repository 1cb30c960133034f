/*
 * A host-side virtio-pci driver for tests and the benchmark: it creates a VM
 * in-process (no vCPU runs), finds devices through configuration mechanism #1
 * and drives them through their BAR exactly as a guest driver would, with
 * io__access on vm->pio and vm->mmio.  Rings and buffers live in guest RAM.
 */
#ifndef VMSCOPE_TESTS_VDRV_H
#define VMSCOPE_TESTS_VDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "kvm_host.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vm.h"
#include "vm_lifecycle.h"

/* Queue q (< 4) of the device in PCI slot s: rings at VDRV_RING_BASE + ((s % 8) * 4 + q) * 0x10000. */
#define VDRV_RING_BASE 0x200000ULL
#define VDRV_DATA_BASE 0x400000ULL /* free for buffers */

struct vdrv_vm {
	struct kvm_host host;
	struct vm *vm;
};

struct vdrv_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx, last_used;
};

struct vdrv {
	struct vm *vm;
	struct virtio_dev *dev; /* the device model, for interrupt counts */
	unsigned devfn;
	uint64_t bar, common, notify, isr, device;
	uint32_t notify_mult;
	uint64_t msix_table;
	unsigned msix_cap;
	uint64_t features; /* negotiated */
	bool manual_used_event; /* EVENT_IDX: the test sets used_event itself */
	unsigned irq_seen[VIRTIO_MAX_VECTORS + 1];
	struct vdrv_queue q[VIRTIO_MAX_QUEUES];
};

/* One descriptor of a chain to submit. */
struct vdrv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device writes it */
};

int vdrv__vm_create(struct vdrv_vm *v, const struct vm_config *cfg);
void vdrv__vm_destroy(struct vdrv_vm *v);
/* A config with defaults for in-process tests: 1 vCPU, 64 MiB, no serial. */
void vdrv__default_config(struct vm_config *cfg);

uint32_t vdrv__cfg_read(struct vm *vm, unsigned devfn, unsigned off, unsigned len);
void vdrv__cfg_write(struct vm *vm, unsigned devfn, unsigned off, unsigned len, uint32_t val);
uint64_t vdrv__rd(struct vm *vm, uint64_t addr, unsigned len);
void vdrv__wr(struct vm *vm, uint64_t addr, unsigned len, uint64_t val);

/* Finds the index-th PCI function with this device ID, enables it, reads its caps. */
int vdrv__open(struct vdrv *d, struct vm *vm, uint16_t device_id, unsigned index);

/*
 * Resets the device and brings it up: features (VERSION_1 | want, checked
 * against what is offered), MSI-X vectors (config 0, queue q -> q + 1),
 * nr_queues queues of qsize entries, DRIVER_OK.  Returns 0 or -1.
 */
int vdrv__init(struct vdrv *d, uint64_t want, unsigned nr_queues, uint16_t qsize);

uint8_t vdrv__status(struct vdrv *d);
uint64_t vdrv__device_features(struct vdrv *d);

/* Writes a chain at descriptor index head (indirect: through a table at tbl_gpa), makes it available, notifies. */
void vdrv__submit(struct vdrv *d, unsigned q, uint16_t head, const struct vdrv_buf *bufs,
		  unsigned n, uint64_t indirect_table_gpa);

/* Makes head available and notifies, with the descriptors already written by the caller. */
void vdrv__make_available(struct vdrv *d, unsigned q, uint16_t head);
void vdrv__notify(struct vdrv *d, unsigned q);
struct virtq_desc *vdrv__desc(struct vdrv *d, unsigned q);

/*
 * Waits for the next used element; returns 0 with id/len, -1 on timeout.
 * With VIRTIO_F_EVENT_IDX it then asks for an interrupt at the next one,
 * as Linux does when it re-enables callbacks (unless manual_used_event).
 */
int vdrv__wait_used(struct vdrv *d, unsigned q, int timeout_ms, uint32_t *id, uint32_t *len);

/* Waits for an interrupt on vector v (counted by the device model). */
bool vdrv__wait_irq(struct vdrv *d, unsigned v, int timeout_ms);

/* Waits until status has bit set. */
bool vdrv__wait_status(struct vdrv *d, uint8_t bit, int timeout_ms);

void *vdrv__ptr(struct vdrv *d, uint64_t gpa, uint64_t len);

/* VIRTIO_F_EVENT_IDX: the driver's used_event and the device's avail_event of queue q. */
uint16_t *vdrv__used_event(struct vdrv *d, unsigned q);
uint16_t *vdrv__avail_event(struct vdrv *d, unsigned q);

#endif
