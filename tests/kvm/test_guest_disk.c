/*
 * The embedded test guest finds a virtio-blk device on PCI bus 0, drives it
 * (polled, one queue of 4): writes sector 1 with its pattern, reads sector
 * 0, and reports both through TG_SYNC_DISK; its tasks still run as usual.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "guest_run.h"
#include "kvm_required.h"
#include "vm.h"
#include "work.h"

#define IMAGE_SIZE (64 * 1024)

static void check_disk_run(unsigned cpus)
{
	char path[] = "/tmp/vmscope-guest-disk-XXXXXX";
	static uint8_t image[IMAGE_SIZE];
	uint64_t sector0[64], sector1[64];
	struct guest_run r;
	const struct tg_ucall *uc;
	unsigned from = 0, nr_tasks = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)(i * 7 + 3);
	memcpy(sector0, image, 512);
	assert_int_equal(write(fd, image, sizeof(image)), (ssize_t)sizeof(image));

	assert_int_equal(guest_run_with_disk(cpus, 64, path, &r), 0);

	assert_int_equal(pread(fd, sector1, 512, 512), 512);
	close(fd);
	unlink(path);

	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 0);
	assert_null(guest_run__find(&r, TG_UCALL_FAIL, &from));

	from = 0;
	uc = guest_run__find(&r, TG_UCALL_SYNC, &from);
	assert_non_null(uc);
	assert_int_equal(uc->args[0], TG_SYNC_DISK);
	assert_int_equal(uc->args[1], sector0[0]);
	assert_int_equal(uc->args[2], 0); /* VIRTIO_BLK_S_OK of the write */
	assert_int_equal(uc->args[3], 0); /* and of the read */
	assert_int_equal(uc->args[4], tg_disk_hash(sector0));
	assert_null(guest_run__find(&r, TG_UCALL_SYNC, &from)); /* exactly once */

	for (int i = 0; i < 64; i++)
		assert_int_equal(sector1[i], TG_DISK_PATTERN + (uint64_t)i);

	from = 0;
	while ((uc = guest_run__find(&r, TG_UCALL_TASK_DONE, &from))) {
		assert_int_equal(uc->args[1], tg_work((uint32_t)uc->args[0]));
		nr_tasks++;
	}
	assert_int_equal(nr_tasks, 4);
	from = 0;
	uc = guest_run__find(&r, TG_UCALL_DONE, &from);
	assert_non_null(uc);
	assert_int_equal(uc->args[0], nr_tasks);
}

static void test_disk_one_cpu(void **state)
{
	(void)state;
	check_disk_run(1);
}

static void test_disk_two_cpus(void **state)
{
	(void)state;
	check_disk_run(2);
}

/* Without a disk the guest makes no SYNC report at all. */
static void test_no_disk(void **state)
{
	struct guest_run r;
	unsigned from = 0;

	(void)state;
	assert_int_equal(guest_run_with_disk(1, 64, NULL, &r), 0);
	assert_int_equal(r.status, 0);
	assert_null(guest_run__find(&r, TG_UCALL_SYNC, &from));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_one_cpu),
		cmocka_unit_test(test_disk_two_cpus),
		cmocka_unit_test(test_no_disk),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
