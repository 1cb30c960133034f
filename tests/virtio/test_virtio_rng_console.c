/* virtio-rng and virtio-console driven from the host side (see vdrv.h). */
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

#include "kvm_required.h"
#include "log.h"
#include "vdrv.h"

#define BUF  (VDRV_DATA_BASE)
#define BUF2 (VDRV_DATA_BASE + 0x10000)

static void test_rng(void **state)
{
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	uint8_t *p;
	uint32_t id, len;
	unsigned zeros = 0;

	(void)state;
	vdrv__default_config(&cfg);
	cfg.rng = true;
	strcpy(cfg.rng_src, "/dev/urandom");
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	assert_int_equal(vdrv__open(&d, v.vm, 0x1044, 0), 0);
	assert_int_equal(vdrv__cfg_read(v.vm, d.devfn, 0x0a, 2), 0x00ff);
	assert_int_equal(vdrv__init(&d, ~0ULL, 1, 64), 0);

	p = vdrv__ptr(&d, BUF, 4096);
	memset(p, 0, 4096);
	vdrv__submit(&d, 0, 0, (struct vdrv_buf[]){ { BUF, 1024, true }, { BUF + 2048, 1024, true } },
		     2, 0);
	assert_int_equal(vdrv__wait_used(&d, 0, 3000, &id, &len), 0);
	assert_int_equal(id, 0);
	assert_int_equal(len, 2048);
	for (unsigned i = 0; i < 1024; i++)
		zeros += (p[i] == 0) + (p[2048 + i] == 0);
	assert_true(zeros < 64); /* random bytes, not left zero */
	for (unsigned i = 1024; i < 2048; i++)
		assert_int_equal(p[i], 0); /* the gap untouched */
	assert_true(vdrv__wait_irq(&d, 1, 2000));

	/* A readable-only chain gets nothing; a chain outside RAM needs a reset. */
	vdrv__submit(&d, 0, 2, (struct vdrv_buf[]){ { BUF, 16, false } }, 1, 0);
	assert_int_equal(vdrv__wait_used(&d, 0, 3000, &id, &len), 0);
	assert_int_equal(len, 0);
	vdrv__submit(&d, 0, 3, (struct vdrv_buf[]){ { 0xfff00000ULL, 16, true } }, 1, 0);
	assert_true(vdrv__wait_status(&d, VIRTIO_STATUS_NEEDS_RESET, 3000));
	/* The configuration-change interrupt told the driver. */
	assert_true(vdrv__wait_irq(&d, 0, 2000));
	vdrv__vm_destroy(&v);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void test_console_file(void **state)
{
	char path[64];
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	uint32_t id, len;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vmscope-hvc-%d.txt", getpid());
	vdrv__default_config(&cfg);
	cfg.console = CONSOLE_FILE;
	strcpy(cfg.console_path, path);
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	assert_int_equal(vdrv__open(&d, v.vm, 0x1043, 0), 0);
	assert_int_equal(vdrv__init(&d, ~0ULL, 2, 64), 0);
	assert_int_equal(vdrv__rd(v.vm, d.device + 4, 4), 1); /* max_nr_ports */

	memcpy(vdrv__ptr(&d, BUF, 64), "hello ", 6);
	memcpy(vdrv__ptr(&d, BUF2, 64), "from hvc0\n", 10);
	vdrv__submit(&d, 1, 0, (struct vdrv_buf[]){ { BUF, 6, false }, { BUF2, 10, false } }, 2, 0);
	assert_int_equal(vdrv__wait_used(&d, 1, 3000, &id, &len), 0);
	assert_int_equal(id, 0);
	assert_true(vdrv__wait_irq(&d, 2, 2000));
	/* The emergency-write register prints one byte. */
	vdrv__wr(v.vm, d.device + 8, 4, '!');
	assert_string_equal(slurp(path), "hello from hvc0\n!");

	/* A looping chain on the transmit queue: refused, nothing printed. */
	vdrv__desc(&d, 1)[5] = (struct virtq_desc){ BUF, 6, VIRTQ_DESC_F_NEXT, 5 };
	vdrv__make_available(&d, 1, 5);
	assert_true(vdrv__wait_status(&d, VIRTIO_STATUS_NEEDS_RESET, 3000));
	assert_string_equal(slurp(path), "hello from hvc0\n!");
	vdrv__vm_destroy(&v);
	unlink(path);
}

/* --console tty: stdout and stdin (here a file and a pipe) are the guest's hvc0. */
static void test_console_tty_input(void **state)
{
	char path[64];
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	uint32_t id, len;
	int pipefd[2], saved_in, saved_out, out;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/vmscope-hvc-tty-%d.txt", getpid());
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(out >= 0);
	assert_int_equal(pipe(pipefd), 0);
	fflush(stdout);
	saved_in = dup(STDIN_FILENO);
	saved_out = dup(STDOUT_FILENO);
	dup2(pipefd[0], STDIN_FILENO);
	dup2(out, STDOUT_FILENO);

	vdrv__default_config(&cfg);
	cfg.console = CONSOLE_TTY;
	cfg.serial = SERIAL_NULL;
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);

	assert_int_equal(vdrv__open(&d, v.vm, 0x1043, 0), 0);
	assert_int_equal(vdrv__init(&d, ~0ULL, 2, 64), 0);
	/* Input typed before the driver gave buffers waits for them. */
	assert_int_equal(write(pipefd[1], "ls\n", 3), 3);
	usleep(100000);
	memset(vdrv__ptr(&d, BUF, 64), 0, 64);
	vdrv__submit(&d, 0, 0, (struct vdrv_buf[]){ { BUF, 64, true } }, 1, 0);
	assert_int_equal(vdrv__wait_used(&d, 0, 3000, &id, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(vdrv__ptr(&d, BUF, 3), "ls\n", 3);
	assert_true(vdrv__wait_irq(&d, 1, 2000));

	memcpy(vdrv__ptr(&d, BUF2, 8), "ok\n", 3);
	vdrv__submit(&d, 1, 0, (struct vdrv_buf[]){ { BUF2, 3, false } }, 1, 0);
	assert_int_equal(vdrv__wait_used(&d, 1, 3000, &id, &len), 0);
	assert_string_equal(slurp(path), "ok\n");

	/* End of input: the device stops reading, nothing breaks. */
	close(pipefd[1]);
	vdrv__submit(&d, 0, 1, (struct vdrv_buf[]){ { BUF, 64, true } }, 1, 0);
	usleep(100000);
	assert_int_equal(vdrv__status(&d), 0xf);
	vdrv__vm_destroy(&v);
	close(pipefd[0]);
	close(out);
	close(saved_in);
	close(saved_out);
	unlink(path);
}

static void test_console_off_and_default(void **state)
{
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;

	(void)state;
	vdrv__default_config(&cfg); /* console zeroed: CONSOLE_OFF */
	assert_int_equal(vdrv__vm_create(&v, &cfg), 0);
	assert_int_equal(vdrv__open(&d, v.vm, 0x1043, 0), -1);
	assert_int_equal(vdrv__open(&d, v.vm, 0x1044, 0), -1);
	/* Only the host bridge is on the bus. */
	assert_int_equal(vdrv__cfg_read(v.vm, 0, 0, 4), 0x0d578086u);
	assert_int_equal(vdrv__cfg_read(v.vm, 1 << 3, 0, 4), 0xffffffffu);
	vdrv__vm_destroy(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_console_file),
		cmocka_unit_test(test_console_tty_input),
		cmocka_unit_test(test_console_off_and_default),
	};

	kvm_required();
	log_threshold = LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
