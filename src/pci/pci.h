/*
 * PCI bus 0: configuration mechanism #1 (ports 0xcf8/0xcfc, what Linux probes
 * on x86 without ACPI), a host bridge at 00:00.0, and one MMIO window in the
 * 32-bit hole from which memory BARs are allocated.  The window is one trap
 * range; an access is passed to the device whose enabled BAR holds it.
 *
 * The bus also owns the VM's GSI routing table, so that MSI-X vectors can be
 * routed through KVM_IRQFD (KVM_SET_GSI_ROUTING replaces the whole table, so
 * one owner keeps the irqchip defaults and every MSI entry together).
 */
#ifndef VMSCOPE_PCI_H
#define VMSCOPE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc
#define PCI_MMIO_START      0xe0000000ULL
#define PCI_MMIO_SIZE       0x10000000ULL
#define PCI_MAX_SLOTS       32
#define PCI_CFG_SIZE        256
#define PCI_NR_BARS         6

/* Configuration-space registers and bits used here. */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_COMMAND_IO      0x1
#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS          0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d
#define PCI_CAP_ID_MSIX     0x11
#define PCI_CAP_ID_VNDR     0x09

struct pci_device;

/* One access to a memory BAR, offset bytes into it. */
typedef void (*pci_bar_fn)(struct pci_device *pdev, unsigned bar, uint64_t offset,
			   uint8_t *data, uint32_t len, bool is_write);

struct pci_device {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
	uint32_t bar_size[PCI_NR_BARS]; /* 0: no BAR; else a power of two >= 4 KiB */
	unsigned slot;
	uint8_t cap_next; /* where the next capability goes */
	uint8_t cap_msix; /* offset of the MSI-X capability; 0: none */
	struct pci_bus *bus;
	pci_bar_fn bar_access;
	/* After a guest write to configuration space (bus lock held). */
	void (*cfg_written)(struct pci_device *pdev, uint32_t off, uint32_t len);
	/* A BAR's address or the memory-enable bit changed (bus lock held). */
	void (*bar_moved)(struct pci_device *pdev);
	void *opaque;
};

struct pci_bus;

/* The VM's PCI bus (created by its DEVICE_INIT, before any device); NULL if none. */
struct pci_bus *pci__bus(struct vm *vm);

/*
 * Adds pdev in the next free slot with a type-0 header; pdev->cfg may already
 * hold capabilities added with pci__add_cap.  Returns 0 or -errno.
 */
int pci__add_device(struct pci_bus *bus, struct pci_device *pdev);

/* Fills the identity of a type-0 header before pci__add_device. */
void pci__init_header(struct pci_device *pdev, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		      uint16_t subsys_id);

/* Declares a 32-bit memory BAR of size bytes (power of two); placed by pci__add_device. */
void pci__set_bar(struct pci_device *pdev, unsigned bar, uint32_t size);

/* Appends a capability of len bytes (data[0] = id; data[1] is filled); returns its offset. */
int pci__add_cap(struct pci_device *pdev, const uint8_t *data, uint8_t len);

/* Guest-physical address of a BAR, and whether memory decoding is on. */
uint64_t pci__bar_addr(const struct pci_device *pdev, unsigned bar);
bool pci__mem_enabled(const struct pci_device *pdev);

/* Configuration-space access as mechanism #1 performs it (for tests and the port handler). */
void pci__cfg_access(struct pci_bus *bus, unsigned devfn, uint32_t off, uint8_t *data,
		     uint32_t len, bool is_write);

struct vm *pci__vm(struct pci_bus *bus);

/*
 * MSI routing: a GSI per vector, allocated once; pci__msi_route points it at
 * an MSI address/data (valid=false removes the route).  Returns 0 or -errno.
 */
int pci__alloc_gsi(struct pci_bus *bus);
int pci__msi_route(struct pci_bus *bus, unsigned gsi, uint64_t addr, uint32_t data, bool valid);

/* The IOAPIC pin used for INTx of the device in slot. */
unsigned pci__intx_gsi(unsigned slot);

#endif
