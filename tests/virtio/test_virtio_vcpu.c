/*
 * A vCPU notifies virtio-blk the way a guest driver does: a few hand-assembled
 * 64-bit instructions at CPL0 write the notify registers through the identity
 * map of the 32-bit hole.  A 16-bit write is what KVM_IOEVENTFD matches, so it
 * never leaves the kernel; a 32-bit write is not, so it arrives as an MMIO exit
 * through the trap table.  Both must get the request done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/longmode.h"
#include "kvm_required.h"
#include "log.h"
#include "vdrv.h"
#include "vmscope/testguest.h"

#define CODE 0x300000ULL

static void make_image(const char *path, uint8_t fill)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	uint8_t buf[4096];

	assert_true(fd >= 0);
	memset(buf, fill, sizeof(buf));
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
}

static size_t put(uint8_t *p, size_t n, const void *bytes, size_t len)
{
	memcpy(p + n, bytes, len);
	return n + len;
}

/*
 * Writes a one-sector read of sector 0 into d's ring without publishing it:
 * the guest code sets avail->idx itself and then notifies, as a driver does
 * (publishing it from here would race with the device's worker).
 */
static void queue_read(struct vdrv *d, uint64_t base)
{
	uint32_t hdr[4] = { 0, 0, 0, 0 };
	struct virtq_desc *desc = vdrv__desc(d, 0);
	struct virtq_avail *avail = vdrv__ptr(d, d->q[0].avail, 6 + 2ULL * d->q[0].size);

	memcpy(vdrv__ptr(d, base, 16), hdr, 16);
	*(uint8_t *)vdrv__ptr(d, base + 1024, 1) = 0xee;
	desc[0] = (struct virtq_desc){ base, 16, VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ base + 512, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	desc[2] = (struct virtq_desc){ base + 1024, 1, VIRTQ_DESC_F_WRITE, 0 };
	avail->ring[0] = 0;
	d->q[0].avail_idx = 1;
}

/* Guest code: avail->idx = 1 for d's queue 0. */
static size_t publish(uint8_t *code, size_t n, const struct vdrv *d)
{
	uint64_t idx_addr = d->q[0].avail + 2;

	n = put(code, n, "\x48\xb8", 2);                        /* mov rax, imm64 */
	n = put(code, n, &idx_addr, 8);
	return put(code, n, "\x66\xc7\x00\x01\x00", 5);       /* mov word [rax], 1 */
}


static void test_vcpu_notify(void **state)
{
	char path[2][64];
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d[2];
	uint8_t *code;
	size_t n = 0;
	uint32_t id, len;
	bool kvm_matches;

	(void)state;
	vdrv__default_config(&cfg);
	for (unsigned i = 0; i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "/tmp/vmscope-vcpu-%d-%u.img", getpid(), i);
		make_image(path[i], (uint8_t)(0x10 + i));
		snprintf(cfg.disks[i].path, sizeof(cfg.disks[i].path), "%s", path[i]);
	}
	cfg.nr_disks = 2;
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(vdrv__open(&d[i], v.vm, 0x1042, i), 0);
		assert_int_equal(vdrv__init(&d[i], ~0ULL, 1, 64), 0);
	}
	queue_read(&d[1], VDRV_DATA_BASE + 0x10000);
	queue_read(&d[0], VDRV_DATA_BASE);
	kvm_matches = d[0].dev->vq[0].ioeventfd_addr == d[0].notify;

	/* The guest: notify disk 0 with a 16-bit write, disk 1 with a 32-bit one, exit. */
	assert_int_equal(longmode__write_tables(&v.vm->map, v.vm->ram), 0);
	code = vdrv__ptr(&d[0], CODE, 4096);
	n = publish(code, n, &d[0]);
	n = publish(code, n, &d[1]);
	n = put(code, n, "\x48\xb8", 2);                        /* mov rax, imm64 */
	n = put(code, n, &d[0].notify, 8);
	n = put(code, n, "\x66\xc7\x00\x00\x00", 5);            /* mov word [rax], 0 */
	n = put(code, n, "\x48\xb8", 2);
	n = put(code, n, &d[1].notify, 8);
	n = put(code, n, "\xc7\x00\x00\x00\x00\x00", 6);        /* mov dword [rax], 0 */
	n = put(code, n, "\x66\xba\x01\x05\x31\xc0\xef", 7);    /* mov dx, 0x501; xor eax, eax; out dx, eax */
	n = put(code, n, "\xf4\xeb\xfd", 3);                    /* hlt; jmp hlt */
	v.vm->entry = (struct boot_entry){ .rip = CODE };

	assert_int_equal(vm__run(v.vm), 0); /* the guest wrote 0 to the debug-exit port */

	assert_int_equal(vdrv__wait_used(&d[0], 0, 5000, &id, &len), 0);
	assert_int_equal(len, 513);
	assert_int_equal(*(uint8_t *)vdrv__ptr(&d[0], VDRV_DATA_BASE + 1024, 1), 0);
	assert_int_equal(*(uint8_t *)vdrv__ptr(&d[0], VDRV_DATA_BASE + 512, 1), 0x10);
	assert_int_equal(vdrv__wait_used(&d[1], 0, 5000, &id, &len), 0);
	assert_int_equal(*(uint8_t *)vdrv__ptr(&d[1], VDRV_DATA_BASE + 0x10000 + 1024, 1), 0);
	assert_int_equal(*(uint8_t *)vdrv__ptr(&d[1], VDRV_DATA_BASE + 0x10000 + 512, 1), 0x11);

	/* The 32-bit write came as an exit; the 16-bit one did not, when KVM matched it. */
	assert_int_equal(atomic_load(&d[1].dev->notify_exits), 1);
	if (kvm_matches)
		assert_int_equal(atomic_load(&d[0].dev->notify_exits), 0);
	else
		print_message("KVM_IOEVENTFD not available: both notifications were MMIO exits\n");
	vdrv__vm_destroy(&v);
	unlink(path[0]);
	unlink(path[1]);
}

/*
 * The used-buffer interrupt reaches the guest: MSI-X vector 1 (programmed by
 * vdrv__init as LAPIC vector 0x41) goes out through its irqfd and KVM's MSI
 * route; the guest's handler for 0x41 writes 42 to the debug-exit port.
 */
static void test_vcpu_msix_interrupt(void **state)
{
	char path[64];
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	uint8_t *code, *idt, *idtr;
	uint64_t handler = CODE + 0x100, idt_base = CODE + 0x10000, idtr_addr = CODE + 0x11000;
	uint64_t lapic_svr = 0xfee000f0ULL, stack = CODE + 0x20000;
	size_t n = 0;

	(void)state;
	vdrv__default_config(&cfg);
	snprintf(path, sizeof(path), "/tmp/vmscope-vcpu-irq-%d.img", getpid());
	make_image(path, 0x33);
	snprintf(cfg.disks[0].path, sizeof(cfg.disks[0].path), "%s", path);
	cfg.nr_disks = 1;
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	assert_int_equal(vdrv__open(&d, v.vm, 0x1042, 0), 0);
	assert_int_equal(vdrv__init(&d, ~0ULL, 1, 64), 0);
	queue_read(&d, VDRV_DATA_BASE);
	assert_int_equal(longmode__write_tables(&v.vm->map, v.vm->ram), 0);

	/* IDT entry 0x41: a present 64-bit interrupt gate to the handler, in BOOT_CS (0x10). */
	idt = vdrv__ptr(&d, idt_base, 4096);
	memset(idt, 0, 4096);
	idt[0x41 * 16 + 0] = (uint8_t)handler;
	idt[0x41 * 16 + 1] = (uint8_t)(handler >> 8);
	idt[0x41 * 16 + 2] = 0x10;
	idt[0x41 * 16 + 5] = 0x8e;
	idt[0x41 * 16 + 6] = (uint8_t)(handler >> 16);
	idt[0x41 * 16 + 7] = (uint8_t)(handler >> 24);
	idtr = vdrv__ptr(&d, idtr_addr, 10);
	idtr[0] = 0xff;
	idtr[1] = 0x0f;
	memcpy(idtr + 2, &idt_base, 8);

	code = vdrv__ptr(&d, CODE, 4096);
	n = put(code, n, "\x48\xbc", 2);                        /* mov rsp, imm64 */
	n = put(code, n, &stack, 8);
	n = put(code, n, "\x48\xb8", 2);                        /* mov rax, imm64; lidt [rax] */
	n = put(code, n, &idtr_addr, 8);
	n = put(code, n, "\x0f\x01\x18", 3);
	n = put(code, n, "\x48\xb8", 2);                        /* LAPIC SVR = 0x1ff: enabled */
	n = put(code, n, &lapic_svr, 8);
	n = put(code, n, "\xc7\x00\xff\x01\x00\x00", 6);
	n = put(code, n, "\xfb", 1);                            /* sti */
	n = publish(code, n, &d);
	n = put(code, n, "\x48\xb8", 2);                        /* notify queue 0 */
	n = put(code, n, &d.notify, 8);
	n = put(code, n, "\x66\xc7\x00\x00\x00", 5);
	n = put(code, n, "\xf4\xeb\xfd", 3);                    /* hlt; jmp hlt */
	memcpy(code + 0x100, "\x66\xba\x01\x05\xb8\x2a\x00\x00\x00\xef\xf4\xeb\xfd", 13);
	v.vm->entry = (struct boot_entry){ .rip = CODE };

	assert_int_equal(vm__run(v.vm), 42);
	assert_true(atomic_load(&d.dev->irq_count[1]) >= 1);
	vdrv__vm_destroy(&v);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_notify),
		cmocka_unit_test(test_vcpu_msix_interrupt),
	};

	kvm_required();
	log_threshold = LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
