/*
 * Virtio 1.x devices over PCI (the modern transport, as Cloud Hypervisor
 * presents them).  A device type supplies a struct virtio_ops; the transport
 * (virtio_pci.c and the files virtio_internal.h lists) owns the PCI function,
 * the common configuration, MSI-X and the device's worker thread, which runs
 * every queue handler so that I/O that blocks never runs on a vCPU thread.
 *
 * Queue notifications arrive on one eventfd per queue: KVM signals it directly
 * (KVM_IOEVENTFD) or, when that is unavailable or the access is not the one
 * KVM matches, the notify register's MMIO handler signals it.  Interrupts go
 * out through one irqfd per MSI-X vector (KVM_IRQFD over an MSI GSI route).
 */
#ifndef VMSCOPE_VIRTIO_H
#define VMSCOPE_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"

struct vm;
struct virtio_dev;

#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_MAX_VECTORS (VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_MAX_FDS 2
#define VIRTIO_CONFIG_MAX 64

/* BAR 0 layout. */
#define VIRTIO_BAR_SIZE        0x10000
#define VIRTIO_COMMON_OFF      0x0000
#define VIRTIO_COMMON_SIZE     0x40
#define VIRTIO_ISR_OFF         0x1000
#define VIRTIO_DEVICE_CFG_OFF  0x2000
#define VIRTIO_NOTIFY_OFF      0x3000
#define VIRTIO_NOTIFY_MULT     4
#define VIRTIO_MSIX_TABLE_OFF  0x8000
#define VIRTIO_MSIX_PBA_OFF    0x9000

/* Common configuration registers (struct virtio_pci_common_cfg). */
#define VIRTIO_PCI_DFSELECT      0x00
#define VIRTIO_PCI_DF            0x04
#define VIRTIO_PCI_GFSELECT      0x08
#define VIRTIO_PCI_GF            0x0c
#define VIRTIO_PCI_MSIX_CONFIG   0x10
#define VIRTIO_PCI_NUM_QUEUES    0x12
#define VIRTIO_PCI_STATUS        0x14
#define VIRTIO_PCI_CFG_GEN       0x15
#define VIRTIO_PCI_Q_SELECT      0x16
#define VIRTIO_PCI_Q_SIZE        0x18
#define VIRTIO_PCI_Q_MSIX        0x1a
#define VIRTIO_PCI_Q_ENABLE      0x1c
#define VIRTIO_PCI_Q_NOFF        0x1e
#define VIRTIO_PCI_Q_DESC        0x20
#define VIRTIO_PCI_Q_AVAIL       0x28
#define VIRTIO_PCI_Q_USED        0x30

/* Virtio PCI capability types. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

struct virtq {
	uint16_t size;       /* the driver's choice, a power of two <= max */
	bool ready;          /* enabled, with rings checked to lie in RAM */
	uint16_t msix_vector;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host pointers to the rings, valid while ready. */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t last_avail; /* next avail entry the device will take */
	uint16_t used_idx;
	/*
	 * VIRTIO_F_EVENT_IDX: the driver says after which used entry it wants
	 * an interrupt (used_event) and the device after which avail entry it
	 * wants a notification (avail_event).  signalled_used is used_idx at
	 * the last interrupt decision; invalid until the first one.
	 */
	bool event_idx;
	bool signalled_valid;
	uint16_t signalled_used;
	int efd;             /* notification eventfd (ioeventfd and MMIO path) */
	uint64_t ioeventfd_addr; /* where KVM_IOEVENTFD is registered; 0: not */
};

struct virtio_ops {
	const char *name;
	uint16_t type;
	uint32_t class_code;
	unsigned nr_queues;
	uint16_t queue_max;
	uint64_t features;    /* besides VERSION_1 and INDIRECT_DESC */
	uint32_t config_size; /* bytes of dev->config the driver sees */
	/* Worker thread, dev->lock held: the driver notified queue q. */
	void (*queue_notify)(struct virtio_dev *dev, unsigned q);
	/* Worker thread, dev->lock held: an fd from dev->fds became readable. */
	void (*fd_ready)(struct virtio_dev *dev, unsigned idx);
	/* The driver wrote dev->config (lock held); may be NULL (read-only config). */
	void (*config_write)(struct virtio_dev *dev, uint32_t off, uint32_t len);
	/* Device reset by the driver (lock held); may be NULL. */
	void (*reset)(struct virtio_dev *dev);
	/* Frees priv when the VM is destroyed, after the worker stopped. */
	void (*free)(struct virtio_dev *dev);
};

struct virtio_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_dev {
	struct vm *vm;
	const struct virtio_ops *ops;
	void *priv;
	unsigned index; /* among the devices of its type, in creation order */
	struct pci_device pci;
	pthread_mutex_t lock;

	uint8_t status;
	uint32_t dfselect, gfselect;
	uint64_t driver_features;
	uint16_t msix_config;
	uint16_t queue_sel;
	uint8_t isr;
	uint8_t config_gen;
	uint8_t config[VIRTIO_CONFIG_MAX];
	struct virtq vq[VIRTIO_MAX_QUEUES];

	/* MSI-X: the table, pending bits, and per vector a GSI with its irqfd. */
	unsigned nr_vectors;
	struct virtio_msix_entry msix[VIRTIO_MAX_VECTORS];
	uint32_t pba;
	int gsi[VIRTIO_MAX_VECTORS];
	int irqfd[VIRTIO_MAX_VECTORS];
	bool irqfd_ok[VIRTIO_MAX_VECTORS];
	bool intx_level;

	/* The worker: waits on the queue eventfds, dev->fds and stop_efd. */
	pthread_t worker;
	bool worker_started;
	atomic_bool stopping;
	int stop_efd;
	int fds[VIRTIO_MAX_FDS];
	bool fd_wanted[VIRTIO_MAX_FDS]; /* false: the device cannot take input now */
	unsigned nr_fds;

	/* Notifications that reached the notify register as MMIO exits (not ioeventfd). */
	atomic_uint notify_exits;
	/* Interrupts sent, per vector (INTx counts on the last), for tests. */
	atomic_uint irq_count[VIRTIO_MAX_VECTORS + 1];
	pthread_cond_t irq_cond;
};

/*
 * Creates a device of the given type and adds it to the VM's PCI bus; the
 * caller then fills dev->config and dev->fds and calls virtio__start.  Owns
 * priv from here on: on failure (NULL, after logging why) ops->free has run
 * or runs when the VM is destroyed.
 */
struct virtio_dev *virtio__create(struct vm *vm, const struct virtio_ops *ops, void *priv);

/* Starts the device's worker thread; returns 0 or -errno. */
int virtio__start(struct virtio_dev *dev);

/* Sends the used-buffer interrupt of queue q unless the driver suppressed it (lock held). */
void virtio__signal_queue(struct virtio_dev *dev, unsigned q);

/* Marks the device broken (NEEDS_RESET) and tells the driver (lock held). */
void virtio__needs_reset(struct virtio_dev *dev, const char *why);

/* True when queue q may be processed: DRIVER_OK, not NEEDS_RESET, enabled. */
bool virtio__queue_live(const struct virtio_dev *dev, unsigned q);

/* Wakes the worker (e.g. after setting fd_wanted); any thread. */
void virtio__kick_worker(struct virtio_dev *dev);

/* The index-th device of a virtio type in the VM, or NULL (tests, benchmark). */
struct virtio_dev *virtio__find(struct vm *vm, uint16_t type, unsigned index);

/* Frees the VM's devices of a virtio type, newest first: each virtio device's exit. */
void virtio__free_type(struct vm *vm, uint16_t type);

/*
 * Waits up to timeout_ms for the interrupt count of vector (VIRTIO_MAX_VECTORS: INTx)
 * to exceed *seen; updates *seen.  Returns true when it did (tests).
 */
bool virtio__wait_irq(struct virtio_dev *dev, unsigned vector, unsigned *seen, int timeout_ms);

#endif
