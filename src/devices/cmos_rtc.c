/*
 * The PC's CMOS real-time clock, an MC146818 behind ports 0x70 (index) and
 * 0x71 (data), as Cloud Hypervisor and QEMU offer it: the date and time,
 * status registers A to D, and the rest of its 128 bytes as CMOS memory.
 *
 * Without it the ports read as all-ones, so register A reports an update in
 * progress forever: Linux's rtc_cmos spins on it at boot, then gives up
 * ("broken or not accessible"), and the guest has no /dev/rtc0 or hwclock.
 *
 * The clock is the host's UTC plus an offset the guest sets by writing the
 * time registers (hwclock --systohc).  Update-in-progress never shows: each
 * read computes the time afresh, and Linux re-reads the seconds to catch a
 * change between fields.  No interrupt is raised (periodic, alarm or
 * update-ended); a guest that enables one is told so once in vmscope's log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "acpi/acpi.h"
#include "device.h"
#include "log.h"
#include "vm.h"

#define CMOS_PORT  0x70 /* index (bit 7: NMI mask, ignored); 0x71: data */
#define CMOS_BYTES 128

enum {
	REG_SECONDS = 0x00,
	REG_MINUTES = 0x02,
	REG_HOURS = 0x04,
	REG_WEEKDAY = 0x06,
	REG_DAY = 0x07,
	REG_MONTH = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,
	REG_B = 0x0b,
	REG_C = 0x0c,
	REG_D = 0x0d,
	REG_CENTURY = ACPI_CMOS_CENTURY, /* the FADT names it */
};

#define REG_A_UIP        0x80
#define REG_A_DEFAULT    0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define REG_B_INTERRUPTS 0x70 /* PIE, AIE, UIE */
#define REG_B_BINARY     0x04 /* DM: binary, not BCD */
#define REG_B_24H        0x02
#define REG_B_DEFAULT    REG_B_24H
#define REG_D_VRT        0x80 /* valid RAM and time: the battery is good */
#define HOUR_PM          0x80 /* in 12-hour mode */

struct cmos_rtc {
	pthread_mutex_t lock; /* two vCPUs may use the index register at once */
	uint8_t index;
	uint8_t ram[CMOS_BYTES];    /* registers A, B and plain CMOS memory */
	int64_t offset;             /* guest time minus host UTC, in seconds */
	bool told_interrupts;
};

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* A register value in the guest's format to a number; -1 when not a valid one. */
static int from_reg(const struct cmos_rtc *rtc, uint8_t v)
{
	if (rtc->ram[REG_B] & REG_B_BINARY)
		return v;
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t to_reg(const struct cmos_rtc *rtc, unsigned v)
{
	return rtc->ram[REG_B] & REG_B_BINARY ? (uint8_t)v : to_bcd(v);
}

/*
 * A date and time in UTC.  The conversions are plain arithmetic on the
 * proleptic Gregorian calendar: glibc's gmtime_r and timegm read the time
 * zone on first use, a file the vCPU threads' system-call filter forbids.
 */
struct rtc_time {
	int64_t year;
	int mon, mday, hour, min, sec; /* mon: 1-12 */
	int wday;                      /* 0: Sunday */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to a date (months counted from March, so leap days come last). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void civil_from_secs(int64_t t, struct rtc_time *tm)
{
	int64_t days = floor_div(t, 86400), secs = t - days * 86400;
	int64_t z = days + 719468, era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = yoe + era * 400 + (tm->mon <= 2);
	tm->wday = (int)(days - floor_div(days + 4, 7) * 7 + 4) % 7; /* 1970-01-01: a Thursday */
	tm->hour = (int)(secs / 3600);
	tm->min = (int)(secs / 60 % 60);
	tm->sec = (int)(secs % 60);
}

static int64_t secs_from_civil(const struct rtc_time *tm)
{
	return days_from_civil(tm->year, tm->mon, tm->mday) * 86400 + tm->hour * 3600 +
	       tm->min * 60 + tm->sec;
}

static void guest_time(const struct cmos_rtc *rtc, struct rtc_time *tm)
{
	civil_from_secs((int64_t)time(NULL) + rtc->offset, tm);
}

static uint8_t hours_reg(const struct cmos_rtc *rtc, int hour)
{
	unsigned h12;

	if (rtc->ram[REG_B] & REG_B_24H)
		return to_reg(rtc, (unsigned)hour);
	h12 = hour % 12 ? (unsigned)(hour % 12) : 12;
	return (uint8_t)(to_reg(rtc, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static bool is_time_reg(uint8_t reg)
{
	return reg <= REG_YEAR ? reg != 0x01 && reg != 0x03 && reg != 0x05 : reg == REG_CENTURY;
}

static uint8_t cmos__read_time(const struct cmos_rtc *rtc, uint8_t reg)
{
	struct rtc_time tm;

	guest_time(rtc, &tm);
	switch (reg) {
	case REG_SECONDS: return to_reg(rtc, (unsigned)tm.sec);
	case REG_MINUTES: return to_reg(rtc, (unsigned)tm.min);
	case REG_HOURS: return hours_reg(rtc, tm.hour);
	case REG_WEEKDAY: return to_reg(rtc, (unsigned)tm.wday + 1);
	case REG_DAY: return to_reg(rtc, (unsigned)tm.mday);
	case REG_MONTH: return to_reg(rtc, (unsigned)tm.mon);
	case REG_YEAR: return to_reg(rtc, (unsigned)(tm.year % 100));
	default: return to_reg(rtc, (unsigned)(tm.year / 100)); /* REG_CENTURY */
	}
}

static uint8_t cmos__read(const struct cmos_rtc *rtc, uint8_t reg)
{
	if (is_time_reg(reg))
		return cmos__read_time(rtc, reg);
	switch (reg) {
	case REG_A: return rtc->ram[REG_A] & ~REG_A_UIP;
	case REG_C: return 0; /* no interrupt flag is ever raised */
	case REG_D: return REG_D_VRT;
	default: return rtc->ram[reg]; /* the alarm and CMOS memory */
	}
}

/* A field's number from a register write; -1 when not a valid one. */
static int field_value(const struct cmos_rtc *rtc, uint8_t v, int min, int max)
{
	int n = from_reg(rtc, v);

	return n >= min && n <= max ? n : -1;
}

/* The hour (0-23) from a write of the hours register; -1 when not a valid one. */
static int hour_value(const struct cmos_rtc *rtc, uint8_t v)
{
	int h12;

	if (rtc->ram[REG_B] & REG_B_24H)
		return field_value(rtc, v, 0, 23);
	h12 = field_value(rtc, v & (uint8_t)~HOUR_PM, 1, 12);
	return h12 < 0 ? -1 : h12 % 12 + (v & HOUR_PM ? 12 : 0);
}

/* The guest sets one field of the date or time: the offset moves by the difference. */
static void cmos__set_time_field(struct cmos_rtc *rtc, uint8_t reg, uint8_t v)
{
	struct rtc_time tm;
	int n;

	guest_time(rtc, &tm);
	switch (reg) {
	case REG_SECONDS:
		n = tm.sec = field_value(rtc, v, 0, 59);
		break;
	case REG_MINUTES:
		n = tm.min = field_value(rtc, v, 0, 59);
		break;
	case REG_HOURS:
		n = tm.hour = hour_value(rtc, v);
		break;
	case REG_DAY:
		n = tm.mday = field_value(rtc, v, 1, 31);
		break;
	case REG_MONTH:
		n = tm.mon = field_value(rtc, v, 1, 12);
		break;
	case REG_YEAR: /* within the century */
		n = field_value(rtc, v, 0, 99);
		tm.year = tm.year / 100 * 100 + n;
		break;
	case REG_CENTURY:
		n = field_value(rtc, v, 19, 99);
		tm.year = n * 100 + tm.year % 100;
		break;
	default:
		return; /* the weekday follows from the date */
	}
	if (n < 0) {
		log_debug("CMOS RTC: register 0x%02x written with 0x%02x, not a valid value: ignored",
			  reg, v);
		return;
	}
	/* A day past the month's end (31 in a 30-day month) counts on into the next. */
	rtc->offset = secs_from_civil(&tm) - (int64_t)time(NULL);
}

static void cmos__write(struct cmos_rtc *rtc, uint8_t reg, uint8_t v)
{
	if (is_time_reg(reg)) {
		cmos__set_time_field(rtc, reg, v);
		return;
	}
	switch (reg) {
	case REG_A:
		rtc->ram[REG_A] = v & ~REG_A_UIP;
		break;
	case REG_B:
		if ((v & REG_B_INTERRUPTS) && !rtc->told_interrupts) {
			log_warn("CMOS RTC: the guest enabled RTC interrupts (register B 0x%02x); "
				 "vmscope does not raise them", v);
			rtc->told_interrupts = true;
		}
		rtc->ram[REG_B] = v;
		break;
	case REG_C: case REG_D:
		break; /* read-only */
	default:
		rtc->ram[reg] = v;
	}
}

static void cmos__io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct cmos_rtc *rtc = opaque;

	(void)vcpu;
	pthread_mutex_lock(&rtc->lock);
	for (uint32_t i = 0; i < len; i++) {
		bool index_port = offset + i == 0;

		if (index_port && is_write)
			rtc->index = data[i] & (CMOS_BYTES - 1);
		else if (index_port)
			data[i] = rtc->index;
		else if (is_write)
			cmos__write(rtc, rtc->index, data[i]);
		else
			data[i] = cmos__read(rtc, rtc->index);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static void cmos_rtc__exit(struct vm *vm)
{
	struct cmos_rtc *rtc = vm->devices.cmos_rtc;

	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
	vm->devices.cmos_rtc = NULL;
}

static int cmos_rtc__init(struct vm *vm)
{
	struct cmos_rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return -ENOMEM;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->ram[REG_A] = REG_A_DEFAULT;
	rtc->ram[REG_B] = REG_B_DEFAULT;
	vm->devices.cmos_rtc = rtc;
	return io__register(&vm->pio, CMOS_PORT, 2, cmos__io, rtc, "CMOS RTC");
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, cmos_rtc, cmos_rtc__init, cmos_rtc__exit);
