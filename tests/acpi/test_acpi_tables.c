/*
 * The ACPI tables, built into a plain buffer: checksums, lengths, pointers,
 * MADT entries for each vCPU count, FADT fields, the DSDT's \_S5 package, and
 * (when iasl is installed) every table disassembled back by `iasl -d`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "acpi/pm.h"
#include "memmap.h"

#define BASE ACPI_TABLES_ADDR
#define BUF_SIZE ACPI_TABLES_MAX

static uint8_t buf[BUF_SIZE];

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *b++);
	return s;
}

/* The table at guest-physical gpa, with its signature and checksum checked. */
static const struct acpi_table_header *table_at(uint64_t gpa, const char *sig)
{
	const struct acpi_table_header *h;

	assert_true(gpa >= BASE && gpa + sizeof(*h) <= BASE + BUF_SIZE);
	h = (const struct acpi_table_header *)(buf + (gpa - BASE));
	assert_memory_equal(h->signature, sig, 4);
	assert_true(h->length >= sizeof(*h) && gpa + h->length <= BASE + BUF_SIZE);
	assert_int_equal(sum(h, h->length), 0);
	return h;
}

static void build(unsigned cpus, struct acpi_layout *l)
{
	int n;

	memset(buf, 0xcc, sizeof(buf));
	n = acpi__build(buf, sizeof(buf), BASE, cpus, l);
	assert_true(n > 0);
	assert_int_equal(l->end, BASE + (uint64_t)n);
}

static void test_rsdp_xsdt(void **state)
{
	struct acpi_layout l;
	const struct acpi_rsdp *rsdp;
	const struct acpi_table_header *xsdt;
	uint64_t e[2];

	(void)state;
	build(1, &l);
	assert_int_equal(l.rsdp, ACPI_RSDP_ADDR);
	/* Linux scans 0xe0000-0xfffff on 16-byte boundaries. */
	assert_true(l.rsdp >= 0xe0000 && l.rsdp < 0x100000 && l.rsdp % 16 == 0);
	rsdp = (const struct acpi_rsdp *)(buf + (l.rsdp - BASE));
	assert_memory_equal(rsdp->signature, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp->revision, 2);
	assert_int_equal(rsdp->length, 36);
	assert_int_equal(rsdp->xsdt_address, l.xsdt);

	xsdt = table_at(l.xsdt, "XSDT");
	assert_int_equal(xsdt->length, 36 + 2 * 8);
	memcpy(e, xsdt + 1, sizeof(e));
	assert_int_equal(e[0], l.fadt);
	assert_int_equal(e[1], l.madt);
	table_at(l.fadt, "FACP");
	table_at(l.madt, "APIC");
	table_at(l.dsdt, "DSDT");
	/* Everything stays inside the e820-reserved BIOS area. */
	assert_true(l.end <= BASE + ACPI_TABLES_MAX && l.end <= 0x100000);
}

static void test_fadt(void **state)
{
	struct acpi_layout l;
	const struct acpi_fadt *f;
	const struct acpi_facs *facs;

	(void)state;
	build(2, &l);
	f = (const struct acpi_fadt *)table_at(l.fadt, "FACP");
	assert_int_equal(f->h.length, 276);
	assert_int_equal(f->h.revision, 6);
	assert_int_equal(f->sci_int, 9);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->pm1a_evt_blk, ACPI_PM1A_EVT_PORT);
	assert_int_equal(f->pm1a_cnt_blk, ACPI_PM1A_CNT_PORT);
	assert_int_equal(f->pm_tmr_blk, ACPI_PM_TMR_PORT);
	assert_int_equal(f->pm1_evt_len, 4);
	assert_int_equal(f->pm1_cnt_len, 2);
	assert_int_equal(f->pm_tmr_len, 4);
	assert_int_equal(f->x_pm1a_evt_blk.space_id, ACPI_GAS_IO);
	assert_int_equal(f->x_pm1a_evt_blk.address, ACPI_PM1A_EVT_PORT);
	assert_int_equal(f->x_pm1a_evt_blk.bit_width, 32);
	assert_int_equal(f->x_pm1a_cnt_blk.address, ACPI_PM1A_CNT_PORT);
	assert_int_equal(f->x_pm1a_cnt_blk.bit_width, 16);
	assert_int_equal(f->x_pm_tmr_blk.address, ACPI_PM_TMR_PORT);
	assert_int_equal(f->flags & ACPI_FADT_HW_REDUCED, 0);
	assert_int_equal(f->flags & ACPI_FADT_POWER_BUTTON, 0); /* fixed power button */
	assert_true(f->flags & ACPI_FADT_RESET_REGISTER);
	assert_true(f->flags & ACPI_FADT_32BIT_TIMER);
	assert_int_equal(f->reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(f->reset_reg.address, 0x64);
	assert_int_equal(f->reset_reg.bit_width, 8);
	assert_int_equal(f->reset_value, 0xfe);
	assert_int_equal(f->dsdt, l.dsdt);
	assert_int_equal(f->x_dsdt, l.dsdt);
	assert_int_equal(f->firmware_ctrl, 0); /* X_FIRMWARE_CTRL only */
	assert_int_equal(f->x_firmware_ctrl, l.facs);

	assert_int_equal(l.facs % 64, 0);
	facs = (const struct acpi_facs *)(buf + (l.facs - BASE));
	assert_memory_equal(facs->signature, "FACS", 4);
	assert_int_equal(facs->length, 64);
}

/* Walks the MADT's entries and checks them against cpus vCPUs. */
static void check_madt(unsigned cpus)
{
	struct acpi_layout l;
	const struct acpi_madt *m;
	const uint8_t *p, *end;
	unsigned nr_lapic = 0, nr_ioapic = 0, nr_nmi = 0;
	bool irq0 = false, sci = false;

	build(cpus, &l);
	m = (const struct acpi_madt *)table_at(l.madt, "APIC");
	assert_int_equal(m->lapic_address, 0xfee00000u);
	assert_int_equal(m->flags & ACPI_MADT_PCAT_COMPAT, ACPI_MADT_PCAT_COMPAT);
	assert_int_equal(m->h.length, 44 + 8 * cpus + 12 + 2 * 10 + 6);
	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->h.length;
	while (p < end) {
		assert_true(p + 2 <= end && p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			struct acpi_madt_lapic e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.apic_id, nr_lapic); /* in order, BSP first */
			assert_int_equal(e.processor_uid, nr_lapic);
			assert_int_equal(e.flags, 1);
			nr_lapic++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			struct acpi_madt_ioapic e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.address, 0xfec00000u);
			assert_int_equal(e.gsi_base, 0);
			assert_int_equal(e.ioapic_id, cpus);
			nr_ioapic++;
			break;
		}
		case ACPI_MADT_INT_OVERRIDE: {
			struct acpi_madt_override e;

			assert_int_equal(p[1], sizeof(e));
			memcpy(&e, p, sizeof(e));
			assert_int_equal(e.bus, 0);
			if (e.source == 0) {
				assert_int_equal(e.gsi, 2);
				irq0 = true;
			} else {
				assert_int_equal(e.source, 9);
				assert_int_equal(e.gsi, 9);
				assert_int_equal(e.flags, 0xd); /* active high, level */
				sci = true;
			}
			break;
		}
		case ACPI_MADT_LAPIC_NMI:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1);
			nr_nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_int_equal(nr_lapic, cpus);
	assert_int_equal(nr_ioapic, 1);
	assert_int_equal(nr_nmi, 1);
	assert_true(irq0 && sci);
}

static void test_madt(void **state)
{
	static const unsigned counts[] = { 1, 2, 3, 8, 64, ACPI_MAX_CPUS };

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		check_madt(counts[i]);
}

/* Reads an AML PkgLength; returns its value and advances *p. */
static uint32_t aml_pkglength(const uint8_t **p)
{
	uint8_t lead = *(*p)++;
	unsigned follow = lead >> 6;
	uint32_t len = follow ? lead & 0x0f : lead & 0x3f;

	for (unsigned i = 0; i < follow; i++)
		len |= (uint32_t)*(*p)++ << (4 + 8 * i);
	return len;
}

/* Reads a small integer term (ZeroOp, OneOp, BytePrefix). */
static int aml_small_int(const uint8_t **p)
{
	uint8_t op = *(*p)++;

	if (op == 0x00)
		return 0;
	if (op == 0x01)
		return 1;
	if (op == 0x0a)
		return *(*p)++;
	return -1;
}

static void test_dsdt_s5(void **state)
{
	struct acpi_layout l;
	const struct acpi_table_header *d;
	const uint8_t *p, *end, *pkg_start;
	uint32_t pkg_len;

	(void)state;
	build(1, &l);
	d = table_at(l.dsdt, "DSDT");
	assert_int_equal(d->length, acpi_dsdt_aml_len);
	assert_true(d->revision >= 2); /* 64-bit integers */
	p = (const uint8_t *)(d + 1);
	end = (const uint8_t *)d + d->length;
	/* NameOp "_S5_" PackageOp PkgLength NumElements SLP_TYPa SLP_TYPb ... */
	while (p + 6 <= end && !(p[0] == 0x08 && memcmp(p + 1, "_S5_", 4) == 0))
		p++;
	assert_true(p + 6 <= end);
	p += 5;
	assert_int_equal(*p++, 0x12);
	pkg_start = p;
	pkg_len = aml_pkglength(&p);
	assert_true(pkg_start + pkg_len <= end);
	assert_int_equal(*p++, 4);
	assert_int_equal(aml_small_int(&p), ACPI_PM_SLP_TYP_S5);
	assert_int_equal(aml_small_int(&p), ACPI_PM_SLP_TYP_S5);
	/* The fixed-feature power button needs no device; the PCI host bridge is there. */
	assert_non_null(memmem(d, d->length, "PCI0", 4));
}

/* Runs `iasl -d` on one table; iasl checks lengths and checksums as it parses. */
static void disassemble(const char *dir, const char *name, const void *table, size_t len,
			const char *expect)
{
	char path[512], dsl[512], cmd[1200], line[512];
	FILE *f;
	bool found = false;
	int st;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(table, 1, len, f), len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "iasl -d %s > %s/%s.log 2>&1", path, dir, name);
	st = system(cmd);
	if (st != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/%s.log >&2", dir, name);
		(void)system(cmd);
	}
	assert_int_equal(st, 0);
	f = fopen(dsl, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		/* iasl flags a bad checksum or length in the disassembly. */
		assert_null(strstr(line, "Incorrect checksum"));
		assert_null(strstr(line, "Invalid"));
		if (strstr(line, expect))
			found = true;
	}
	fclose(f);
	if (!found)
		fail_msg("%s: no '%s' in the disassembly", name, expect);
}

static void test_iasl_roundtrip(void **state)
{
	char dir[] = "/tmp/vmscope-acpi-XXXXXX", cmd[128];
	struct acpi_layout l;

	(void)state;
	if (system("command -v iasl > /dev/null 2>&1") != 0)
		skip();
	build(4, &l);
	assert_non_null(mkdtemp(dir));
	disassemble(dir, "dsdt", buf + (l.dsdt - BASE), acpi_dsdt_aml_len, "_S5");
	disassemble(dir, "facp", buf + (l.fadt - BASE), sizeof(struct acpi_fadt),
		    "PM1A Event Block Address : 00000600");
	disassemble(dir, "apic", buf + (l.madt - BASE),
		    ((const struct acpi_table_header *)(buf + (l.madt - BASE)))->length,
		    "Local Apic ID : 03");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

/* ACPICA's own interpreter (acpiexec) loads the DSDT and evaluates \_S5. */
static void test_acpiexec_s5(void **state)
{
	char dir[] = "/tmp/vmscope-acpi-XXXXXX", path[64], cmd[512], line[256];
	struct acpi_layout l;
	unsigned fives = 0;
	bool package = false, clean = false;
	FILE *f;

	(void)state;
	if (system("command -v acpiexec > /dev/null 2>&1") != 0)
		skip();
	build(1, &l);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf + (l.dsdt - BASE), 1, acpi_dsdt_aml_len, f), acpi_dsdt_aml_len);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "acpiexec -b 'evaluate \\_S5_' %s 2>&1; rm -rf %s", path, dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[Package] Contains 4 Elements"))
			package = true;
		if (strstr(line, "[Integer] = 0000000000000005"))
			fives++;
		if (strstr(line, "No outstanding allocations"))
			clean = true;
		assert_null(strstr(line, "AE_")); /* any ACPICA exception code */
	}
	assert_int_equal(pclose(f), 0);
	assert_true(package);
	assert_int_equal(fives, 2); /* SLP_TYPa and SLP_TYPb */
	assert_true(clean);
}

static void test_build_errors(void **state)
{
	struct acpi_layout l;

	(void)state;
	assert_int_equal(acpi__build(buf, sizeof(buf), BASE, 0, &l), -EINVAL);
	assert_int_equal(acpi__build(buf, sizeof(buf), BASE, ACPI_MAX_CPUS + 1, &l), -EINVAL);
	assert_int_equal(acpi__build(buf, sizeof(buf), BASE + 4, 1, &l), -EINVAL);
	assert_int_equal(acpi__build(buf, 100, BASE, 1, &l), -ENOSPC);
}

/* The e820 map keeps the tables reserved, at every memory size. */
static void test_e820_reserved(void **state)
{
	static const uint64_t sizes[] = { 2ULL << 20, 64ULL << 20, 4ULL << 30 };
	struct acpi_layout l;

	(void)state;
	build(ACPI_MAX_CPUS, &l);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct memmap map;
		struct e820_range r[8];
		unsigned n;
		bool covered = false;

		assert_int_equal(memmap__init(&map, sizes[s]), 0);
		n = memmap__e820(&map, r, 8);
		for (unsigned i = 0; i < n; i++) {
			bool overlaps = r[i].addr < l.end && ACPI_TABLES_ADDR < r[i].addr + r[i].size;

			if (overlaps)
				assert_int_not_equal(r[i].type, E820_RAM);
			if (r[i].type != E820_RAM && r[i].addr <= ACPI_TABLES_ADDR &&
			    r[i].addr + r[i].size >= l.end)
				covered = true;
		}
		assert_true(covered);
		/* The tables are in guest RAM, so the VMM can write them. */
		assert_true(memmap__offset(&map, ACPI_TABLES_ADDR, ACPI_TABLES_MAX) >= 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp_xsdt),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_dsdt_s5),
		cmocka_unit_test(test_iasl_roundtrip),
		cmocka_unit_test(test_acpiexec_s5),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_e820_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
