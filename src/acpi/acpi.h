/*
 * ACPI tables for a Linux guest (ACPI 6.x): RSDP, XSDT, FADT, FACS, MADT and
 * the DSDT compiled from dsdt.asl.  They live in the BIOS area
 * 0xe0000-0xfffff, which the e820 map reserves (src/memmap.c), so Linux
 * finds the RSDP both there by scanning and in boot_params.acpi_rsdp_addr.
 *
 * The fixed hardware they describe (PM1a event and control blocks, PM timer,
 * SCI) is emulated by src/devices/acpi_pm.c.
 */
#ifndef VMSCOPE_ACPI_ACPI_H
#define VMSCOPE_ACPI_ACPI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

/* Where the tables go: RSDP first (16-byte aligned, inside the scanned range). */
#define ACPI_TABLES_ADDR 0xe0000ULL
#define ACPI_TABLES_MAX  0x10000ULL /* up to 0xeffff */
#define ACPI_RSDP_ADDR   ACPI_TABLES_ADDR

/* The ACPI fixed hardware, in port I/O space (QEMU's PIIX4 uses the same ports). */
#define ACPI_PM1A_EVT_PORT 0x600 /* PM1_STS (2 bytes) then PM1_EN (2 bytes) */
#define ACPI_PM1A_CNT_PORT 0x604 /* PM1_CNT (2 bytes) */
#define ACPI_PM_TMR_PORT   0x608 /* 32-bit PM timer, 3.579545 MHz */
#define ACPI_PM1_EVT_LEN   4
#define ACPI_PM1_CNT_LEN   2
#define ACPI_PM_TMR_LEN    4
#define ACPI_SCI_IRQ       9
#define ACPI_CMOS_CENTURY  0x32 /* the CMOS RTC's century register (devices/cmos_rtc.c) */
/* The reset register: the i8042 command port, value 0xfe (src/devices/i8042.c). */
#define ACPI_RESET_PORT    0x64
#define ACPI_RESET_VALUE   0xfe

#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_LAPIC_ADDR  0xfee00000u

/* The most vCPUs the MADT describes: xAPIC ids 0..253, the IOAPIC takes the next. */
#define ACPI_MAX_CPUS 254u

struct acpi_table_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
static_assert(sizeof(struct acpi_table_header) == 36, "ACPI table header");

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;  /* 2: ACPI 2.0+, XSDT */
	uint32_t rsdt_address;
	uint32_t length;   /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* 0 memory, 1 system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
} __attribute__((packed));
static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define ACPI_GAS_IO 1

struct acpi_fadt {
	struct acpi_table_header h;
	uint32_t firmware_ctrl;   /* 36 */
	uint32_t dsdt;            /* 40 */
	uint8_t reserved0;        /* 44 */
	uint8_t preferred_pm_profile;
	uint16_t sci_int;         /* 46 */
	uint32_t smi_cmd;         /* 48: 0, always in ACPI mode */
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;    /* 56 */
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;    /* 64 */
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;      /* 76 */
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;      /* 88 */
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;      /* 96 */
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;      /* 104 */
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;  /* 109 */
	uint8_t reserved1;
	uint32_t flags;           /* 112 */
	struct acpi_gas reset_reg; /* 116 */
	uint8_t reset_value;      /* 128 */
	uint16_t arm_boot_arch;
	uint8_t fadt_minor_version;
	uint64_t x_firmware_ctrl; /* 132 */
	uint64_t x_dsdt;          /* 140 */
	struct acpi_gas x_pm1a_evt_blk; /* 148 */
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk; /* 172 */
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;   /* 208 */
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg; /* 244 */
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;  /* 268 */
} __attribute__((packed));
static_assert(sizeof(struct acpi_fadt) == 276, "FADT (revision 6)");
static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT.SCI_INT");
static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT.PM1a_EVT_BLK");
static_assert(offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT.PM_TMR_BLK");
static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT.PM1_EVT_LEN");
static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT.IAPC_BOOT_ARCH");
static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT.Flags");
static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT.RESET_REG");
static_assert(offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "FADT.X_FIRMWARE_CTRL");
static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT.X_PM1a_EVT_BLK");
static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT.SLEEP_CONTROL_REG");

/* FADT flags */
#define ACPI_FADT_WBINVD        (1u << 0)
#define ACPI_FADT_C1_SUPPORTED  (1u << 2)
#define ACPI_FADT_POWER_BUTTON  (1u << 4) /* set: NO fixed power button; we leave it clear */
#define ACPI_FADT_SLEEP_BUTTON  (1u << 5) /* set: no fixed sleep button */
#define ACPI_FADT_32BIT_TIMER   (1u << 8)
#define ACPI_FADT_RESET_REGISTER (1u << 10)
#define ACPI_FADT_HW_REDUCED    (1u << 20)
/* IAPC_BOOT_ARCH */
#define ACPI_IAPC_VGA_NOT_PRESENT (1u << 2)

struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;   /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));
static_assert(sizeof(struct acpi_facs) == 64, "FACS");

struct acpi_madt {
	struct acpi_table_header h;
	uint32_t lapic_address;
	uint32_t flags; /* PCAT_COMPAT: there are 8259 PICs too */
} __attribute__((packed));

#define ACPI_MADT_PCAT_COMPAT 1u

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_INT_OVERRIDE = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

struct acpi_madt_lapic {
	uint8_t type, length; /* 0, 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* 1: enabled */
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type, length; /* 1, 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct acpi_madt_override {
	uint8_t type, length; /* 2, 10 */
	uint8_t bus;          /* 0: ISA */
	uint8_t source;       /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;       /* MPS INTI flags: polarity bits 0-1, trigger bits 2-3 */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	uint8_t type, length; /* 4, 6 */
	uint8_t processor_uid; /* 0xff: all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

static_assert(sizeof(struct acpi_madt) == 44, "MADT header");
static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");
static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");
static_assert(sizeof(struct acpi_madt_override) == 10, "MADT override");
static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI");

#define ACPI_INTI_ACTIVE_HIGH 0x1u
#define ACPI_INTI_LEVEL       0xcu

/* Where each table ended up, as guest-physical addresses (for tests and logs). */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, facs, madt, dsdt, end;
};

/* The DSDT compiled from dsdt.asl (src/acpi/dsdt.c). */
extern const uint8_t *const acpi_dsdt_aml;
extern const size_t acpi_dsdt_aml_len;

/* The 8-bit checksum that makes the sum of len bytes at p (including it) zero. */
uint8_t acpi__checksum(const void *p, size_t len);

/*
 * Builds every table for nr_cpus vCPUs into buf, which the guest sees at
 * guest-physical base (16-byte aligned); returns the bytes used, or -ENOSPC /
 * -EINVAL.  Pure: no VM needed, so tests call it on a plain buffer.
 */
int acpi__build(uint8_t *buf, size_t size, uint64_t base, unsigned nr_cpus,
		struct acpi_layout *layout);

/* Writes the tables into guest RAM at ACPI_TABLES_ADDR; returns 0 or -errno. */
int acpi__write_tables(const struct memmap *map, uint8_t *ram, unsigned nr_cpus,
		       struct acpi_layout *layout);

#endif
