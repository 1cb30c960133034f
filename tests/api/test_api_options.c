/* --api-socket as Cloud Hypervisor spells it: path=, a bare path, or fd=. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "options.h"

static char err[512];

static enum options_result parse(struct vm_config *cfg, const char *a, const char *b)
{
	char *argv[] = { "vmscope", (char *)a, (char *)b, NULL };

	return options__parse(b ? 3 : 2, argv, cfg, err, sizeof(err));
}

static void test_api_socket_forms(void **state)
{
	struct vm_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, "--kernel", "x"), OPTIONS_OK);
	assert_string_equal(cfg.api_socket_path, "");
	assert_int_equal(cfg.api_socket_fd, -1);

	assert_int_equal(parse(&cfg, "--api-socket", "path=/tmp/a.sock"), OPTIONS_OK);
	assert_string_equal(cfg.api_socket_path, "/tmp/a.sock");
	assert_int_equal(cfg.api_socket_fd, -1);

	assert_int_equal(parse(&cfg, "--api-socket=/run/vm.sock", NULL), OPTIONS_OK);
	assert_string_equal(cfg.api_socket_path, "/run/vm.sock");

	assert_int_equal(parse(&cfg, "--api-socket", "fd=3"), OPTIONS_OK);
	assert_string_equal(cfg.api_socket_path, "");
	assert_int_equal(cfg.api_socket_fd, 3);
}

static void test_api_socket_errors(void **state)
{
	static const struct { const char *val, *msg; } bad[] = {
		{ "fd=x", "invalid fd" },
		{ "fd=-1", "invalid fd" },
		{ "fd=99999999999", "invalid fd" },
		{ "fd=0", "not a socket" },
		{ "fd=2", "not a socket" },
		{ "port=80", "unknown key 'port'" },
		{ "path=", "empty" },
		{ "path", "needs a value" },
		{ "path=/a,fd=3", "not both" },
		{ "path=/0123456789012345678901234567890123456789012345678901234567890123456789"
		  "01234567890123456789012345678901234567890123456789", "longer than a unix socket" },
	};
	struct vm_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&cfg, "--api-socket", bad[i].val), OPTIONS_ERROR);
		if (!strstr(err, bad[i].msg) || strncmp(err, "--api-socket: ", 14) != 0)
			fail_msg("'%s': got '%s', want '%s'", bad[i].val, err, bad[i].msg);
	}
	assert_int_equal(parse(&cfg, "--api-socket", NULL), OPTIONS_ERROR);
	assert_non_null(strstr(err, "missing value"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_socket_forms),
		cmocka_unit_test(test_api_socket_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
