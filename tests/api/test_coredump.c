/*
 * vm.coredump's writer on KVM: a tiny guest puts known values in registers
 * and memory and stops; the core written from the stopped VM is then opened
 * with libvmscope's offline reader (lib/offline_core.c), which must find the
 * same vCPUs, registers and bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "acpi/acpi.h"
#include "api/coredump.h"
#include "boot/longmode.h"
#include "kvm_host.h"
#include "kvm_required.h"
#include "log.h"
#include "vm.h"
#include "vm_lifecycle.h"
#include "vmscope/vmscope.h"

#define CODE_ADDR  0x100000
#define MAGIC_ADDR 0x200000
#define MAGIC      0x1122334455667788ULL

/*
 *	movabs $MAGIC,%r12; mov $0xcafef00d,%r13d
 *	mov $0x200000,%ecx; mov %r12,(%rcx)
 *	mov $0x501,%dx; xor %eax,%eax; out %eax,%dx   debug-exit 0
 * 1:	hlt; jmp 1b
 */
static const uint8_t guest[] = {
	0x49, 0xbc, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	0x41, 0xbd, 0x0d, 0xf0, 0xfe, 0xca,
	0xb9, 0x00, 0x00, 0x20, 0x00, 0x4c, 0x89, 0x21,
	0x66, 0xba, 0x01, 0x05, 0x31, 0xc0, 0xef,
	0xf4, 0xeb, 0xfd,
};

static void dump_and_check(unsigned cpus, uint64_t mem)
{
	struct vm_config cfg = {
		.cpus_boot = cpus, .memory_size = mem, .serial = SERIAL_NULL,
		.log_level = LOG_WARN, .host_quirks = true, .api_socket_fd = -1,
	};
	char path[] = "/tmp/vmscope-core-XXXXXX", err[256];
	struct vmscope_regs regs;
	struct kvm_host host;
	struct stat st;
	struct vm *vm;
	vmscope_t *core;
	uint64_t magic = 0;
	char rsdp[8];
	int fd, e = 0;

	assert_int_equal(kvm_host__open(&host), 0);
	vm = vm__create(&host, &cfg, NULL);
	assert_non_null(vm);
	assert_int_equal(longmode__write_tables(&vm->map, vm->ram), 0);
	memcpy(vm__gpa_ptr(vm, CODE_ADDR, sizeof(guest)), guest, sizeof(guest));
	vm->entry.rip = CODE_ADDR;
	assert_int_equal(vm__run(vm), 0);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(coredump__write(vm, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	core = vmscope_open_core(path, &e);
	if (!core)
		fail_msg("vmscope_open_core: %s", vmscope_strerror(e));
	assert_int_equal(vmscope_vcpu_count(core), cpus);
	assert_int_equal(vmscope_ram_size(core), mem);
	assert_int_equal(vmscope_get_regs(core, 0, &regs), 0);
	assert_int_equal(regs.r12, MAGIC);
	assert_int_equal(regs.r13, 0xcafef00d);
	assert_int_equal(regs.rip, CODE_ADDR + 0x1f); /* after the out, at the hlt */
	assert_true(regs.cr0 & (1ULL << 31));         /* paging */
	assert_int_not_equal(regs.cr3, 0);
	assert_true(regs.cs.flags & (1u << 2));       /* 64-bit code segment */
	assert_int_equal(regs.efer & 0x500, 0x500);   /* LME|LMA, inferred by the reader */
	for (unsigned i = 1; i < cpus; i++)
		assert_int_equal(vmscope_get_regs(core, i, &regs), 0);
	assert_int_equal(vmscope_read_pa(core, MAGIC_ADDR, &magic, sizeof(magic)), sizeof(magic));
	assert_int_equal(magic, MAGIC);
	assert_int_equal(vmscope_read_pa(core, ACPI_RSDP_ADDR, rsdp, sizeof(rsdp)), sizeof(rsdp));
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	/* Guest RAM above the 32-bit hole is its own PT_LOAD at 4 GiB. */
	if (mem > 0xc0000000ULL)
		assert_int_equal(vmscope_read_pa(core, 0x100000000ULL, &magic, 8), 8);
	vmscope_close(core);
	unlink(path);

	/* A path that cannot be created is an error with a reason, not a crash. */
	assert_true(coredump__write(vm, "/nonexistent-dir/core", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent-dir/core"));
	vm__destroy(vm);
	kvm_host__close(&host);
}

static void test_core_one_vcpu(void **state)
{
	(void)state;
	dump_and_check(1, 16ULL << 20);
}

static void test_core_two_vcpus(void **state)
{
	(void)state;
	dump_and_check(2, 32ULL << 20);
}

static void test_core_above_4g(void **state)
{
	(void)state;
	/* 3 GiB + 64 MiB: two RAM regions; the file is sparse (zero blocks are holes). */
	dump_and_check(1, (3ULL << 30) + (64ULL << 20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_one_vcpu),
		cmocka_unit_test(test_core_two_vcpus),
		cmocka_unit_test(test_core_above_4g),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
