/*
 * PCI bus 0 behind configuration mechanism #1, the host bridge, the BAR window
 * and the VM's GSI routing table.  See pci.h.
 */
#include "kvm_ioctl.h"
#include "pci/pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "util.h"
#include "vm.h"

#define PCI_MAX_ROUTES 1024
#define PCI_FIRST_MSI_GSI 24 /* after the 24 IOAPIC pins */

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t conf1_addr;
	struct pci_device host_bridge;
	struct pci_device *devs[PCI_MAX_SLOTS];
	uint64_t next_bar;
	unsigned next_gsi;
	unsigned nr_routes;
	struct kvm_irq_routing *routing;
};

struct pci_bus *pci__bus(struct vm *vm)
{
	return vm->devices.pci;
}

struct vm *pci__vm(struct pci_bus *bus)
{
	return bus->vm;
}

static inline uint32_t cfg_read32(const struct pci_device *p, uint32_t off)
{
	uint32_t v;

	memcpy(&v, p->cfg + off, 4);
	return v;
}

static inline void cfg_write16(struct pci_device *p, uint32_t off, uint16_t v)
{
	memcpy(p->cfg + off, &v, 2);
}

static inline void cfg_write32(struct pci_device *p, uint32_t off, uint32_t v)
{
	memcpy(p->cfg + off, &v, 4);
}

void pci__init_header(struct pci_device *pdev, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		      uint16_t subsys_id)
{
	cfg_write16(pdev, PCI_VENDOR_ID, vendor);
	cfg_write16(pdev, PCI_DEVICE_ID, device);
	cfg_write32(pdev, PCI_REVISION_ID, (class_code << 8) | revision);
	pdev->cfg[PCI_HEADER_TYPE] = 0;
	cfg_write16(pdev, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	cfg_write16(pdev, PCI_SUBSYSTEM_ID, subsys_id);
	/* Command: I/O, memory, bus master and INTx disable are the guest's. */
	pdev->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	pdev->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	pdev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	if (!pdev->cap_next)
		pdev->cap_next = 0x40;
}

void pci__set_bar(struct pci_device *pdev, unsigned bar, uint32_t size)
{
	pdev->bar_size[bar] = size;
}

int pci__add_cap(struct pci_device *pdev, const uint8_t *data, uint8_t len)
{
	uint8_t off;

	if (!pdev->cap_next)
		pdev->cap_next = 0x40;
	off = pdev->cap_next;
	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(pdev->cfg + off, data, len);
	/* Link it at the end of the list. */
	if (!(pdev->cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST)) {
		pdev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
		pdev->cfg[PCI_CAPABILITY_LIST] = off;
	} else {
		uint8_t p = pdev->cfg[PCI_CAPABILITY_LIST];

		while (pdev->cfg[p + 1])
			p = pdev->cfg[p + 1];
		pdev->cfg[p + 1] = off;
	}
	pdev->cfg[off + 1] = 0;
	pdev->cap_next = (uint8_t)ALIGN_UP(off + len, 4u);
	return off;
}

uint64_t pci__bar_addr(const struct pci_device *pdev, unsigned bar)
{
	return cfg_read32(pdev, PCI_BAR0 + 4 * bar) & ~0xfULL;
}

bool pci__mem_enabled(const struct pci_device *pdev)
{
	return pdev->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY;
}

int pci__add_device(struct pci_bus *bus, struct pci_device *pdev)
{
	unsigned slot;

	pthread_mutex_lock(&bus->lock);
	for (slot = 0; slot < PCI_MAX_SLOTS && bus->devs[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		pthread_mutex_unlock(&bus->lock);
		return -ENOSPC;
	}
	for (unsigned b = 0; b < PCI_NR_BARS; b++) {
		uint32_t size = pdev->bar_size[b];
		uint64_t addr;

		if (!size)
			continue;
		addr = ALIGN_UP(bus->next_bar, (uint64_t)size);
		if (addr + size > PCI_MMIO_START + PCI_MMIO_SIZE) {
			pthread_mutex_unlock(&bus->lock);
			return -ENOSPC;
		}
		bus->next_bar = addr + size;
		cfg_write32(pdev, PCI_BAR0 + 4 * b, (uint32_t)addr); /* 32-bit, non-prefetchable */
		{
			uint32_t m = ~(size - 1) & ~0xfu;

			memcpy(pdev->wmask + PCI_BAR0 + 4 * b, &m, 4);
		}
	}
	pdev->slot = slot;
	pdev->bus = bus;
	if (slot) {
		pdev->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
		pdev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci__intx_gsi(slot);
	}
	bus->devs[slot] = pdev;
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

unsigned pci__intx_gsi(unsigned slot)
{
	return 16 + slot % 8; /* the IOAPIC's PCI pins */
}

/* Guest access to configuration space; unclaimed functions read as all-ones. */
void pci__cfg_access(struct pci_bus *bus, unsigned devfn, uint32_t off, uint8_t *data,
		     uint32_t len, bool is_write)
{
	struct pci_device *p;
	unsigned slot = devfn >> 3;
	bool bars_changed = false;

	pthread_mutex_lock(&bus->lock);
	p = (devfn & 7) == 0 && slot < PCI_MAX_SLOTS ? bus->devs[slot] : NULL;
	if (!p || !range_within(off, len, PCI_CFG_SIZE)) {
		if (!is_write)
			memset(data, 0xff, len);
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	if (!is_write) {
		memcpy(data, p->cfg + off, len);
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = off + i;
		uint8_t old = p->cfg[o];

		p->cfg[o] = (uint8_t)((old & ~p->wmask[o]) | (data[i] & p->wmask[o]));
		if (old != p->cfg[o] && ((o >= PCI_BAR0 && o < PCI_BAR0 + 24) || o == PCI_COMMAND))
			bars_changed = true;
	}
	if (p->cfg_written)
		p->cfg_written(p, off, len);
	if (bars_changed && p->bar_moved)
		p->bar_moved(p);
	pthread_mutex_unlock(&bus->lock);
}

static void pci__conf1_addr_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint8_t *reg = (uint8_t *)&bus->conf1_addr;

	(void)vcpu;
	pthread_mutex_lock(&bus->lock);
	if (is_write)
		memcpy(reg + offset, data, len);
	else
		memcpy(data, reg + offset, len);
	pthread_mutex_unlock(&bus->lock);
}

static void pci__conf1_data_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			       uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint32_t addr;

	(void)vcpu;
	pthread_mutex_lock(&bus->lock);
	addr = bus->conf1_addr;
	pthread_mutex_unlock(&bus->lock);
	/* Enabled, bus 0, no extended register bits; anything else reads as absent. */
	if (!(addr & 0x80000000u) || (addr & 0x7fff0000u)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci__cfg_access(bus, (addr >> 8) & 0xff, (addr & 0xfc) + (uint32_t)offset, data, len,
			is_write);
}

/* The BAR window: find the device whose enabled BAR holds the access. */
static void pci__mmio_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint64_t addr = PCI_MMIO_START + offset;
	struct pci_device *hit = NULL;
	unsigned hit_bar = 0;
	uint64_t hit_off = 0;

	(void)vcpu;
	pthread_mutex_lock(&bus->lock);
	for (unsigned s = 0; s < PCI_MAX_SLOTS && !hit; s++) {
		struct pci_device *p = bus->devs[s];

		if (!p || !p->bar_access || !pci__mem_enabled(p))
			continue;
		for (unsigned b = 0; b < PCI_NR_BARS; b++) {
			uint64_t base = pci__bar_addr(p, b);

			if (p->bar_size[b] && addr >= base &&
			    range_within(addr - base, len, p->bar_size[b])) {
				hit = p;
				hit_bar = b;
				hit_off = addr - base;
				break;
			}
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (hit)
		hit->bar_access(hit, hit_bar, hit_off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xff, len);
}

/* The table KVM starts with (irq_comm.c): IOAPIC pins 0-23, PIC pins 0-15. */
static void pci__default_routes(struct pci_bus *bus)
{
	struct kvm_irq_routing_entry *e = bus->routing->entries;
	unsigned n = 0;

	for (unsigned irq = 0; irq < 24; irq++) {
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = irq, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = irq },
		};
		if (irq < 16)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = irq, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = irq < 8 ? KVM_IRQCHIP_PIC_MASTER
								  : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = irq % 8 },
			};
	}
	bus->nr_routes = n;
}

int pci__alloc_gsi(struct pci_bus *bus)
{
	int gsi;

	pthread_mutex_lock(&bus->lock);
	gsi = bus->nr_routes < PCI_MAX_ROUTES ? (int)bus->next_gsi++ : -ENOSPC;
	pthread_mutex_unlock(&bus->lock);
	return gsi;
}

int pci__msi_route(struct pci_bus *bus, unsigned gsi, uint64_t addr, uint32_t data, bool valid)
{
	struct kvm_irq_routing_entry *e = bus->routing->entries;
	unsigned i;
	int r = 0;

	pthread_mutex_lock(&bus->lock);
	for (i = 0; i < bus->nr_routes; i++)
		if (e[i].gsi == gsi && e[i].type == KVM_IRQ_ROUTING_MSI)
			break;
	if (!valid) {
		if (i < bus->nr_routes)
			e[i] = e[--bus->nr_routes];
	} else {
		if (i == bus->nr_routes) {
			if (bus->nr_routes == PCI_MAX_ROUTES) {
				pthread_mutex_unlock(&bus->lock);
				return -ENOSPC;
			}
			bus->nr_routes++;
		}
		e[i] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
				   .data = data },
		};
	}
	bus->routing->nr = bus->nr_routes;
	bus->routing->flags = 0;
	if (vm_ioctl(bus->vm, KVM_SET_GSI_ROUTING, bus->routing) < 0)
		r = -errno;
	pthread_mutex_unlock(&bus->lock);
	return r;
}

static void pci__exit(struct vm *vm)
{
	struct pci_bus *bus = vm->devices.pci;

	if (!bus)
		return;
	pthread_mutex_destroy(&bus->lock);
	free(bus->routing);
	free(bus);
	vm->devices.pci = NULL;
}

static int pci__init(struct vm *vm)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int r;

	if (!bus)
		return -ENOMEM;
	bus->routing = calloc(1, sizeof(*bus->routing) +
				 PCI_MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	if (!bus->routing) {
		free(bus);
		return -ENOMEM;
	}
	pthread_mutex_init(&bus->lock, NULL);
	vm->devices.pci = bus;
	bus->vm = vm;
	bus->next_bar = PCI_MMIO_START;
	bus->next_gsi = PCI_FIRST_MSI_GSI;
	pci__default_routes(bus);

	/* 00:00.0: a host bridge, which Linux's conf1 sanity check looks for. */
	pci__init_header(&bus->host_bridge, 0x8086, 0x0d57, 0x060000, 0, 0, 0);
	r = pci__add_device(bus, &bus->host_bridge);
	if (r == 0)
		r = io__register(&vm->pio, PCI_CONF1_ADDR_PORT, 4, pci__conf1_addr_io, bus, "pci-conf1-addr");
	if (r == 0)
		r = io__register(&vm->pio, PCI_CONF1_DATA_PORT, 4, pci__conf1_data_io, bus, "pci-conf1-data");
	if (r == 0)
		r = io__register(&vm->mmio, PCI_MMIO_START, PCI_MMIO_SIZE, pci__mmio_io, bus, "pci-bars");
	return r;
}

DEVICE_INIT(DEVICE_LEVEL_BUS, pci, pci__init, pci__exit);
