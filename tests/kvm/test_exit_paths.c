/*
 * Each way a guest can end maps to its own stop reason and exit status:
 * debug-exit, an out-of-range debug-exit value, a triple fault, a reset
 * through the keyboard controller, and an instruction KVM refuses.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exit_status.h"
#include "guest_run.h"
#include "kvm_required.h"
#include "vm.h"

#define RUN(...)                                                          \
	do {                                                              \
		static const uint8_t code[] = { __VA_ARGS__ };            \
		assert_int_equal(code_run(code, sizeof(code), &r), 0);    \
	} while (0)

static void test_debug_exit(void **state)
{
	struct guest_run r;

	(void)state;
	/* mov eax, 42; mov dx, 0x501; out dx, eax; hlt */
	RUN(0xb8, 42, 0, 0, 0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 42);
}

static void test_debug_exit_out_of_range(void **state)
{
	struct guest_run r;

	(void)state;
	/* mov eax, 300; mov dx, 0x501; out dx, eax; hlt */
	RUN(0xb8, 0x2c, 0x01, 0, 0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4);
	assert_int_equal(r.stop_reason, VM_STOP_ERROR);
	assert_int_equal(r.status, EXIT_ERROR);
}

static void test_unclaimed_port_reads_all_ones(void **state)
{
	struct guest_run r;

	(void)state;
	/* mov dx, 0x1234; in al, dx; movzx eax, al; mov dx, 0x501; out dx, eax; hlt */
	RUN(0x66, 0xba, 0x34, 0x12, 0xec, 0x0f, 0xb6, 0xc0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 0xff);
}

static void test_triple_fault(void **state)
{
	struct guest_run r;

	(void)state;
	/* ud2 with no usable IDT: #UD, then #DF, then shutdown. */
	RUN(0x0f, 0x0b);
	assert_int_equal(r.stop_reason, VM_STOP_TRIPLE_FAULT);
	assert_int_equal(r.status, EXIT_TRIPLE_FAULT);
}

static void test_keyboard_controller_reset(void **state)
{
	struct guest_run r;

	(void)state;
	/* mov al, 0xfe; out 0x64, al; hlt */
	RUN(0xb0, 0xfe, 0xe6, 0x64, 0xf4);
	assert_int_equal(r.stop_reason, VM_STOP_REBOOT);
	assert_int_equal(r.status, EXIT_REBOOT);
}

/* Whether this CPU has SMAP (CPUID.7.0:EBX bit 20), which makes clac a real instruction. */
static bool cpu_has_smap(void)
{
	unsigned a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 20));
}

static void test_refused_instruction(void **state)
{
	struct guest_run r;

	(void)state;
	/*
	 * clac in kernel mode, then an exit with 42: the emulation-based KVM
	 * refuses clac (an internal error); hardware runs it where the CPU has
	 * SMAP (the guest exits with 42) and raises #UD where it has not, which
	 * in a guest without an IDT ends in a triple fault.
	 */
	RUN(0x0f, 0x01, 0xca, 0xb8, 42, 0, 0, 0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4);
	if (kvm_host_is_emulated()) {
		assert_int_equal(r.stop_reason, VM_STOP_ERROR);
		assert_int_equal(r.status, EXIT_ERROR);
	} else if (cpu_has_smap()) {
		assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
		assert_int_equal(r.status, 42);
	} else {
		assert_int_equal(r.stop_reason, VM_STOP_TRIPLE_FAULT);
	}
}

/*
 * The guest's own int3 in kernel mode is a #BP trap on every host: the
 * emulation-based KVM refuses it, and vmscope then delivers it itself.
 * The handler exits with the offset of the RIP it was given.
 */
static void test_guest_int3(void **state)
{
	static const uint8_t code[0x70] = {
		0xbc, 0x00, 0x00, 0x20, 0x00,             /* 0x00 mov $0x200000, %esp */
		0x0f, 0x01, 0x1d, 0x10, 0x00, 0x00, 0x00, /* 0x05 lidt 0x1c(%rip-relative) */
		0xcc,                                     /* 0x0c int3 */
		0xf4,                                     /* 0x0d hlt (not reached) */
		0x8b, 0x04, 0x24,                         /* 0x0e #BP: mov (%rsp), %eax */
		0x2d, 0x00, 0x00, 0x10, 0x00,             /* 0x11 sub $0x100000, %eax */
		0x66, 0xba, 0x01, 0x05, 0xef, 0xf4,       /* 0x16 mov $0x501, %dx; out; hlt */
		/* 0x1c IDTR: limit, base 0x100030 */
		0x3f, 0x00, 0x30, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* 0x60 IDT entry 3: handler 0x10000e, CS 0x10, interrupt gate */
		[0x60] = 0x0e, 0x00, 0x10, 0x00, 0x00, 0x8e, 0x10, 0x00,
	};
	struct guest_run r;

	(void)state;
	assert_int_equal(code_run(code, sizeof(code), &r), 0);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 0x0d); /* past the int3 */
}

/* fwait with no x87 exception pending goes on, on every host (this one's emulator refuses it). */
static void test_guest_fwait(void **state)
{
	struct guest_run r;

	(void)state;
	/* fwait; mov eax, 7; mov dx, 0x501; out dx, eax; hlt */
	RUN(0x9b, 0xb8, 7, 0, 0, 0, 0x66, 0xba, 0x01, 0x05, 0xef, 0xf4);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_exit),
		cmocka_unit_test(test_debug_exit_out_of_range),
		cmocka_unit_test(test_unclaimed_port_reads_all_ones),
		cmocka_unit_test(test_triple_fault),
		cmocka_unit_test(test_keyboard_controller_reset),
		cmocka_unit_test(test_refused_instruction),
		cmocka_unit_test(test_guest_int3),
		cmocka_unit_test(test_guest_fwait),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
