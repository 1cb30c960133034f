/*
 * Each way a guest can end maps to its own stop reason and exit status:
 * debug-exit, an out-of-range debug-exit value, a triple fault, a reset
 * through the keyboard controller, and an instruction KVM refuses.
 */
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

static void test_refused_instruction(void **state)
{
	struct guest_run r;

	(void)state;
	/*
	 * int3 in kernel mode: the emulation-based KVM refuses it (an internal
	 * error); hardware KVM delivers #BP to a guest without an IDT, which
	 * ends in a triple fault.
	 */
	RUN(0xcc);
	if (kvm_host_is_emulated()) {
		assert_int_equal(r.stop_reason, VM_STOP_ERROR);
		assert_int_equal(r.status, EXIT_ERROR);
	} else {
		assert_int_equal(r.stop_reason, VM_STOP_TRIPLE_FAULT);
	}
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
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
