/*
 * Builds the ACPI tables: RSDP -> XSDT -> { FADT -> { FACS, DSDT }, MADT }.
 * Layout inside the area, each table 16-byte aligned (the FACS 64-byte):
 * RSDP, XSDT, FADT, FACS, MADT, DSDT.
 */
#include "acpi/acpi.h"

#include <errno.h>
#include <string.h>

#include "util.h"

#define OEM_ID       "VMSCOP"
#define OEM_TABLE_ID "VMSCOPE "
#define CREATOR_ID   "VMSC"

uint8_t acpi__checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return (uint8_t)-sum;
}

static void header_init(struct acpi_table_header *h, const char *sig, uint32_t len,
			uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Called last on each table: the checksum covers the whole, finished table. */
static void header_sum(struct acpi_table_header *h)
{
	h->checksum = 0;
	h->checksum = acpi__checksum(h, h->length);
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = bytes >= 4 ? 3 : bytes == 2 ? 2 : 1,
		.address = port,
	};
}

static void build_fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	memset(f, 0, sizeof(*f));
	header_init(&f->h, "FACP", sizeof(*f), 6);
	/* The FACS only through X_FIRMWARE_CTRL: the spec wants FIRMWARE_CTRL 0 then. */
	f->firmware_ctrl = 0;
	f->dsdt = (uint32_t)dsdt;
	f->preferred_pm_profile = 0; /* unspecified */
	f->sci_int = ACPI_SCI_IRQ;
	f->smi_cmd = 0; /* no SMM: the machine is always in ACPI mode, SCI_EN reads 1 */
	f->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f->pm_tmr_blk = ACPI_PM_TMR_PORT;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->pm_tmr_len = ACPI_PM_TMR_LEN;
	f->p_lvl2_lat = 101; /* > 100: C2 not supported */
	f->p_lvl3_lat = 1001; /* > 1000: C3 not supported */
	f->century = ACPI_CMOS_CENTURY;
	f->iapc_boot_arch = ACPI_IAPC_VGA_NOT_PRESENT; /* no 8042 bit: no keyboard to probe */
	/* Fixed-feature power button (PWR_BUTTON clear), no sleep button, not HW-reduced. */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_C1_SUPPORTED | ACPI_FADT_SLEEP_BUTTON |
		   ACPI_FADT_32BIT_TIMER | ACPI_FADT_RESET_REGISTER;
	f->reset_reg = gas_io(ACPI_RESET_PORT, 1);
	f->reset_value = ACPI_RESET_VALUE;
	f->fadt_minor_version = 0;
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;
	f->x_pm1a_evt_blk = gas_io(ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN);
	f->x_pm1a_evt_blk.access_size = 2; /* two 16-bit registers */
	f->x_pm1a_cnt_blk = gas_io(ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN);
	f->x_pm_tmr_blk = gas_io(ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN);
	memcpy(&f->hypervisor_vendor_id, "VMSCOPE ", 8);
	header_sum(&f->h);
}

static size_t madt_size(unsigned nr_cpus)
{
	return sizeof(struct acpi_madt) + nr_cpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + 2 * sizeof(struct acpi_madt_override) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

static void build_madt(uint8_t *buf, unsigned nr_cpus)
{
	struct acpi_madt *m = (struct acpi_madt *)buf;
	uint8_t *p = buf + sizeof(*m);
	size_t len = madt_size(nr_cpus);

	memset(buf, 0, len);
	header_init(&m->h, "APIC", (uint32_t)len, 5);
	m->lapic_address = ACPI_LAPIC_ADDR;
	m->flags = ACPI_MADT_PCAT_COMPAT;
	/* APIC ID = vCPU index (vcpu.c sets CPUID to match); the BSP comes first. */
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic l = {
			.type = ACPI_MADT_LAPIC, .length = sizeof(l),
			.processor_uid = (uint8_t)i, .apic_id = (uint8_t)i, .flags = 1,
		};
		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	/* KVM's in-kernel IOAPIC; its ID follows the vCPUs', as in the MP table. */
	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC, .length = sizeof(io), .ioapic_id = (uint8_t)nr_cpus,
		.address = ACPI_IOAPIC_ADDR, .gsi_base = 0,
	};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	/*
	 * ISA IRQ 0 (the PIT) arrives on IOAPIC pin 2, as on PC hardware and in
	 * KVM's default routing; the SCI is level-triggered, active high.
	 */
	struct acpi_madt_override ovr[2] = {
		{ .type = ACPI_MADT_INT_OVERRIDE, .length = sizeof(ovr[0]), .bus = 0, .source = 0,
		  .gsi = 2, .flags = 0 },
		{ .type = ACPI_MADT_INT_OVERRIDE, .length = sizeof(ovr[0]), .bus = 0,
		  .source = ACPI_SCI_IRQ, .gsi = ACPI_SCI_IRQ,
		  .flags = ACPI_INTI_ACTIVE_HIGH | ACPI_INTI_LEVEL },
	};
	memcpy(p, ovr, sizeof(ovr));
	p += sizeof(ovr);
	/* LINT1 of every local APIC is the NMI. */
	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi), .processor_uid = 0xff,
		.flags = 0, .lint = 1,
	};
	memcpy(p, &nmi, sizeof(nmi));
	header_sum(&m->h);
}

int acpi__build(uint8_t *buf, size_t size, uint64_t base, unsigned nr_cpus,
		struct acpi_layout *layout)
{
	struct acpi_layout l;
	size_t off = 0;

	if (nr_cpus == 0 || nr_cpus > ACPI_MAX_CPUS || base % 16 != 0 ||
	    base + size > UINT32_MAX)
		return -EINVAL;

	l.rsdp = off;
	off = ALIGN_UP(off + sizeof(struct acpi_rsdp), 16);
	l.xsdt = off;
	off = ALIGN_UP(off + sizeof(struct acpi_table_header) + 2 * sizeof(uint64_t), 16);
	l.fadt = off;
	off = ALIGN_UP(off + sizeof(struct acpi_fadt), 64);
	l.facs = off;
	off = ALIGN_UP(off + sizeof(struct acpi_facs), 16);
	l.madt = off;
	off = ALIGN_UP(off + madt_size(nr_cpus), 16);
	l.dsdt = off;
	off += acpi_dsdt_aml_len;
	l.end = off;
	if (off > size)
		return -ENOSPC;
	memset(buf, 0, off);

	/* DSDT: compiled by iasl, checksum included. */
	memcpy(buf + l.dsdt, acpi_dsdt_aml, acpi_dsdt_aml_len);

	build_madt(buf + l.madt, nr_cpus);

	struct acpi_facs *facs = (struct acpi_facs *)(buf + l.facs);
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	build_fadt((struct acpi_fadt *)(buf + l.fadt), base + l.facs, base + l.dsdt);

	struct acpi_table_header *xsdt = (struct acpi_table_header *)(buf + l.xsdt);
	uint64_t entries[2] = { base + l.fadt, base + l.madt };
	header_init(xsdt, "XSDT", sizeof(*xsdt) + sizeof(entries), 1);
	memcpy(xsdt + 1, entries, sizeof(entries));
	header_sum(xsdt);

	struct acpi_rsdp *rsdp = (struct acpi_rsdp *)(buf + l.rsdp);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_address = 0; /* no RSDT: the XSDT is the one root table */
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = base + l.xsdt;
	rsdp->checksum = acpi__checksum(rsdp, 20);
	rsdp->extended_checksum = acpi__checksum(rsdp, sizeof(*rsdp));

	if (layout) {
		*layout = (struct acpi_layout){
			.rsdp = base + l.rsdp, .xsdt = base + l.xsdt, .fadt = base + l.fadt,
			.facs = base + l.facs, .madt = base + l.madt, .dsdt = base + l.dsdt,
			.end = base + l.end,
		};
	}
	return (int)off;
}

int acpi__write_tables(const struct memmap *map, uint8_t *ram, unsigned nr_cpus,
		       struct acpi_layout *layout)
{
	uint8_t *dst = memmap__ptr(map, ram, ACPI_TABLES_ADDR, ACPI_TABLES_MAX);
	int r;

	if (!dst)
		return -ENOMEM;
	r = acpi__build(dst, ACPI_TABLES_MAX, ACPI_TABLES_ADDR, nr_cpus, layout);
	return r < 0 ? r : 0;
}
