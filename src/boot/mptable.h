/*
 * Intel MultiProcessor Specification 1.4 tables, so that a Linux guest finds
 * every vCPU without ACPI: a floating pointer structure "_MP_" at
 * BOOT_MPTABLE_ADDR (inside the last KiB of base memory, which Linux scans)
 * followed by the "PCMP" configuration table.  The whole area up to 1 MiB is
 * reserved in the e820 map.
 */
#ifndef VMSCOPE_BOOT_MPTABLE_H
#define VMSCOPE_BOOT_MPTABLE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

#define MPTABLE_MAX_CPUS     254u          /* xAPIC ids 0..253, the IOAPIC takes the next */
#define MPTABLE_IOAPIC_ADDR  0xfec00000u
#define MPTABLE_LAPIC_ADDR   0xfee00000u
#define MPTABLE_ISA_IRQS     16u

struct mpf_intel {
	char signature[4];     /* "_MP_" */
	uint32_t physptr;      /* configuration table address */
	uint8_t length;        /* in 16-byte units: 1 */
	uint8_t specification; /* 4: version 1.4 */
	uint8_t checksum;      /* all 16 bytes sum to 0 */
	uint8_t feature1;      /* 0: a configuration table is present */
	uint8_t feature2;      /* bit 7 IMCRP: 0, virtual wire mode */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {
	char signature[4];     /* "PCMP" */
	uint16_t length;       /* base table, header included */
	uint8_t spec;          /* 4 */
	uint8_t checksum;      /* base table sums to 0 */
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;     /* number of entries */
	uint32_t lapic;        /* local APIC address */
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };
#define MPC_CPU_ENABLED 1u
#define MPC_CPU_BSP     2u
#define MPC_APIC_USABLE 1u

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature;   /* CPUID signature */
	uint32_t featureflag;  /* CPUID.1:EDX */
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

struct mpc_lintsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbusid, srcbusirq, destapic, destapiclint;
} __attribute__((packed));

static_assert(sizeof(struct mpf_intel) == 16, "mpf_intel");
static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus");
static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic");
static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");
static_assert(sizeof(struct mpc_lintsrc) == 8, "mpc_lintsrc");

/* Bytes the floating pointer plus configuration table take for nr_cpus. */
size_t mptable__size(unsigned nr_cpus);

/*
 * Writes the tables for nr_cpus processors (APIC ids 0..nr_cpus-1, the BSP
 * is 0; the IOAPIC gets id nr_cpus).  Returns 0, or -1 with err set.
 */
int mptable__write(const struct memmap *map, uint8_t *ram, unsigned nr_cpus, const char *name,
		   char *err, size_t errlen);

#endif
