/*
 * vm.create's VmConfig JSON (src/api/vmconfig.c) against the command line:
 * the same configuration written both ways gives the same struct vm_config,
 * and a value one refuses the other refuses for the same reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "api/vmconfig.h"
#include "config.h"
#include "options.h"

static char err[512];

static struct vm_spec *json(const char *text)
{
	return vmconfig__parse(text, strlen(text), err, sizeof(err));
}

/* The fields of vm_config that both ways fill (pointers compared as strings). */
static void assert_same(const struct vm_config *a, const struct vm_config *b)
{
	assert_string_equal(a->kernel ? a->kernel : "", b->kernel ? b->kernel : "");
	assert_string_equal(a->initramfs ? a->initramfs : "", b->initramfs ? b->initramfs : "");
	assert_string_equal(a->cmdline ? a->cmdline : "", b->cmdline ? b->cmdline : "");
	assert_int_equal(a->cpus_boot, b->cpus_boot);
	assert_int_equal(a->memory_size, b->memory_size);
	assert_int_equal(a->serial, b->serial);
	assert_string_equal(a->serial_path ? a->serial_path : "", b->serial_path ? b->serial_path : "");
	assert_int_equal(a->console, b->console);
	assert_string_equal(a->console_path, b->console_path);
	assert_int_equal(a->nr_disks, b->nr_disks);
	for (unsigned i = 0; i < a->nr_disks; i++) {
		assert_string_equal(a->disks[i].path, b->disks[i].path);
		assert_int_equal(a->disks[i].readonly, b->disks[i].readonly);
	}
	assert_int_equal(a->nr_nets, b->nr_nets);
	for (unsigned i = 0; i < a->nr_nets; i++)
		assert_memory_equal(&a->nets[i], &b->nets[i], sizeof(a->nets[i]));
	assert_int_equal(a->rng, b->rng);
	assert_string_equal(a->rng_src, b->rng_src);
	assert_int_equal(a->no_irqchip, b->no_irqchip);
	assert_int_equal(a->host_quirks, b->host_quirks);
	assert_string_equal(a->vmi_socket ? a->vmi_socket : "", b->vmi_socket ? b->vmi_socket : "");
	assert_int_equal(a->vmi_wait, b->vmi_wait);
	assert_int_equal(a->vmi_timeout_ms, b->vmi_timeout_ms);
	assert_string_equal(a->gdb_path, b->gdb_path);
	assert_int_equal(a->gdb_tcp_addr, b->gdb_tcp_addr);
	assert_int_equal(a->gdb_tcp_port, b->gdb_tcp_port);
	assert_int_equal(a->gdb_wait, b->gdb_wait);
	assert_int_equal(a->gdb_allow_remote, b->gdb_allow_remote);
}

static void test_same_as_command_line(void **state)
{
	char *argv[] = {
		"vmscope", "--kernel", "/k", "--initramfs", "/i", "--cmdline", "console=hvc0 x=1,2",
		"--cpus", "boot=3,max=4", "--memory", "size=256M",
		"--disk", "path=\"/d,1.img\",readonly=on", "--disk", "path=/e.img",
		"--net", "tap=tap7,mac=12:34:56:78:9a:bc,ip=10.0.0.1,mask=255.0.0.0",
		"--rng", "src=/dev/random", "--serial", "file=/tmp/serial", "--console", "null",
		"--vmi-socket", "/tmp/vmi", "--vmi-wait", "--vmi-timeout", "250",
		"--gdb", "tcp=127.0.0.1:1234,wait=off", "--no-host-quirks", NULL,
	};
	struct vm_config cli;
	struct vm_spec *spec;

	(void)state;
	assert_int_equal(options__parse(sizeof(argv) / sizeof(argv[0]) - 1, argv, &cli, err,
					sizeof(err)), OPTIONS_OK);
	spec = json("{\"payload\": {\"kernel\": \"/k\", \"initramfs\": \"/i\","
		    " \"cmdline\": \"console=hvc0 x=1,2\"},"
		    " \"cpus\": {\"boot_vcpus\": 3, \"max_vcpus\": 4},"
		    " \"memory\": {\"size\": 268435456},"
		    " \"disks\": [{\"path\": \"/d,1.img\", \"readonly\": true}, {\"path\": \"/e.img\"}],"
		    " \"net\": [{\"tap\": \"tap7\", \"mac\": \"12:34:56:78:9a:bc\","
		    " \"ip\": \"10.0.0.1\", \"mask\": \"255.0.0.0\"}],"
		    " \"rng\": {\"src\": \"/dev/random\"},"
		    " \"serial\": {\"mode\": \"File\", \"file\": \"/tmp/serial\"},"
		    " \"console\": {\"mode\": \"Null\"},"
		    " \"vmscope\": {\"vmi_socket\": \"/tmp/vmi\", \"vmi_wait\": true,"
		    " \"vmi_timeout_ms\": 250, \"host_quirks\": false,"
		    " \"gdb\": {\"tcp\": \"127.0.0.1:1234\", \"wait\": false}}}");
	assert_non_null(spec);
	assert_same(&cli, &spec->cfg);
	vm_spec__free(spec);
}

/* The same bad value refused both ways with the same reason. */
static void test_same_refusals(void **state)
{
	static const struct {
		const char *opt, *val, *body;
	} cases[] = {
		{ "--memory", "size=12345", "{\"memory\": {\"size\": 12345}}" },
		{ "--cpus", "boot=5000", "{\"cpus\": {\"boot_vcpus\": 5000}}" },
		{ "--cpus", "boot=4,max=2", "{\"cpus\": {\"boot_vcpus\": 4, \"max_vcpus\": 2}}" },
		{ "--net", "mac=zz", "{\"net\": [{\"mac\": \"zz\"}]}" },
		{ "--gdb", "tcp=10.0.0.1:1", "{\"vmscope\": {\"gdb\": {\"tcp\": \"10.0.0.1:1\"}}}" },
		{ "--vmi-timeout", "0", "{\"vmscope\": {\"vmi_timeout_ms\": 0}}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "vmscope", (char *)cases[i].opt, (char *)cases[i].val, NULL };
		struct vm_config cli;
		char cli_err[512];
		const char *why;

		assert_int_equal(options__parse(3, argv, &cli, cli_err, sizeof(cli_err)),
				 OPTIONS_ERROR);
		assert_null(json(cases[i].body));
		/* "--memory: X" on the command line is "memory: X" in the API. */
		why = strchr(cli_err, ':');
		assert_non_null(why);
		if (!strstr(err, why)) {
			print_error("command line: %s\nJSON: %s\n", cli_err, err);
			fail();
		}
	}
}

static void test_field_named(void **state)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "{\"cpus\": {\"topology\": {\"threads_per_core\": 2}}}",
		  "cpus.topology: not supported by vmscope yet" },
		{ "{\"cpus\": {\"topology\": null}, \"bogus\": 1}", "bogus: unknown field" },
		{ "{\"disks\": [{\"path\": \"/a\"}, {\"path\": \"/b\", \"readonly\": \"yes\"}]}",
		  "disks[1].readonly: must be true or false" },
		{ "{\"disks\": [{\"path\": \"/a\\\"b\"}]}", "disks[0].path: a double quote" },
		{ "{\"payload\": {\"kernel\": \"/k\", \"firmware\": \"/f\"}}",
		  "payload.firmware: not supported by vmscope yet" },
		{ "{\"console\": {\"mode\": \"Tty\", \"file\": \"/x\"}}",
		  "console.file: goes only with mode File" },
		{ "{\"vmscope\": {\"gdb\": {}}}", "vmscope.gdb: give path or tcp" },
		{ "{\"cpus\": 2}", "cpus: must be a JSON object" },
		{ "", "a JSON body is required" },
		{ "{\"cpus\": {\"boot_vcpus\": 2}", "invalid JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_spec *spec = json(cases[i].body);

		if (spec || !strstr(err, cases[i].want)) {
			print_error("%s: got '%s', want '%s'\n", cases[i].body, spec ? "accepted" : err,
				    cases[i].want);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_command_line),
		cmocka_unit_test(test_same_refusals),
		cmocka_unit_test(test_field_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
