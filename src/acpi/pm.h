/*
 * The ACPI power-management device (src/devices/acpi_pm.c): PM1a event and
 * control blocks and the PM timer at the ports the FADT names, and the SCI.
 */
#ifndef VMSCOPE_ACPI_PM_H
#define VMSCOPE_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR        (1u << 0)
#define ACPI_PM1_GBL        (1u << 5)
#define ACPI_PM1_PWRBTN     (1u << 8)
#define ACPI_PM1_SLPBTN     (1u << 9)
#define ACPI_PM1_RTC        (1u << 10)
#define ACPI_PM1_WAK        (1u << 15) /* PM1_STS only */
/* PM1_CNT bits */
#define ACPI_PM1_CNT_SCI_EN     (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK  (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN     (1u << 13)
/* The SLP_TYPa value of \_S5 in dsdt.asl. */
#define ACPI_PM_SLP_TYP_S5 5u

#define ACPI_PM_TIMER_HZ 3579545ULL

struct acpi_pm_counters {
	uint64_t power_button_presses;
	uint64_t sci_raised;
	uint64_t pm1_reads, pm1_writes;
	uint64_t timer_reads;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	bool sci_level;
};

/*
 * Presses the power button: sets PWRBTN_STS and raises the SCI when the
 * guest enabled PWRBTN_EN.  Returns 0, or -ENODEV when vm has no PM device.
 * Safe from any thread.
 */
int acpi_pm__power_button(struct vm *vm);

/* A snapshot of the device's registers and counters; -ENODEV when none. */
int acpi_pm__counters(struct vm *vm, struct acpi_pm_counters *out);

#endif
