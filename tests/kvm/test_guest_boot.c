/*
 * The embedded test guest boots on KVM, runs its tasks in user mode on one
 * and on two vCPUs, and reports results that match the same work done here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "guest_run.h"
#include "kvm_required.h"
#include "vm.h"
#include "work.h"

static void check_run(unsigned cpus)
{
	struct guest_run r;
	const struct tg_ucall *uc;
	unsigned from = 0, nr_tasks = 0, boots = 0;
	uint64_t seen_ids = 0;

	assert_int_equal(guest_run(cpus, 64, &r), 0);
	assert_int_equal(r.stop_reason, VM_STOP_GUEST_EXIT);
	assert_int_equal(r.status, 0);

	while ((uc = guest_run__find(&r, TG_UCALL_BOOT, &from)))
		boots |= 1u << uc->args[0];
	assert_int_equal(boots, (1u << cpus) - 1);

	from = 0;
	uc = guest_run__find(&r, TG_UCALL_CPUS, &from);
	assert_non_null(uc);
	assert_int_equal(uc->args[0], cpus);

	from = 0;
	while ((uc = guest_run__find(&r, TG_UCALL_TASK_DONE, &from))) {
		uint32_t id = (uint32_t)uc->args[0];

		assert_true(id >= 1 && id <= TG_MAX_TASKS);
		assert_false(seen_ids & (1ull << id));
		seen_ids |= 1ull << id;
		/* The guest did its work in user mode; the host does the same work natively. */
		assert_int_equal(uc->args[1], tg_work(id));
		assert_true(uc->args[2] >= 2); /* at least a write and an exit */
		nr_tasks++;
	}
	assert_true(nr_tasks >= 3);

	from = 0;
	uc = guest_run__find(&r, TG_UCALL_DONE, &from);
	assert_non_null(uc);
	assert_int_equal(uc->args[0], nr_tasks);

	from = 0;
	assert_null(guest_run__find(&r, TG_UCALL_FAIL, &from));
}

static void test_one_cpu(void **state)
{
	(void)state;
	check_run(1);
}

static void test_two_cpus(void **state)
{
	(void)state;
	check_run(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_two_cpus),
	};

	kvm_required();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
