/*
 * Linux views on the command line: ps, lsmod, dmesg, memory of a process,
 * the system-call table; one function each, listed in vmscope-ctl.c's
 * command table.  The kernel comes opened, in a dump or a live VM:
 *
 *   vmscope-ctl (--core FILE | --raw FILE | --socket PATH)
 *                 [--vmlinux FILE] [--system-map FILE] [--json] COMMAND [ARGS]
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/vmscope.h"

#include "ctl.h"
#include "ctl_num.h"

/* The most one read prints: a hex dump, not a memory dump. */
#define CTL_LINUX_MAX_READ (1u << 24)

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int ctl_linux__info(struct ctl *c, int argc __attribute__((unused)),
		    char **argv __attribute__((unused)))
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	struct vmscope_linux_info i;

	vmscope_linux_info(lx, &i);
	if (json) {
		printf("{\"release\":");
		json_str(i.release);
		printf(",\"version\":");
		json_str(i.version);
		printf(",\"text\":\"0x%" PRIx64 "\",\"kaslr_offset\":\"%s0x%" PRIx64 "\","
		       "\"kernel_cr3\":\"0x%" PRIx64 "\",\"btf_pa\":\"0x%" PRIx64 "\","
		       "\"btf_size\":%u,\"symbols\":%u,\"kaslr_how\":",
		       i.text, i.kaslr_offset < 0 ? "-" : "",
		       (uint64_t)(i.kaslr_offset < 0 ? -i.kaslr_offset : i.kaslr_offset),
		       i.kernel_cr3, i.btf_pa, i.btf_size, i.nr_symbols);
		json_str(i.kaslr_how);
		printf(",\"btf_how\":");
		json_str(i.btf_how);
		printf(",\"symbols_how\":");
		json_str(i.symbols_how);
		printf("}\n");
		return 0;
	}
	printf("release:      %s\nversion:      %s\n_text:        0x%" PRIx64 "\n"
	       "KASLR offset: %s0x%" PRIx64 "\n  found by:   %s\nkernel CR3:   0x%" PRIx64 "\n"
	       "BTF:          %s\nsymbols:      %u, from %s\n",
	       i.release, i.version, i.text, i.kaslr_offset < 0 ? "-" : "",
	       (uint64_t)(i.kaslr_offset < 0 ? -i.kaslr_offset : i.kaslr_offset), i.kaslr_how,
	       i.kernel_cr3, i.btf_how, i.nr_symbols, i.symbols_how);
	return 0;
}

int ctl_linux__ps(struct ctl *c, int argc __attribute__((unused)),
		  char **argv __attribute__((unused)))
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	int n = vmscope_linux_tasks(lx, NULL, 0);
	struct vmscope_linux_task *t;

	if (n < 0)
		return n;
	t = calloc((size_t)n + 16, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = vmscope_linux_tasks(lx, t, (size_t)n + 16);
	if (n < 0) {
		free(t);
		return n;
	}
	if (json)
		printf("[");
	else
		printf("%7s %7s S %6s %6s %6s %6s %18s %s\n", "PID", "PPID", "UID", "EUID", "GID",
		       "EGID", "PGD(phys)", "NAME");
	for (int i = 0; i < n; i++) {
		if (json) {
			printf("%s\n{\"pid\":%d,\"ppid\":%d,\"tgid\":%d,\"state\":\"%c\",\"comm\":",
			       i ? "," : "", t[i].pid, t[i].ppid, t[i].tgid, t[i].state);
			json_str(t[i].comm);
			printf(",\"name\":");
			json_str(t[i].name);
			printf(",\"uid\":%u,\"euid\":%u,\"suid\":%u,\"fsuid\":%u,"
			       "\"gid\":%u,\"egid\":%u,\"sgid\":%u,\"fsgid\":%u,"
			       "\"kthread\":%s,\"task\":\"0x%" PRIx64 "\",\"pgd\":\"0x%" PRIx64 "\","
			       "\"cr3\":\"0x%" PRIx64 "\",\"arg_start\":\"0x%" PRIx64 "\","
			       "\"arg_end\":\"0x%" PRIx64 "\"}",
			       t[i].uid, t[i].euid, t[i].suid, t[i].fsuid, t[i].gid, t[i].egid,
			       t[i].sgid, t[i].fsgid, t[i].kthread ? "true" : "false", t[i].task,
			       t[i].pgd, t[i].cr3, t[i].arg_start, t[i].arg_end);
		} else {
			char cr3[24] = "-";

			if (t[i].cr3)
				snprintf(cr3, sizeof(cr3), "0x%" PRIx64, t[i].cr3);
			printf("%7d %7d %c %6u %6u %6u %6u %18s %s\n", t[i].pid, t[i].ppid,
			       t[i].state, t[i].uid, t[i].euid, t[i].gid, t[i].egid, cr3,
			       t[i].name);
		}
	}
	if (json)
		printf("\n]\n");
	free(t);
	return 0;
}

int ctl_linux__lsmod(struct ctl *c, int argc __attribute__((unused)),
		     char **argv __attribute__((unused)))
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	int n = vmscope_linux_modules(lx, NULL, 0);
	struct vmscope_linux_module *m;

	if (n < 0)
		return n;
	m = calloc((size_t)n + 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	n = vmscope_linux_modules(lx, m, (size_t)n + 1);
	if (json)
		printf("[");
	for (int i = 0; i < n; i++) {
		if (json) {
			printf("%s\n{\"name\":", i ? "," : "");
			json_str(m[i].name);
			printf(",\"size\":%u,\"refcount\":%d,\"state\":\"%s\",\"base\":\"0x%" PRIx64
			       "\",\"module\":\"0x%" PRIx64 "\"}",
			       m[i].size, m[i].refcount, m[i].state, m[i].base, m[i].module);
		} else {
			/* the /proc/modules format */
			printf("%s %u %d - %s 0x%016" PRIx64 "\n", m[i].name, m[i].size,
			       m[i].refcount, m[i].state, m[i].base);
		}
	}
	if (json)
		printf("%s]\n", n ? "\n" : "");
	free(m);
	return n < 0 ? n : 0;
}

int ctl_linux__dmesg(struct ctl *c, int argc __attribute__((unused)),
		     char **argv __attribute__((unused)))
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	int64_t n = vmscope_linux_dmesg(lx, NULL, 0);
	char *buf;

	if (n < 0)
		return (int)n;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	n = vmscope_linux_dmesg(lx, buf, (size_t)n + 1);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (json) {
		char *line = buf, *nl;

		printf("[");
		for (int first = 1; *line; line = nl + 1, first = 0) {
			nl = strchr(line, '\n');
			if (!nl)
				break;
			*nl = 0;
			printf("%s\n", first ? "" : ",");
			json_str(line);
		}
		printf("\n]\n");
	} else {
		fputs(buf, stdout);
	}
	free(buf);
	return 0;
}

int ctl_linux__syscalls(struct ctl *c, int argc __attribute__((unused)),
			char **argv __attribute__((unused)))
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	int n = vmscope_linux_syscall_count(lx);
	char name[128];

	if (n < 0)
		return n;
	if (json)
		printf("[");
	for (int i = 0; i < n; i++) {
		if (vmscope_linux_syscall_name(lx, (unsigned)i, name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "?");
		if (json) {
			printf("%s\n{\"nr\":%d,\"name\":", i ? "," : "", i);
			json_str(name);
			printf("}");
		} else {
			printf("%3d %s\n", i, name);
		}
	}
	if (json)
		printf("\n]\n");
	return 0;
}

/* read PID VA LEN */
int ctl_linux__read(struct ctl *c, int argc __attribute__((unused)), char **argv)
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	uint64_t pid, va, len;
	uint8_t *buf;
	int64_t got;

	if (ctl__parse_u64(argv[0], INT32_MAX, &pid) || ctl__parse_u64(argv[1], UINT64_MAX, &va) ||
	    ctl__parse_u64(argv[2], CTL_LINUX_MAX_READ, &len))
		return CTL_BAD_ARGS;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	got = vmscope_linux_read_task(lx, (int32_t)pid, va, buf, len);
	if (got < 0) {
		free(buf);
		return (int)got;
	}
	if (json) {
		printf("{\"pid\":%d,\"va\":\"0x%" PRIx64 "\",\"len\":%" PRId64 ",\"hex\":\"",
		       (int)pid, va, got);
		for (int64_t i = 0; i < got; i++)
			printf("%02x", buf[i]);
		printf("\"}\n");
	} else {
		for (int64_t i = 0; i < got; i += 16) {
			printf("%016" PRIx64 ":", va + (uint64_t)i);
			for (int64_t j = i; j < i + 16 && j < got; j++)
				printf(" %02x", buf[j]);
			printf("  ");
			for (int64_t j = i; j < i + 16 && j < got; j++)
				putchar(buf[j] >= 0x20 && buf[j] < 0x7f ? buf[j] : '.');
			putchar('\n');
		}
	}
	free(buf);
	return 0;
}

/* cmdline PID */
int ctl_linux__cmdline(struct ctl *c, int argc __attribute__((unused)), char **argv)
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	char buf[4096];
	uint64_t pid;
	int64_t n;

	if (ctl__parse_u64(argv[0], INT32_MAX, &pid))
		return CTL_BAD_ARGS;
	n = vmscope_linux_cmdline(lx, (int)pid, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (json) {
		printf("{\"pid\":%d,\"cmdline\":", (int)pid);
		json_str(buf);
		printf("}\n");
	} else {
		printf("%s\n", buf);
	}
	return 0;
}

/* sym NAME */
int ctl_linux__sym(struct ctl *c, int argc __attribute__((unused)), char **argv)
{
	vmscope_linux_t *lx = c->lx;
	int json = c->o->json;
	uint64_t a;
	int r = vmscope_linux_symbol(lx, argv[0], &a);

	if (r == 0)
		printf(json ? "{\"name\":\"%s\",\"addr\":\"0x%" PRIx64 "\"}\n"
			    : "%s 0x%016" PRIx64 "\n", argv[0], a);
	return r;
}
