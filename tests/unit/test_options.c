/* Unit tests for the command line (options.c) and the group splitter (keyval.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "keyval.h"
#include "log.h"
#include "options.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static char err[256];
static struct vm_config cfg;

static int count_args(char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return argc;
}

/* Parses "vmscope" followed by the given arguments. */
#define PARSE(...) options__parse(count_args((char *[]){ "vmscope", __VA_ARGS__, NULL }), \
				  (char *[]){ "vmscope", __VA_ARGS__, NULL }, &cfg, err, sizeof(err))

static void check_err_line(const char *want1, const char *want2)
{
	if (err[0] == '\0')
		fail_msg("err is empty");
	if (strchr(err, '\n'))
		fail_msg("err has a newline: '%s'", err);
	if (want1 && !strstr(err, want1))
		fail_msg("err '%s' does not contain '%s'", err, want1);
	if (want2 && !strstr(err, want2))
		fail_msg("err '%s' does not contain '%s'", err, want2);
}

/*
 * The arguments must give OPTIONS_ERROR with err naming want1 (the option)
 * and, when not NULL, want2 (the value or the reason).
 */
#define ERR(want1, want2, ...) do { \
	memset(err, 0, sizeof(err)); \
	assert_int_equal(PARSE(__VA_ARGS__), OPTIONS_ERROR); \
	check_err_line(want1, want2); \
} while (0)

#define OK(...) do { \
	err[0] = '\0'; \
	if (PARSE(__VA_ARGS__) != OPTIONS_OK) \
		fail_msg("unexpected error: %s", err); \
} while (0)

static void test_defaults(void **state)
{
	char *argv[] = { "vmscope", NULL };

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(options__parse(1, argv, &cfg, err, sizeof(err)), OPTIONS_OK);
	assert_null(cfg.kernel);
	assert_null(cfg.initramfs);
	assert_null(cfg.cmdline);
	assert_int_equal(cfg.cpus_boot, 1);
	assert_int_equal(cfg.memory_size, 512 * MIB);
	assert_int_equal(cfg.serial, SERIAL_TTY);
	assert_null(cfg.serial_path);
	assert_false(cfg.console_off);
	assert_int_equal(cfg.console, CONSOLE_TTY);
	assert_int_equal(cfg.nr_disks, 0);
	assert_int_equal(cfg.nr_nets, 0);
	assert_false(cfg.rng);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_true(cfg.host_quirks);
	assert_null(cfg.vmi_socket);
	assert_int_equal(cfg.vmi_timeout_ms, 5000);
	assert_string_equal(err, "");
}

static void test_paths_both_forms(void **state)
{
	char *argv[] = { "vmscope", "--kernel", "vmlinux", "--initramfs=initrd.img",
			 "--vmi-socket", "/run/vmi.sock", NULL };

	(void)state;
	assert_int_equal(options__parse(6, argv, &cfg, err, sizeof(err)), OPTIONS_OK);
	/* Strings point into argv, not at copies. */
	assert_ptr_equal(cfg.kernel, argv[2]);
	assert_ptr_equal(cfg.initramfs, argv[3] + strlen("--initramfs="));
	assert_string_equal(cfg.initramfs, "initrd.img");
	assert_ptr_equal(cfg.vmi_socket, argv[5]);

	OK("--kernel=bzImage", "--initramfs", "x.cpio", "--vmi-socket=/tmp/s");
	assert_string_equal(cfg.kernel, "bzImage");
	assert_string_equal(cfg.initramfs, "x.cpio");
	assert_string_equal(cfg.vmi_socket, "/tmp/s");
	/* A value may itself contain '=' and start with a single '-'. */
	OK("--kernel", "-odd=name");
	assert_string_equal(cfg.kernel, "-odd=name");
}

static void test_cmdline(void **state)
{
	(void)state;
	OK("--cmdline", "console=hvc0 root=/dev/vda1 rw");
	assert_string_equal(cfg.cmdline, "console=hvc0 root=/dev/vda1 rw");
	OK("--cmdline=console=ttyS0,115200 quiet");
	assert_string_equal(cfg.cmdline, "console=ttyS0,115200 quiet");
	/* Empty is a deliberate choice (no parameters), unlike NULL (the default). */
	OK("--cmdline", "");
	assert_string_equal(cfg.cmdline, "");
	/* No length check here: the loader knows the kernel's limit. */
	char *longline = malloc(100000);
	assert_non_null(longline);
	memset(longline, 'a', 99999);
	longline[99999] = '\0';
	OK("--cmdline", longline);
	assert_ptr_equal(cfg.cmdline, longline);
	free(longline);
}

static void test_cpus(void **state)
{
	(void)state;
	OK("--cpus", "boot=2");
	assert_int_equal(cfg.cpus_boot, 2);
	OK("--cpus=boot=4");
	assert_int_equal(cfg.cpus_boot, 4);
	OK("--cpus", "boot=2,max=4");
	assert_int_equal(cfg.cpus_boot, 2);
	OK("--cpus", "max=4,boot=4");
	assert_int_equal(cfg.cpus_boot, 4);
	OK("--cpus", "max=3");
	assert_int_equal(cfg.cpus_boot, 1);
	OK("--cpus", "boot=4096");
	assert_int_equal(cfg.cpus_boot, 4096);
}

static void test_cpus_errors(void **state)
{
	(void)state;
	ERR("--cpus", "boot=0", "--cpus", "boot=0");
	ERR("--cpus", "4097", "--cpus", "boot=4097");
	ERR("--cpus", "'-1'", "--cpus", "boot=-1");
	ERR("--cpus", "'+2'", "--cpus", "boot=+2");
	ERR("--cpus", "' 2'", "--cpus", "boot= 2");
	ERR("--cpus", "'0x2'", "--cpus", "boot=0x2");
	ERR("--cpus", "'2x'", "--cpus", "boot=2x");
	ERR("--cpus", "'abc'", "--cpus", "boot=abc");
	ERR("--cpus", "18446744073709551616", "--cpus", "boot=18446744073709551616");
	ERR("--cpus", "99999999999999999999999999999999", "--cpus",
	    "boot=99999999999999999999999999999999");
	ERR("--cpus", "'boot'", "--cpus", "boot=");
	ERR("--cpus", "'boot' needs a value", "--cpus", "boot");
	ERR("--cpus", "empty", "--cpus", "");
	ERR("--cpus", "empty", "--cpus=");
	ERR("--cpus", "empty item", "--cpus", "boot=2,");
	ERR("--cpus", "empty item", "--cpus", "boot=2,,max=2");
	ERR("--cpus", "'boot' given more than once", "--cpus", "boot=1,boot=2");
	ERR("--cpus", "max=1 is less than boot=2", "--cpus", "boot=2,max=1");
	ERR("--cpus", "unknown key 'foo'", "--cpus", "foo=1");
	ERR("--cpus", "unknown key 'Boot'", "--cpus", "Boot=1");
	ERR("--cpus", "missing key", "--cpus", "=2");
	ERR("--cpus", "'topology' not supported yet", "--cpus", "boot=2,topology=1:1:2:1");
	ERR("--cpus", "'kvm_hyperv' not supported yet", "--cpus", "boot=2,kvm_hyperv=on");
	ERR("--cpus", "'max_phys_bits' not supported yet", "--cpus", "max_phys_bits=40");
	ERR("--cpus", "'features' not supported yet", "--cpus", "features=amx");
	/* Brackets keep their commas: the key is recognised, not split apart. */
	ERR("--cpus", "'affinity' not supported yet", "--cpus", "boot=2,affinity=[0@[0,2],1@[1,3]]");
	ERR("--cpus", "unbalanced", "--cpus", "affinity=[0@[0,2]");
	ERR("--cpus", "unbalanced", "--cpus", "boot=2]");
}

static void test_memory_sizes(void **state)
{
	(void)state;
	OK("--memory", "size=512M");
	assert_int_equal(cfg.memory_size, 512 * MIB);
	OK("--memory=size=1G");
	assert_int_equal(cfg.memory_size, GIB);
	OK("--memory", "size=2048K");
	assert_int_equal(cfg.memory_size, 2 * MIB);
	OK("--memory", "size=2M");
	assert_int_equal(cfg.memory_size, 2 * MIB);
	OK("--memory", "size=2097152");
	assert_int_equal(cfg.memory_size, 2 * MIB);
	OK("--memory", "size=1g");
	assert_int_equal(cfg.memory_size, GIB);
	OK("--memory", "size=768m");
	assert_int_equal(cfg.memory_size, 768 * MIB);
	OK("--memory", "size=8196k");
	assert_int_equal(cfg.memory_size, 8196ULL * 1024);
	OK("--memory", "size=64G");
	assert_int_equal(cfg.memory_size, 64 * GIB);
	OK("--memory", "shared=on,size=256M");
	assert_int_equal(cfg.memory_size, 256 * MIB);
	OK("--memory", "shared=true");
	assert_int_equal(cfg.memory_size, 512 * MIB);
}

static void test_memory_errors(void **state)
{
	(void)state;
	ERR("--memory", "invalid size '12Q'", "--memory", "size=12Q");
	ERR("--memory", "'4096'", "--memory", "size=4096");          /* below 2M */
	ERR("--memory", "minimum", "--memory", "size=1M");
	ERR("--memory", "minimum", "--memory", "size=0");
	ERR("--memory", "'2049K' is not a multiple of 4K", "--memory", "size=2049K");
	ERR("--memory", "multiple of 4K", "--memory", "size=2097153");
	ERR("--memory", "multiple of 4K", "--memory", "size=18446744073709551615");
	ERR("--memory", "invalid size '17179869184G'", "--memory", "size=17179869184G");
	ERR("--memory", "invalid size '18446744073709551616'", "--memory",
	    "size=18446744073709551616");
	ERR("--memory", "invalid size '-512M'", "--memory", "size=-512M");
	ERR("--memory", "invalid size 'M'", "--memory", "size=M");
	ERR("--memory", "invalid size '512MB'", "--memory", "size=512MB");
	ERR("--memory", "invalid size '512 M'", "--memory", "size=512 M");
	ERR("--memory", "invalid size '1T'", "--memory", "size=1T");
	ERR("--memory", "invalid size '0x1000000'", "--memory", "size=0x1000000");
	ERR("--memory", "'size'", "--memory", "size=");
	ERR("--memory", "'size' needs a value", "--memory", "size");
	ERR("--memory", "'size' given more than once", "--memory", "size=512M,size=1G");
	ERR("--memory", "shared=off", "--memory", "size=512M,shared=off");
	ERR("--memory", "'maybe'", "--memory", "shared=maybe");
	ERR("--memory", "'hugepages' not supported yet", "--memory", "size=512M,hugepages=on");
	ERR("--memory", "'mergeable' not supported yet", "--memory", "mergeable=on");
	ERR("--memory", "'hotplug_size' not supported yet", "--memory", "hotplug_size=1G");
	ERR("--memory", "'file' not supported yet", "--memory", "file=/dev/shm");
	ERR("--memory", "'thp' not supported yet", "--memory", "thp=off");
	ERR("--memory", "unknown key 'sz'", "--memory", "sz=512M");
	ERR("--memory", "empty", "--memory", "");
}

static void test_serial(void **state)
{
	char *argv[] = { "vmscope", "--serial", "file=/tmp/serial.log", NULL };

	(void)state;
	OK("--serial", "tty");
	assert_int_equal(cfg.serial, SERIAL_TTY);
	OK("--serial=null");
	assert_int_equal(cfg.serial, SERIAL_NULL);
	OK("--serial", "off");
	assert_int_equal(cfg.serial, SERIAL_OFF);
	assert_int_equal(options__parse(3, argv, &cfg, err, sizeof(err)), OPTIONS_OK);
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "/tmp/serial.log");
	assert_ptr_equal(cfg.serial_path, argv[2] + strlen("file="));
	OK("--serial=file=out=1.txt");
	assert_int_equal(cfg.serial, SERIAL_FILE);
	assert_string_equal(cfg.serial_path, "out=1.txt");
}

static void test_serial_errors(void **state)
{
	(void)state;
	ERR("--serial", "'pty' not supported yet", "--serial", "pty");
	ERR("--serial", "'socket' not supported yet", "--serial", "socket=/tmp/s");
	ERR("--serial", "'iommu' not supported yet", "--serial", "tty,iommu=on");
	ERR("--serial", "'file' needs a value", "--serial", "file");
	ERR("--serial", "'file'", "--serial", "file=");
	ERR("--serial", "'tty' takes no value", "--serial", "tty=1");
	ERR("--serial", "more than one mode", "--serial", "tty,null");
	ERR("--serial", "more than one mode", "--serial", "off,file=/tmp/x");
	ERR("--serial", "unknown key 'stdio'", "--serial", "stdio");
	ERR("--serial", "unknown key 'b'", "--serial", "file=a,b");
	ERR("--serial", "quoted path", "--serial", "file=\"a,b\"");
	ERR("--serial", "misplaced quote", "--serial", "file=a\"b\"");
	ERR("--serial", "unbalanced quotes", "--serial", "file=a\"b");
	ERR("--serial", "unbalanced quotes", "--serial", "file=\"a,b");
	ERR("--serial", "'tty' given more than once", "--serial", "tty,tty");
	ERR("--serial", "empty", "--serial", "");
}

static void test_console(void **state)
{
	(void)state;
	OK("--console", "off");
	assert_true(cfg.console_off);
	OK("--console=off");
	assert_true(cfg.console_off);
	assert_int_equal(cfg.console, CONSOLE_OFF);
	OK("--console", "tty");
	assert_int_equal(cfg.console, CONSOLE_TTY);
	assert_false(cfg.console_off);
	OK("--console", "null");
	assert_int_equal(cfg.console, CONSOLE_NULL);
	OK("--console", "file=/tmp/c");
	assert_int_equal(cfg.console, CONSOLE_FILE);
	assert_string_equal(cfg.console_path, "/tmp/c");
	ERR("--console", "'pty' not supported yet", "--console", "pty");
	ERR("--console", "'socket' not supported yet", "--console", "socket=/tmp/c");
	ERR("--console", "more than one mode", "--console", "tty,null");
	ERR("--console", "'file' needs a value", "--console", "file");
	ERR("--console", "'off' takes no value", "--console", "off=1");
	ERR("--console", "unknown key 'on'", "--console", "on");
	ERR("--console", "empty", "--console", "");
}

static void test_log_level(void **state)
{
	(void)state;
	OK("-v");
	assert_int_equal(cfg.log_level, LOG_INFO);
	OK("-v", "-v");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	OK("-v", "-v", "-v", "-v");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	OK("-vv");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	OK("--log-level", "error");
	assert_int_equal(cfg.log_level, LOG_ERROR);
	OK("--log-level=info");
	assert_int_equal(cfg.log_level, LOG_INFO);
	OK("--log-level", "debug");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	OK("--log-level", "warn");
	assert_int_equal(cfg.log_level, LOG_WARN);
	/* Applied in order: -v raises whatever level is current. */
	OK("--log-level", "error", "-v");
	assert_int_equal(cfg.log_level, LOG_WARN);
	OK("-v", "--log-level", "error");
	assert_int_equal(cfg.log_level, LOG_ERROR);
	ERR("--log-level", "'loud'", "--log-level", "loud");
	ERR("--log-level", "'DEBUG'", "--log-level", "DEBUG");
	ERR("--log-level", "empty", "--log-level=");
	ERR("--log-level", "missing value", "--log-level");
	ERR("unknown option", "'-vx'", "-vx");
}

static void test_host_quirks(void **state)
{
	(void)state;
	OK("--no-host-quirks");
	assert_false(cfg.host_quirks);
	ERR("--no-host-quirks", "takes no value", "--no-host-quirks=1");
}

static void test_vmi_timeout(void **state)
{
	(void)state;
	OK("--vmi-timeout", "1");
	assert_int_equal(cfg.vmi_timeout_ms, 1);
	OK("--vmi-timeout=3600000");
	assert_int_equal(cfg.vmi_timeout_ms, 3600000);
	OK("--vmi-timeout", "250");
	assert_int_equal(cfg.vmi_timeout_ms, 250);
	ERR("--vmi-timeout", "'0'", "--vmi-timeout", "0");
	ERR("--vmi-timeout", "'3600001'", "--vmi-timeout", "3600001");
	ERR("--vmi-timeout", "'-1'", "--vmi-timeout=-1");
	ERR("--vmi-timeout", "'5s'", "--vmi-timeout", "5s");
	ERR("--vmi-timeout", "'4294967297'", "--vmi-timeout", "4294967297");
	ERR("--vmi-timeout", "'99999999999999999999'", "--vmi-timeout", "99999999999999999999");
	ERR("--vmi-timeout", "empty", "--vmi-timeout", "");
	ERR("--vmi-socket", "empty", "--vmi-socket", "");
}

static void test_missing_and_empty(void **state)
{
	(void)state;
	ERR("--kernel: missing value", NULL, "--kernel");
	ERR("--kernel: missing value", NULL, "--kernel", "--cpus", "boot=1");
	ERR("--cpus: missing value", NULL, "--cpus");
	ERR("--memory: missing value", NULL, "--kernel", "k", "--memory");
	ERR("--vmi-socket: missing value", NULL, "--vmi-socket");
	ERR("--kernel: empty value", NULL, "--kernel", "");
	ERR("--initramfs: empty value", NULL, "--initramfs=");
}

static void test_duplicates(void **state)
{
	(void)state;
	ERR("--kernel", "more than once", "--kernel", "a", "--kernel=b");
	ERR("--initramfs", "more than once", "--initramfs", "a", "--initramfs", "b");
	ERR("--cmdline", "more than once", "--cmdline", "a", "--cmdline", "b");
	ERR("--cpus", "more than once", "--cpus", "boot=1", "--cpus", "boot=2");
	ERR("--memory", "more than once", "--memory", "size=1G", "--memory", "size=1G");
	ERR("--serial", "more than once", "--serial", "tty", "--serial", "off");
	ERR("--console", "more than once", "--console", "off", "--console", "off");
	ERR("--log-level", "more than once", "--log-level", "info", "--log-level", "info");
	ERR("--no-host-quirks", "more than once", "--no-host-quirks", "--no-host-quirks");
	ERR("--vmi-socket", "more than once", "--vmi-socket", "a", "--vmi-socket", "b");
	ERR("--vmi-timeout", "more than once", "--vmi-timeout", "1", "--vmi-timeout", "2");
}

static void test_unknown_and_positional(void **state)
{
	(void)state;
	ERR("unknown option '--foo'", NULL, "--foo");
	ERR("unknown option '--foo'", NULL, "--foo=bar");
	ERR("unknown option '--kernels'", NULL, "--kernels", "x");
	ERR("unknown option '-x'", NULL, "-x");
	ERR("unknown option '--'", NULL, "--");
	ERR("unexpected argument 'vmlinux'", NULL, "vmlinux");
	ERR("unexpected argument 'extra'", NULL, "--kernel", "k", "extra");
	ERR("unexpected argument '-'", NULL, "-");
	ERR("--help", "takes no value", "--help=1");
}

static void test_gdb(void **state)
{
	(void)state;
	OK("--gdb", "path=/tmp/vmscope-gdb.sock");
	assert_string_equal(cfg.gdb_path, "/tmp/vmscope-gdb.sock");
	assert_int_equal(cfg.gdb_tcp_port, 0);
	assert_true(cfg.gdb_wait);
	OK("--gdb=tcp=127.0.0.1:1234,wait=off");
	assert_string_equal(cfg.gdb_path, "");
	assert_int_equal(cfg.gdb_tcp_port, 1234);
	assert_int_equal(cfg.gdb_tcp_addr, 0x7f000001);
	assert_false(cfg.gdb_wait);
	OK("--gdb", "path=/s,wait=on");
	assert_true(cfg.gdb_wait);
	OK("--kernel", "k");
	assert_string_equal(cfg.gdb_path, "");
	assert_int_equal(cfg.gdb_tcp_port, 0);
	ERR("--gdb", "exactly one of path=SOCKET or tcp=ADDR:PORT", "--gdb", "wait=off");
	ERR("--gdb", "exactly one of", "--gdb", "path=/s,tcp=127.0.0.1:1");
	ERR("--gdb", "invalid tcp address", "--gdb", "tcp=127.0.0.1");
	ERR("--gdb", "invalid tcp address", "--gdb", "tcp=127.0.0.1:0");
	ERR("--gdb", "invalid tcp address", "--gdb", "tcp=127.0.0.1:65536");
	ERR("--gdb", "invalid tcp address", "--gdb", "tcp=localhost:1234");
	ERR("--gdb", "invalid tcp address", "--gdb", "tcp=1.2.3.4:5x");
	/* No debugger from other machines unless asked for by name. */
	ERR("--gdb", "add allow-remote=on", "--gdb", "tcp=0.0.0.0:1234");
	ERR("--gdb", "add allow-remote=on", "--gdb", "tcp=192.168.1.2:1234,allow-remote=off");
	ERR("--gdb", "allow-remote must be on or off", "--gdb", "tcp=0.0.0.0:1234,allow-remote=yes");
	OK("--gdb", "tcp=0.0.0.0:1234,allow-remote=on");
	assert_true(cfg.gdb_allow_remote);
	OK("--gdb", "tcp=127.0.0.2:1234");
	assert_false(cfg.gdb_allow_remote);
	ERR("--gdb", "wait must be on or off", "--gdb", "path=/s,wait=maybe");
	ERR("--gdb", "unknown key 'port'", "--gdb", "port=1");
	ERR("--gdb", "needs a value", "--gdb", "path");
	ERR("--gdb", "longer than a unix socket allows", "--gdb",
	    "path=/0123456789012345678901234567890123456789012345678901234567890123456789"
	    "01234567890123456789012345678901234567890123456789");
}

static void test_later_options(void **state)
{
	static const char *const later[] = {
		"fs", "pmem", "device", "vsock",
		"numa", "watchdog", "platform", "balloon", "landlock",
		"event-monitor", "restore", "tpm", "sgx-epc", "pvpanic",
	};
	char opt[64], want[80];

	(void)state;
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		snprintf(opt, sizeof(opt), "--%s", later[i]);
		snprintf(want, sizeof(want), "--%s: not supported yet", later[i]);
		ERR(want, NULL, opt, "x=y");
		ERR(want, NULL, opt);
		snprintf(opt, sizeof(opt), "--%s=path=x", later[i]);
		ERR(want, NULL, opt);
		if (strstr(err, "unknown"))
			fail_msg("'%s' reported as unknown: %s", later[i], err);
	}
}

/* The example from Cloud Hypervisor's README, verbatim. */
static void test_devices(void **state)
{
	(void)state;
	/* Several disks, after one --disk or each after its own. */
	OK("--disk", "path=a.raw,readonly=on", "path=b.raw", "--disk=path=d.raw,image_type=raw,direct=off,id=x");
	assert_int_equal(cfg.nr_disks, 3);
	assert_string_equal(cfg.disks[0].path, "a.raw");
	assert_true(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[1].path, "b.raw");
	assert_false(cfg.disks[1].readonly);
	assert_string_equal(cfg.disks[2].path, "d.raw");
	ERR("--disk", "unknown key 'c.raw'", "--disk", "path=b,c.raw,x");
	ERR("--disk", "'path' is required", "--disk", "readonly=on");
	ERR("--disk", "invalid toggle 'maybe'", "--disk", "path=a,readonly=maybe");
	ERR("--disk", "'num_queues' not supported yet", "--disk", "path=a,num_queues=4");
	ERR("--disk", "'vhost_user' not supported yet", "--disk", "vhost_user=on,socket=/s");
	ERR("--disk", "image_type=qcow2 not supported", "--disk", "path=a,image_type=qcow2");
	ERR("--disk", "direct=on not supported yet", "--disk", "path=a,direct=on");
	ERR("--disk", "unknown key 'colour'", "--disk", "path=a,colour=red");
	ERR("--disk", "missing value", "--disk");
	ERR("--disk", "more than 8 disks", "--disk", "path=1", "path=2", "path=3", "path=4",
	    "path=5", "path=6", "path=7", "path=8", "path=9");

	OK("--net", "tap=tap7,mac=52:54:00:12:34:56,ip=10.0.0.1,mask=255.255.255.0", "--net", "tap=");
	assert_int_equal(cfg.nr_nets, 2);
	assert_string_equal(cfg.nets[0].tap, "tap7");
	assert_true(cfg.nets[0].have_mac);
	assert_int_equal(cfg.nets[0].mac[5], 0x56);
	assert_int_equal(cfg.nets[0].ip, htonl(0x0a000001));
	assert_int_equal(cfg.nets[0].mask, htonl(0xffffff00));
	assert_string_equal(cfg.nets[1].tap, "");
	ERR("--net", "invalid MAC address '01:00:00:00:00:00'", "--net", "mac=01:00:00:00:00:00");
	ERR("--net", "invalid MAC address 'zz'", "--net", "mac=zz");
	ERR("--net", "invalid IPv4 address '10.0.0.300'", "--net", "ip=10.0.0.300");
	ERR("--net", "too long", "--net", "tap=abcdefghijklmnopqrstuvwxyz");
	ERR("--net", "'vhost_user' not supported yet", "--net", "vhost_user=true");
	ERR("--net", "unknown key 'bogus'", "--net", "tap=,bogus=1");

	OK("--rng");
	assert_true(cfg.rng);
	assert_string_equal(cfg.rng_src, "/dev/urandom");
	OK("--rng", "--kernel", "k");
	assert_true(cfg.rng);
	OK("--rng", "src=/dev/random");
	assert_string_equal(cfg.rng_src, "/dev/random");
	ERR("--rng", "unknown key 'source'", "--rng", "source=/dev/random");
	ERR("--rng", "'iommu' not supported yet", "--rng", "iommu=on");
	ERR("--rng", "given more than once", "--rng", "--rng");
}

static void test_cloud_hypervisor_seed(void **state)
{
	(void)state;
	OK("--kernel", "vmlinux", "--disk", "path=focal-server-cloudimg-amd64.raw", "--cmdline",
	   "console=hvc0 root=/dev/vda1 rw", "--cpus", "boot=2", "--memory", "size=512M",
	   "--net", "tap=,mac=,ip=,mask=");
	assert_int_equal(cfg.nr_disks, 1);
	assert_string_equal(cfg.disks[0].path, "focal-server-cloudimg-amd64.raw");
	assert_false(cfg.disks[0].readonly);
	assert_int_equal(cfg.nr_nets, 1);
	assert_string_equal(cfg.nets[0].tap, "");
	assert_false(cfg.nets[0].have_mac);
	assert_int_equal(cfg.nets[0].ip, 0);
	assert_int_equal(cfg.nets[0].mask, 0);
	assert_int_equal(cfg.console, CONSOLE_TTY);

	/* Without the devices, the same line is accepted. */
	OK("--kernel", "vmlinux", "--cmdline", "console=hvc0 root=/dev/vda1 rw", "--cpus",
	   "boot=2", "--memory", "size=512M");
	assert_string_equal(cfg.kernel, "vmlinux");
	assert_string_equal(cfg.cmdline, "console=hvc0 root=/dev/vda1 rw");
	assert_int_equal(cfg.cpus_boot, 2);
	assert_int_equal(cfg.memory_size, 512 * MIB);
}

static void test_everything_at_once(void **state)
{
	(void)state;
	OK("--kernel", "bzImage", "--initramfs", "initrd", "--cmdline", "quiet",
	   "--cpus", "boot=3,max=8", "--memory", "size=1G,shared=on", "--serial", "null",
	   "--console", "off", "-v", "--no-host-quirks", "--vmi-socket", "/tmp/v.sock",
	   "--vmi-timeout", "100");
	assert_string_equal(cfg.kernel, "bzImage");
	assert_string_equal(cfg.initramfs, "initrd");
	assert_string_equal(cfg.cmdline, "quiet");
	assert_int_equal(cfg.cpus_boot, 3);
	assert_int_equal(cfg.memory_size, GIB);
	assert_int_equal(cfg.serial, SERIAL_NULL);
	assert_true(cfg.console_off);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_false(cfg.host_quirks);
	assert_string_equal(cfg.vmi_socket, "/tmp/v.sock");
	assert_int_equal(cfg.vmi_timeout_ms, 100);

	/* No state survives between calls: the next parse starts from the defaults. */
	OK("--kernel", "other");
	assert_int_equal(cfg.cpus_boot, 1);
	assert_int_equal(cfg.memory_size, 512 * MIB);
	/* A kernel of the user's: Cloud Hypervisor's defaults, serial null and hvc0 on the tty. */
	assert_int_equal(cfg.serial, SERIAL_NULL);
	assert_int_equal(cfg.console, CONSOLE_TTY);
	assert_false(cfg.console_off);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_true(cfg.host_quirks);
	assert_null(cfg.vmi_socket);
	assert_null(cfg.initramfs);
}

static void test_err_buffer(void **state)
{
	char small[8];
	char *argv[] = { "vmscope", "--foo", NULL };
	char *nl[] = { "vmscope", "--kernel", "a", "--bad\noption\r", NULL };

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(options__parse(2, argv, &cfg, small, sizeof(small)), OPTIONS_ERROR);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(options__parse(2, argv, &cfg, NULL, 0), OPTIONS_ERROR);
	/* Control characters from argv never break the one-line promise. */
	assert_int_equal(options__parse(4, nl, &cfg, err, sizeof(err)), OPTIONS_ERROR);
	assert_null(strchr(err, '\n'));
	assert_null(strchr(err, '\r'));
	assert_non_null(strstr(err, "--bad?option?"));
}

/* Runs options__parse with stdout captured; returns what it printed (static). */
static const char *capture(char **argv, int argc, enum options_result *res)
{
	static char out[8192];
	int fd = memfd_create("stdout", 0), saved;
	ssize_t n;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	*res = options__parse(argc, argv, &cfg, err, sizeof(err));
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
	return out;
}

static void test_help_version(void **state)
{
	enum options_result r;
	const char *out;

	(void)state;
	out = capture((char *[]){ "vmscope", "--help", NULL }, 2, &r);
	assert_int_equal(r, OPTIONS_EXIT);
	assert_non_null(strstr(out, "Usage: vmscope"));
	assert_non_null(strstr(out, "--memory size="));
	assert_non_null(strstr(out, "--vmi-timeout"));

	out = capture((char *[]){ "vmscope", "--kernel", "k", "-h", NULL }, 4, &r);
	assert_int_equal(r, OPTIONS_EXIT);
	assert_non_null(strstr(out, "Usage: vmscope"));

	out = capture((char *[]){ "vmscope", "--version", NULL }, 2, &r);
	assert_int_equal(r, OPTIONS_EXIT);
	assert_int_equal(strncmp(out, "vmscope ", 8), 0);
	assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)strlen(out) - 1);
	assert_true(strlen(out) > strlen("vmscope \n"));

	out = capture((char *[]){ "vmscope", "-V", NULL }, 2, &r);
	assert_int_equal(r, OPTIONS_EXIT);
	assert_int_equal(strncmp(out, "vmscope ", 8), 0);

	/* Errors print nothing. */
	out = capture((char *[]){ "vmscope", "--bogus", NULL }, 2, &r);
	assert_int_equal(r, OPTIONS_ERROR);
	assert_string_equal(out, "");
}

static void test_keyval_split(void **state)
{
	struct keyval_group g;
	char why[128];

	(void)state;
	assert_int_equal(keyval__split("tty", &g, why, sizeof(why)), 0);
	assert_int_equal(g.count, 1);
	assert_true(keyval__key_is(&g.items[0], "tty"));
	assert_null(g.items[0].val);

	assert_int_equal(keyval__split("a=1,b=[1,[2,3]],c=\"x,y\",d", &g, why, sizeof(why)), 0);
	assert_int_equal(g.count, 4);
	assert_true(keyval__val_is(&g.items[0], "1"));
	assert_true(keyval__val_is(&g.items[1], "[1,[2,3]]"));
	assert_true(keyval__val_is(&g.items[2], "x,y"));
	assert_true(g.items[2].quoted);
	assert_true(keyval__key_is(&g.items[3], "d"));
	assert_int_equal(keyval__split("k=a=b", &g, why, sizeof(why)), 0);
	assert_true(keyval__val_is(&g.items[0], "a=b"));

	assert_int_equal(keyval__split("a=\"\"", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split("\"a\"=1", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split("[a]=1", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split("a=[[1]", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split("a=1]", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split(",", &g, why, sizeof(why)), -1);
	assert_int_equal(keyval__split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &g, why, sizeof(why)), 0);
	assert_int_equal(g.count, KEYVAL_MAX_ITEMS);
	assert_int_equal(keyval__split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &g, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than"));
}

static void test_keyval_numbers(void **state)
{
	uint64_t v;
	bool on;

	(void)state;
	assert_int_equal(keyval__parse_u64("18446744073709551615", 20, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(keyval__parse_u64("18446744073709551616", 20, &v), -1);
	assert_int_equal(keyval__parse_u64("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(keyval__parse_u64("", 0, &v), -1);
	assert_int_equal(keyval__parse_u64("12", 1, &v), 0); /* only the span is read */
	assert_int_equal(v, 1);
	assert_int_equal(keyval__parse_size("16G", 3, &v), 0);
	assert_true(v == 16 * GIB);
	assert_int_equal(keyval__parse_size("17179869183G", 12, &v), 0);
	assert_int_equal(keyval__parse_size("17179869184G", 12, &v), -1);
	assert_int_equal(keyval__parse_size("G", 1, &v), -1);
	assert_int_equal(keyval__parse_size("1KK", 3, &v), -1);
	assert_int_equal(keyval__parse_toggle("ON", 2, &on), 0);
	assert_true(on);
	assert_int_equal(keyval__parse_toggle("false", 5, &on), 0);
	assert_false(on);
	assert_int_equal(keyval__parse_toggle("yes", 3, &on), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_paths_both_forms),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_cpus),
		cmocka_unit_test(test_cpus_errors),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_memory_errors),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_serial_errors),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_host_quirks),
		cmocka_unit_test(test_vmi_timeout),
		cmocka_unit_test(test_missing_and_empty),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_unknown_and_positional),
		cmocka_unit_test(test_gdb),
		cmocka_unit_test(test_later_options),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_cloud_hypervisor_seed),
		cmocka_unit_test(test_everything_at_once),
		cmocka_unit_test(test_err_buffer),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_keyval_split),
		cmocka_unit_test(test_keyval_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
