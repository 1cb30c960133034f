/*
 * The ACPI fixed hardware the FADT describes (src/acpi/tables.c): the PM1a
 * event block (PM1_STS, PM1_EN), the PM1a control block (PM1_CNT, where a
 * guest writes SLP_TYP|SLP_EN to enter a sleep state) and the PM timer.
 * Entering S5 ends the VM with status 0; the power button sets PWRBTN_STS
 * and raises the SCI (ISA IRQ 9, level-triggered) while the guest enables it.
 *
 * The device also puts the ACPI tables into guest RAM when the VM is created:
 * they describe this device and nothing else writes that area.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi/acpi.h"
#include "acpi/pm.h"
#include "device.h"
#include "exit_status.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

/* Status and enable bits this device implements. */
#define PM1_EN_MASK \
	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_STS_MASK (PM1_EN_MASK | ACPI_PM1_WAK)
/* Bits of PM1_CNT that hold state; SLP_EN is write-only and reads 0. */
#define PM1_CNT_MASK (ACPI_PM1_CNT_SCI_EN | ACPI_PM1_CNT_SLP_TYP_MASK | 0x6u)

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	bool sci_level;
	struct acpi_pm_counters stats;
};

/* One PM device per VM; found by VM for the API (vm.h has no device slots). */
static void acpi_pm__update_sci(struct acpi_pm *pm)
{
	bool level = (pm->cnt & ACPI_PM1_CNT_SCI_EN) && (pm->sts & pm->en & PM1_EN_MASK);

	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	if (level)
		pm->stats.sci_raised++;
	vm__irq_line(pm->vm, ACPI_SCI_IRQ, level, "ACPI PM (SCI)");
}

/*
 * Merges the bytes of a write at byte offset off of len bytes into the
 * 16-bit register whose first byte is at reg_off; returns the bits written
 * and sets *mask to which of them the write covered.
 */
static uint16_t write_bits(const uint8_t *data, uint64_t off, uint32_t len, uint64_t reg_off,
			   uint16_t *mask)
{
	uint16_t val = 0;

	*mask = 0;
	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;

		if (b < reg_off || b >= reg_off + 2)
			continue;
		val |= (uint16_t)(data[i] << (8 * (b - reg_off)));
		*mask |= (uint16_t)(0xffu << (8 * (b - reg_off)));
	}
	return val;
}

static void read_bytes(uint8_t *data, uint64_t off, uint32_t len, const uint8_t *image,
		       size_t image_len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < image_len ? image[off + i] : 0xff;
}

static void acpi_pm__evt_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			    uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint16_t mask, val;

	(void)vcpu;
	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		uint8_t image[4] = { (uint8_t)pm->sts, (uint8_t)(pm->sts >> 8), (uint8_t)pm->en,
				     (uint8_t)(pm->en >> 8) };

		pm->stats.pm1_reads++;
		read_bytes(data, offset, len, image, sizeof(image));
	} else {
		pm->stats.pm1_writes++;
		/* PM1_STS: writing 1 clears a bit. */
		val = write_bits(data, offset, len, 0, &mask);
		pm->sts &= (uint16_t)~(val & mask & PM1_STS_MASK);
		/* PM1_EN: plain read/write. */
		val = write_bits(data, offset, len, 2, &mask);
		pm->en = (uint16_t)((pm->en & ~mask) | (val & mask & PM1_EN_MASK));
		acpi_pm__update_sci(pm);
	}
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm__cnt_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			    uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	uint16_t mask, val;
	unsigned slp_typ;

	pthread_mutex_lock(&pm->lock);
	if (!is_write) {
		uint8_t image[2] = { (uint8_t)pm->cnt, (uint8_t)(pm->cnt >> 8) };

		pm->stats.pm1_reads++;
		read_bytes(data, offset, len, image, sizeof(image));
		pthread_mutex_unlock(&pm->lock);
		return;
	}
	pm->stats.pm1_writes++;
	val = write_bits(data, offset, len, 0, &mask);
	/* SCI_EN stays set: there is no SMM and no legacy mode to return to. */
	pm->cnt = (uint16_t)((pm->cnt & ~mask) | (val & mask & PM1_CNT_MASK) |
			     ACPI_PM1_CNT_SCI_EN);
	slp_typ = (pm->cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;
	pthread_mutex_unlock(&pm->lock);

	if (!(val & mask & ACPI_PM1_CNT_SLP_EN))
		return;
	if (slp_typ == ACPI_PM_SLP_TYP_S5) {
		log_info("guest entered ACPI S5 (soft off)");
		vm__stop(vcpu->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
	} else {
		/* The DSDT offers only \_S5; other states are not entered. */
		log_warn("vCPU %u: guest asked for ACPI sleep type %u, which vmscope does not offer",
			 vcpu->id, slp_typ);
	}
}

static void acpi_pm__tmr_io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			    uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	struct timespec ts;
	uint64_t ns, ticks;
	uint8_t image[4];

	(void)vcpu;
	if (is_write)
		return; /* read-only */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	/* Split to stay within 64 bits: ticks = ns * 3579545 / 1e9. */
	ticks = (ns / 1000000000ULL) * ACPI_PM_TIMER_HZ +
		(ns % 1000000000ULL) * ACPI_PM_TIMER_HZ / 1000000000ULL;
	for (int i = 0; i < 4; i++)
		image[i] = (uint8_t)(ticks >> (8 * i));
	__atomic_fetch_add(&pm->stats.timer_reads, 1, __ATOMIC_RELAXED);
	read_bytes(data, offset, len, image, sizeof(image));
}

int acpi_pm__power_button(struct vm *vm)
{
	struct acpi_pm *pm = vm->devices.acpi_pm;

	if (!pm)
		return -ENODEV;
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	pm->stats.power_button_presses++;
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

int acpi_pm__counters(struct vm *vm, struct acpi_pm_counters *out)
{
	struct acpi_pm *pm = vm->devices.acpi_pm;

	if (!pm)
		return -ENODEV;
	pthread_mutex_lock(&pm->lock);
	*out = pm->stats;
	out->timer_reads = __atomic_load_n(&pm->stats.timer_reads, __ATOMIC_RELAXED);
	out->pm1_sts = pm->sts;
	out->pm1_en = pm->en;
	out->pm1_cnt = pm->cnt;
	out->sci_level = pm->sci_level;
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static void acpi_pm__exit(struct vm *vm)
{
	struct acpi_pm *pm = vm->devices.acpi_pm;

	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	vm->devices.acpi_pm = NULL;
}

static int acpi_pm__init(struct vm *vm)
{
	struct acpi_layout layout;
	struct acpi_pm *pm;
	int r;

	/* More vCPUs than the MADT can describe: the loader refuses them with a message. */
	if (vm->cfg->cpus_boot <= ACPI_MAX_CPUS) {
		r = acpi__write_tables(&vm->map, vm->ram, vm->cfg->cpus_boot, &layout);
		if (r < 0)
			return r;
		log_debug("ACPI tables at 0x%llx-0x%llx (RSDP 0x%llx)",
			  (unsigned long long)ACPI_TABLES_ADDR, (unsigned long long)layout.end,
			  (unsigned long long)layout.rsdp);
	}

	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	pm->cnt = ACPI_PM1_CNT_SCI_EN;
	pthread_mutex_init(&pm->lock, NULL);
	vm->devices.acpi_pm = pm;

	r = io__register(&vm->pio, ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN, acpi_pm__evt_io, pm,
			 "ACPI PM1a event");
	if (r == 0)
		r = io__register(&vm->pio, ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN, acpi_pm__cnt_io,
				 pm, "ACPI PM1a control");
	if (r == 0)
		r = io__register(&vm->pio, ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN, acpi_pm__tmr_io, pm,
				 "ACPI PM timer");
	return r;
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, acpi_pm, acpi_pm__init, acpi_pm__exit);
