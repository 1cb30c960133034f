/*
 * MP tables (Intel MultiProcessor Specification 1.4) describing the vCPUs,
 * the ISA bus and KVM's in-kernel IOAPIC.
 */
#include "boot/mptable.h"

#include <string.h>

#include "boot/bootparams.h"
#include "boot/layout.h"

#define LAPIC_VERSION  0x14 /* what KVM's local APIC reports */
#define IOAPIC_VERSION 0x11 /* what KVM's IOAPIC reports */
#define CPU_SIGNATURE  0x600
#define CPU_FEATURES   ((1u << 0) | (1u << 9)) /* FPU, APIC */

size_t mptable__size(unsigned nr_cpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       (size_t)nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + MPTABLE_ISA_IRQS * sizeof(struct mpc_intsrc) +
	       2 * sizeof(struct mpc_lintsrc);
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

int mptable__write(const struct memmap *map, uint8_t *ram, unsigned nr_cpus, const char *name,
		   char *err, size_t errlen)
{
	size_t size = mptable__size(nr_cpus < MPTABLE_MAX_CPUS ? nr_cpus : MPTABLE_MAX_CPUS);
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	unsigned entries = 0;

	if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
		return boot__err(err, errlen, name, "%u vCPUs: the MP table describes 1 to %u", nr_cpus,
				 MPTABLE_MAX_CPUS);
	/* The tables must stay in the reserved legacy area below 1 MiB. */
	if (BOOT_MPTABLE_ADDR + size > MEMMAP_HIGH_START)
		return boot__err(err, errlen, name, "MP table for %u vCPUs does not fit below 1 MiB",
				 nr_cpus);
	base = memmap__ptr(map, ram, BOOT_MPTABLE_ADDR, size);
	if (!base)
		return boot__err(err, errlen, name, "guest RAM has no room for the MP table at 0x%llx",
				 BOOT_MPTABLE_ADDR);
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);

	for (unsigned i = 0; i < nr_cpus; i++, entries++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = LAPIC_VERSION,
			.cpuflag = MPC_CPU_ENABLED | (i == 0 ? MPC_CPU_BSP : 0),
			.cpufeature = CPU_SIGNATURE,
			.featureflag = CPU_FEATURES,
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}

	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	entries++;

	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = (uint8_t)nr_cpus,
		.apicver = IOAPIC_VERSION,
		.flags = MPC_APIC_USABLE,
		.apicaddr = MPTABLE_IOAPIC_ADDR,
	};
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	entries++;

	/* ISA IRQ n -> IOAPIC pin n: KVM's default GSI routing (kvm_setup_default_irq_routing). */
	for (unsigned irq = 0; irq < MPTABLE_ISA_IRQS; irq++, entries++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_INT,
			.irqflag = 0, /* conforms to the bus: ISA, edge, active high */
			.srcbus = 0,
			.srcbusirq = (uint8_t)irq,
			.dstapic = (uint8_t)nr_cpus,
			.dstirq = (uint8_t)irq,
		};
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}

	/* LINT0: ExtINT (the 8259) on the BSP; LINT1: NMI on every local APIC (0xff). */
	struct mpc_lintsrc lint[2] = {
		{ .type = MP_LINTSRC, .irqtype = MP_EXTINT, .srcbusid = 0, .destapic = 0,
		  .destapiclint = 0 },
		{ .type = MP_LINTSRC, .irqtype = MP_NMI, .srcbusid = 0, .destapic = 0xff,
		  .destapiclint = 1 },
	};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	entries += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "VMSCOPE ", 8);
	memcpy(mpc->productid, "VMSCOPE     ", 12);
	mpc->oemcount = (uint16_t)entries;
	mpc->lapic = MPTABLE_LAPIC_ADDR;
	mpc->checksum = checksum((const uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(BOOT_MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum((const uint8_t *)mpf, sizeof(*mpf));
	return 0;
}
