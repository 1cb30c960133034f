/*
 * Shared by the introspection tests: runs `vmscope --vmi-socket S --vmi-wait`
 * as a child process on the embedded test guest and attaches libvmscope.
 */
#ifndef VMSCOPE_TESTS_VMI_HARNESS_H
#define VMSCOPE_TESTS_VMI_HARNESS_H

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_required.h"
#include "vmscope/vmscope.h"

#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                 \
			fprintf(stderr, "\n");                                        \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

struct vmi_child {
	pid_t pid;
	char dir[64];
	char sock[96];
	char serial[96];
	char log[96];
};

/* extra: more vmscope options, NULL-terminated (or NULL for none). */
static inline void vmi_child__start(struct vmi_child *c, const char *vmscope,
				    const char *const *extra)
{
	strcpy(c->dir, "/tmp/vmscope-vmi-XXXXXX");
	CHECK(mkdtemp(c->dir), "mkdtemp: %s", strerror(errno));
	snprintf(c->sock, sizeof(c->sock), "%s/vmi.sock", c->dir);
	snprintf(c->serial, sizeof(c->serial), "%s/serial.txt", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/log.txt", c->dir);
	c->pid = fork();
	CHECK(c->pid >= 0, "fork");
	if (c->pid == 0) {
		char serial_opt[128];
		const char *argv[24];
		int n = 0, fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		snprintf(serial_opt, sizeof(serial_opt), "file=%s", c->serial);
		argv[n++] = vmscope;
		argv[n++] = "--serial";
		argv[n++] = serial_opt;
		argv[n++] = "--vmi-socket";
		argv[n++] = c->sock;
		argv[n++] = "--vmi-wait";
		argv[n++] = "--memory";
		argv[n++] = "size=64M";
		for (; extra && *extra && n < 23; extra++)
			argv[n++] = *extra;
		argv[n] = NULL;
		execv(vmscope, (char *const *)argv);
		_exit(127);
	}
}

static inline vmscope_t *vmi_child__attach(struct vmi_child *c)
{
	for (int i = 0; i < 500; i++) {
		int err;
		vmscope_t *vm = vmscope_attach(c->sock, &err);

		if (vm)
			return vm;
		usleep(10000);
	}
	CHECK(0, "cannot attach: %s", vmscope_last_error(NULL));
	return NULL;
}

/* Waits for vmscope to exit; returns its exit status. */
static inline int vmi_child__wait(struct vmi_child *c)
{
	int st;

	CHECK(waitpid(c->pid, &st, 0) == c->pid, "waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

static inline void vmi_child__cleanup(struct vmi_child *c)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	(void)!system(cmd);
}

/* Address of a symbol in the guest ELF (its kernel is identity-mapped: va == pa). */
static inline uint64_t elf_sym(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *m;
	uint64_t val = 0;

	CHECK(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED, "mmap");
	close(fd);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)m;
	Elf64_Shdr *sh = (Elf64_Shdr *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		Elf64_Sym *s = (Elf64_Sym *)(m + sh[i].sh_offset);
		const char *str = (const char *)m + sh[sh[i].sh_link].sh_offset;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*s); k++)
			if (strcmp(str + s[k].st_name, name) == 0)
				val = s[k].st_value;
	}
	munmap(m, (size_t)st.st_size);
	CHECK(val, "symbol %s not found", name);
	return val;
}

#endif
