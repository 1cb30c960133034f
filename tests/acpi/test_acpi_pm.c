/*
 * The ACPI PM device on KVM: a tiny guest (raw 64-bit code at 1 MiB, in the
 * identity map longmode.c builds) writes S5 to PM1a_CNT and the VM stops
 * with status 0; waits for the power button and then powers off; takes the
 * SCI as an interrupt through the IOAPIC and powers off from its handler; asks for S1
 * (refused, the guest carries on) and checks the PM timer advances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "acpi/pm.h"
#include "boot/longmode.h"
#include "kvm_host.h"
#include "kvm_required.h"
#include "log.h"
#include "vm.h"
#include "vm_lifecycle.h"

#define CODE_ADDR 0x100000

/* mov $0x604,%dx; mov $0x3400,%ax (SLP_TYP=5 | SLP_EN); out %ax,%dx; 1: hlt; jmp 1b */
static const uint8_t guest_s5[] = {
	0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x34, 0x66, 0xef, 0xf4, 0xeb, 0xfd,
};

/*
 *	mov $0x602,%dx; mov $0x100,%ax; out %ax,%dx    PM1_EN = PWRBTN_EN
 * 2:	mov $0x600,%dx; in %dx,%ax; test $0x100,%ax; jz 2b   wait for PWRBTN_STS
 *	out %ax,%dx                                    write 1 to clear it
 *	in %dx,%ax; test $0x100,%ax; jnz 4f            still set: fail
 *	mov $0x604,%dx; mov $0x3400,%ax; out %ax,%dx   S5
 * 3:	hlt; jmp 3b
 * 4:	mov $0x501,%dx; mov $9,%eax; out %eax,%dx; jmp 3b   debug-exit 9
 */
static const uint8_t guest_pwrbtn[] = {
	0x66, 0xba, 0x02, 0x06, 0x66, 0xb8, 0x00, 0x01, 0x66, 0xef,
	0x66, 0xba, 0x00, 0x06, 0x66, 0xed, 0x66, 0xa9, 0x00, 0x01, 0x74, 0xf4,
	0x66, 0xef,
	0x66, 0xed, 0x66, 0xa9, 0x00, 0x01, 0x75, 0x0d,
	0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x34, 0x66, 0xef,
	0xf4, 0xeb, 0xfd,
	0x66, 0xba, 0x01, 0x05, 0xb8, 0x09, 0x00, 0x00, 0x00, 0xef, 0xeb, 0xf1,
};

/*
 *	mov $0x604,%dx; mov $0x2400,%ax; out %ax,%dx   S1 | SLP_EN: not offered
 *	mov $0x608,%dx; in %dx,%eax; mov %eax,%ebx     PM timer
 *	mov $20000,%ecx; 5: loop 5b
 *	in %dx,%eax; cmp %ebx,%eax; mov $7,%eax; jne 6f; mov $8,%eax
 * 6:	mov $0x501,%dx; out %eax,%dx                   debug-exit 7 (timer moved) or 8
 * 7:	hlt; jmp 7b
 */
static const uint8_t guest_s1_timer[] = {
	0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x24, 0x66, 0xef,
	0x66, 0xba, 0x08, 0x06, 0xed, 0x89, 0xc3,
	0xb9, 0x20, 0x4e, 0x00, 0x00, 0xe2, 0xfe,
	0xed, 0x39, 0xd8, 0xb8, 0x07, 0x00, 0x00, 0x00, 0x75, 0x05, 0xb8, 0x08, 0x00, 0x00, 0x00,
	0x66, 0xba, 0x01, 0x05, 0xef,
	0xf4, 0xeb, 0xfd,
};

/*
 * The SCI delivered for real, through KVM's IOAPIC as the MADT describes it
 * (ISA IRQ 9 -> GSI 9, level, active high).  The host writes an IDT at 0x3000
 * whose vector 0x29 is the handler, and its IDTR image at 0x2ff0.
 *	mov $0x80000,%esp                                 a stack for the interrupt
 *	lidt 0x2ff0
 *	mov $0xff,%al; out %al,$0x21; out %al,$0xa1      mask both 8259s
 *	mov $0xfee000f0,%ebx; movl $0x1ff,(%rbx)         LAPIC on (SVR)
 *	mov $0xfec00000,%ebx; movl $0x22,(%rbx)          IOAPIC entry 9 low:
 *	movl $0x8029,0x10(%rbx)                            vector 0x29, level
 *	movl $0x23,(%rbx); movl $0,0x10(%rbx)            high: APIC 0
 *	mov $0x602,%dx; mov $0x100,%ax; out %ax,%dx      PWRBTN_EN
 *	sti; 1: hlt; jmp 1b
 * handler (offset 0x4b):
 *	mov $0x600,%dx; mov $0x100,%ax; out %ax,%dx      clear PWRBTN_STS
 *	mov $0xfee000b0,%ebx; movl $0,(%rbx)             EOI
 *	mov $0x604,%dx; mov $0x3400,%ax; out %ax,%dx     S5
 *	2: hlt; jmp 2b
 */
static const uint8_t guest_sci[] = {
	0xbc, 0x00, 0x00, 0x08, 0x00,
	0x0f, 0x01, 0x1c, 0x25, 0xf0, 0x2f, 0x00, 0x00,
	0xb0, 0xff, 0xe6, 0x21, 0xe6, 0xa1,
	0xbb, 0xf0, 0x00, 0xe0, 0xfe, 0xc7, 0x03, 0xff, 0x01, 0x00, 0x00,
	0xbb, 0x00, 0x00, 0xc0, 0xfe, 0xc7, 0x03, 0x22, 0x00, 0x00, 0x00,
	0xc7, 0x43, 0x10, 0x29, 0x80, 0x00, 0x00,
	0xc7, 0x03, 0x23, 0x00, 0x00, 0x00, 0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00,
	0x66, 0xba, 0x02, 0x06, 0x66, 0xb8, 0x00, 0x01, 0x66, 0xef,
	0xfb, 0xf4, 0xeb, 0xfd,
	0x66, 0xba, 0x00, 0x06, 0x66, 0xb8, 0x00, 0x01, 0x66, 0xef,
	0xbb, 0xb0, 0x00, 0xe0, 0xfe, 0xc7, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x66, 0xba, 0x04, 0x06, 0x66, 0xb8, 0x00, 0x34, 0x66, 0xef,
	0xf4, 0xeb, 0xfd,
};
#define GUEST_SCI_HANDLER 0x4b
#define IDT_ADDR  0x3000
#define IDTR_ADDR 0x2ff0
#define SCI_VECTOR 0x29

struct run {
	int status;
	int reason;
	struct acpi_pm_counters pm;
	bool rsdp_ok;
};

/*
 * Presses the power button once the guest has enabled it (or after 5 s),
 * then gives the guest 10 s to power off before stopping the VM with 99.
 */
static void *press_power_button(void *arg)
{
	struct vm *vm = arg;
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	struct acpi_pm_counters pm;

	for (int i = 0; i < 5000; i++) {
		if (acpi_pm__counters(vm, &pm) == 0 && (pm.pm1_en & ACPI_PM1_PWRBTN))
			break;
		nanosleep(&ms, NULL);
	}
	acpi_pm__power_button(vm);
	for (int i = 0; i < 10000 && !vm__stopping(vm); i++)
		nanosleep(&ms, NULL);
	vm__stop(vm, VM_STOP_ERROR, 99);
	return NULL;
}

/* A 64-bit interrupt gate at vector for handler, and the IDTR image, in guest RAM. */
static void write_idt(struct vm *vm, unsigned vector, uint64_t handler)
{
	uint8_t gate[16] = { 0 }, idtr[10];
	uint16_t limit = 256 * 16 - 1;
	uint64_t base = IDT_ADDR;

	gate[0] = (uint8_t)handler;
	gate[1] = (uint8_t)(handler >> 8);
	gate[2] = 0x10; /* BOOT_CS */
	gate[5] = 0x8e; /* present, DPL 0, interrupt gate */
	gate[6] = (uint8_t)(handler >> 16);
	gate[7] = (uint8_t)(handler >> 24);
	memcpy(vm__gpa_ptr(vm, IDT_ADDR + vector * 16, sizeof(gate)), gate, sizeof(gate));
	memcpy(idtr, &limit, 2);
	memcpy(idtr + 2, &base, 8);
	memcpy(vm__gpa_ptr(vm, IDTR_ADDR, sizeof(idtr)), idtr, sizeof(idtr));
}

static void run_code(const uint8_t *code, size_t len, bool press, struct run *out)
{
	struct vm_config cfg = {
		.cpus_boot = 1, .memory_size = 16 << 20, .serial = SERIAL_NULL,
		.log_level = LOG_WARN, .host_quirks = true,
	};
	struct kvm_host host;
	struct vm *vm;
	pthread_t t;
	const struct acpi_rsdp *rsdp;

	assert_int_equal(kvm_host__open(&host), 0);
	vm = vm__create(&host, &cfg, NULL);
	assert_non_null(vm);
	rsdp = vm__gpa_ptr(vm, ACPI_RSDP_ADDR, sizeof(*rsdp));
	out->rsdp_ok = rsdp && memcmp(rsdp->signature, "RSD PTR ", 8) == 0 &&
		       acpi__checksum(rsdp, sizeof(*rsdp)) == 0;
	assert_int_equal(longmode__write_tables(&vm->map, vm->ram), 0);
	memcpy(vm__gpa_ptr(vm, CODE_ADDR, len), code, len);
	if (code == guest_sci)
		write_idt(vm, SCI_VECTOR, CODE_ADDR + GUEST_SCI_HANDLER);
	vm->entry.rip = CODE_ADDR;
	if (press)
		assert_int_equal(pthread_create(&t, NULL, press_power_button, vm), 0);
	out->status = vm__run(vm);
	out->reason = atomic_load(&vm->stop_reason);
	if (press)
		pthread_join(t, NULL);
	assert_int_equal(acpi_pm__counters(vm, &out->pm), 0);
	vm__destroy(vm);
	kvm_host__close(&host);
}

static void test_s5_powers_off(void **state)
{
	struct run r;

	(void)state;
	run_code(guest_s5, sizeof(guest_s5), false, &r);
	assert_true(r.rsdp_ok);
	assert_int_equal(r.reason, VM_STOP_POWEROFF);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.pm.pm1_cnt & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
}

static void test_power_button(void **state)
{
	struct run r;

	(void)state;
	run_code(guest_pwrbtn, sizeof(guest_pwrbtn), true, &r);
	assert_int_equal(r.reason, VM_STOP_POWEROFF);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.pm.power_button_presses, 1);
	assert_int_equal(r.pm.sci_raised, 1);        /* PWRBTN_EN was set */
	assert_false(r.pm.sci_level);                /* the guest cleared PWRBTN_STS */
	assert_int_equal(r.pm.pm1_sts & ACPI_PM1_PWRBTN, 0);
	assert_int_equal(r.pm.pm1_en, ACPI_PM1_PWRBTN);
}

static void test_sci_interrupt(void **state)
{
	struct run r;

	(void)state;
	run_code(guest_sci, sizeof(guest_sci), true, &r);
	/* Only the interrupt handler writes S5: powering off proves the SCI arrived. */
	assert_int_equal(r.reason, VM_STOP_POWEROFF);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.pm.sci_raised, 1);
	assert_false(r.pm.sci_level);
}

static void test_s1_refused_timer_runs(void **state)
{
	struct run r;

	(void)state;
	run_code(guest_s1_timer, sizeof(guest_s1_timer), false, &r);
	assert_int_equal(r.reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 7);
	assert_int_equal(r.pm.timer_reads, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s5_powers_off),
		cmocka_unit_test(test_power_button),
		cmocka_unit_test(test_sci_interrupt),
		cmocka_unit_test(test_s1_refused_timer_runs),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
