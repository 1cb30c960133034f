/*
 * The CMOS real-time clock (src/devices/cmos_rtc.c) as a guest sees it:
 * machine code reads and writes ports 0x70/0x71 and ends through the
 * debug-exit port with the byte it read, which becomes vmscope's status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "guest_run.h"
#include "kvm_required.h"
#include "vm.h"

/* mov al, reg; out 0x70, al; mov al, val; out 0x71, al */
#define CMOS_WRITE(reg, val) 0xb0, (reg), 0xe6, 0x70, 0xb0, (val), 0xe6, 0x71
/* mov al, reg; out 0x70, al; in al, 0x71; movzx eax, al; mov dx, 0x501; out dx, eax; hlt */
#define CMOS_READ_AND_EXIT(reg) \
	0xb0, (reg), 0xe6, 0x70, 0xe4, 0x71, 0x0f, 0xb6, 0xc0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4

/* Runs the code; what the guest read, the status it ended with. */
static int run_read(const uint8_t *code, size_t len)
{
	struct guest_run r;

	assert_int_equal(code_run(code, len, &r), 0);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	return r.status;
}

#define READ(...) \
	run_read((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static int bcd(int v)
{
	return (v / 10) << 4 | (v % 10);
}

static struct tm host_utc(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return tm;
}

static void test_status_registers(void **state)
{
	(void)state;
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x0a)), 0x26); /* no update in progress */
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x0b)), 0x02); /* 24-hour, BCD */
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x0c)), 0x00); /* no interrupt flags */
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x0d)), 0x80); /* valid RAM and time */
}

/* The date is the host's UTC date, in BCD, with the century where the FADT says. */
static void test_date_is_the_hosts(void **state)
{
	struct tm tm = host_utc();

	(void)state;
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x09)), bcd((tm.tm_year + 1900) % 100));
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x32)), bcd((tm.tm_year + 1900) / 100));
	assert_int_equal(READ(CMOS_READ_AND_EXIT(0x08)), bcd(tm.tm_mon + 1));
}

/* Binary mode (register B's DM bit), then the year set: the clock keeps the new year. */
static void test_guest_sets_the_year(void **state)
{
	(void)state;
	assert_int_equal(READ(CMOS_WRITE(0x0b, 0x06), CMOS_WRITE(0x09, 5), CMOS_READ_AND_EXIT(0x09)),
			 5);
}

/* 12-hour mode, binary: 1 PM written is 1 PM read (bit 7: PM). */
static void test_twelve_hour_mode(void **state)
{
	(void)state;
	assert_int_equal(READ(CMOS_WRITE(0x0b, 0x04), CMOS_WRITE(0x04, 0x81), CMOS_READ_AND_EXIT(0x04)),
			 0x81);
	/* 13 is no hour on a 12-hour clock: ignored, so 13 never reads back. */
	assert_int_not_equal(READ(CMOS_WRITE(0x0b, 0x04), CMOS_WRITE(0x04, 13), CMOS_READ_AND_EXIT(0x04)),
			     13);
}

/* A value that is not BCD is not a date: the month stays the host's. */
static void test_bad_value_ignored(void **state)
{
	struct tm tm = host_utc();

	(void)state;
	assert_int_equal(READ(CMOS_WRITE(0x08, 0xff), CMOS_READ_AND_EXIT(0x08)), bcd(tm.tm_mon + 1));
	assert_int_equal(READ(CMOS_WRITE(0x08, 0x13), CMOS_READ_AND_EXIT(0x08)), bcd(tm.tm_mon + 1));
}

/* CMOS memory keeps what the guest wrote; bit 7 of the index (NMI mask) is not part of it. */
static void test_memory_kept(void **state)
{
	(void)state;
	assert_int_equal(READ(CMOS_WRITE(0x40, 0xa5), CMOS_READ_AND_EXIT(0xc0)), 0xa5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_registers),
		cmocka_unit_test(test_date_is_the_hosts),
		cmocka_unit_test(test_guest_sets_the_year),
		cmocka_unit_test(test_twelve_hour_mode),
		cmocka_unit_test(test_bad_value_ignored),
		cmocka_unit_test(test_memory_kept),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
