/*
 * core_check CORE VMI_SOCKET: opens CORE with libvmscope's offline reader
 * and the paused VM with a live attach, and compares them: vCPU count, RAM
 * size, every vCPU's registers, and every byte of RAM.  Prints one line
 * "core_check: vcpus=N ram=BYTES rip0=0x..." and exits 0 when they match.
 * Detaching the live client resumes what a client paused (src/vmi/detach.c),
 * not a vm.pause of the REST API.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/vmscope.h"

#define CHUNK (1u << 20)

static int fail(const char *what, vmscope_t *vm, int e)
{
	fprintf(stderr, "core_check: %s: %s\n", what,
		vm && vmscope_last_error(vm)[0] ? vmscope_last_error(vm) : vmscope_strerror(e));
	return 1;
}

#define SAME(field)                                                                   \
	do {                                                                          \
		if (c.field != l.field) {                                              \
			fprintf(stderr, "core_check: vCPU %u: " #field " core 0x%" PRIx64  \
				" live 0x%" PRIx64 "\n", i, (uint64_t)c.field,               \
				(uint64_t)l.field);                                           \
			return 1;                                                     \
		}                                                                     \
	} while (0)

int main(int argc, char **argv)
{
	vmscope_t *core, *live;
	uint8_t *a, *b;
	uint64_t ram;
	unsigned n;
	int e = 0;
	struct vmscope_regs rip0 = { 0 };

	if (argc != 3) {
		fprintf(stderr, "usage: core_check CORE VMI_SOCKET\n");
		return 2;
	}
	core = vmscope_open_core(argv[1], &e);
	if (!core)
		return fail("open core", NULL, e);
	live = vmscope_attach(argv[2], &e);
	if (!live)
		return fail("attach", NULL, e);
	n = vmscope_vcpu_count(core);
	if (n != vmscope_vcpu_count(live)) {
		fprintf(stderr, "core_check: %u vCPUs in the core, %u live\n", n,
			vmscope_vcpu_count(live));
		return 1;
	}
	ram = vmscope_ram_size(live);
	if (vmscope_ram_size(core) != ram) {
		fprintf(stderr, "core_check: RAM %" PRIu64 " in the core, %" PRIu64 " live\n",
			vmscope_ram_size(core), ram);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct vmscope_regs c, l;

		if ((e = vmscope_get_regs(core, i, &c)) < 0)
			return fail("core registers", core, e);
		if ((e = vmscope_get_regs(live, i, &l)) < 0)
			return fail("live registers", live, e);
		SAME(rax); SAME(rbx); SAME(rcx); SAME(rdx); SAME(rsi); SAME(rdi);
		SAME(rsp); SAME(rbp); SAME(r8); SAME(r15); SAME(rip); SAME(rflags);
		SAME(cr0); SAME(cr3); SAME(cr4);
		SAME(cs.selector); SAME(cs.base); SAME(ss.selector); SAME(gs.base);
		SAME(gdt_base); SAME(idt_base);
		if (i == 0)
			rip0 = c;
	}
	/* RAM: the core's regions are in guest-physical terms, as are the live reads. */
	a = malloc(CHUNK);
	b = malloc(CHUNK);
	if (!a || !b)
		return 1;
	for (uint64_t gpa = 0; gpa < 0xc0000000ULL && gpa < ram; gpa += CHUNK) {
		int64_t ra = vmscope_read_pa(core, gpa, a, CHUNK);
		int64_t rb = vmscope_read_pa(live, gpa, b, CHUNK);

		if (ra != rb || ra <= 0 || memcmp(a, b, (size_t)ra) != 0) {
			fprintf(stderr, "core_check: RAM differs in [0x%" PRIx64 ", +1M)\n", gpa);
			return 1;
		}
	}
	printf("core_check: vcpus=%u ram=%" PRIu64 " rip0=0x%" PRIx64 " cr3=0x%" PRIx64 "\n", n,
	       ram, rip0.rip, rip0.cr3);
	vmscope_close(live);
	vmscope_close(core);
	free(a);
	free(b);
	return 0;
}
