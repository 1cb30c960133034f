/* The embedded test guest as vmscope-ctl sees it: symbols and the task table. */
#include "ctl_testguest.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"

#ifndef VMSCOPE_GUEST_ELF_INSTALLED
#define VMSCOPE_GUEST_ELF_INSTALLED "/usr/local/libexec/vmscope/vmscope-guest.elf"
#endif
#ifndef VMSCOPE_GUEST_ELF_BUILD
#define VMSCOPE_GUEST_ELF_BUILD ""
#endif

const char *testguest__default_elf(void)
{
	if (access(VMSCOPE_GUEST_ELF_BUILD, R_OK) == 0)
		return VMSCOPE_GUEST_ELF_BUILD;
	return VMSCOPE_GUEST_ELF_INSTALLED;
}

struct symbol_query {
	const char *name;
	uint64_t va;
};

static int match_symbol(void *opaque, const Elf64_Sym *sym, const char *name)
{
	struct symbol_query *q = opaque;

	if (strcmp(name, q->name) != 0)
		return 0;
	q->va = sym->st_value;
	return 1;
}

/* Looks name up in the ELF's symbol table; *pa from the PT_LOAD that holds it. */
int testguest__symbol(const char *path, const char *name, uint64_t *va, uint64_t *pa)
{
	struct symbol_query q = { .name = name };
	struct elf_file f;
	char why[160];
	int r = elf_file__map(&f, path, why, sizeof(why));

	if (r < 0)
		return r;
	r = elf_file__symbols(&f, match_symbol, &q);
	if (r == 1) {
		*va = q.va;
		r = -ERANGE;
		for (uint64_t i = 0; i < f.phnum && r == -ERANGE; i++) {
			Elf64_Phdr ph = elf_file__phdr(&f, i);

			if (ph.p_type == PT_LOAD && q.va >= ph.p_vaddr && q.va - ph.p_vaddr < ph.p_memsz) {
				*pa = ph.p_paddr + (q.va - ph.p_vaddr);
				r = 0;
			}
		}
	} else if (r == 0) {
		r = -ENOENT;
	}
	elf_file__unmap(&f);
	return r;
}

int testguest__read_tasks(vmscope_t *vm, uint64_t pa, struct tg_task_table *tt)
{
	if (vmscope_read_pa(vm, pa, tt, sizeof(*tt)) != (int64_t)sizeof(*tt))
		return -EFAULT;
	if (tt->magic != TG_TASK_TABLE_MAGIC || tt->nr_tasks > TG_MAX_TASKS)
		return -EINVAL;
	return 0;
}

const struct tg_task *testguest__task_by_cr3(const struct tg_task_table *tt, uint64_t cr3)
{
	for (uint32_t i = 0; i < tt->nr_tasks; i++)
		if (tt->tasks[i].cr3 == (cr3 & ~0xfffULL))
			return &tt->tasks[i];
	return NULL;
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = { "free", "ready", "running", "exited" };

	return s < 4 ? n[s] : "?";
}

void testguest__print_tasks(vmscope_t *vm, const struct tg_task_table *tt, bool json)
{
	if (json)
		printf("[");
	else
		printf("%-3s %-8s %-3s %-10s %-16s %-16s %s\n", "ID", "STATE", "CPU", "CR3", "NAME",
		       "USER-NAME", "SYSCALLS");
	for (uint32_t i = 0; i < tt->nr_tasks; i++) {
		const struct tg_task *t = &tt->tasks[i];
		char name[TG_TASK_NAME_LEN + 1], uname[TG_TASK_NAME_LEN + 1] = "";

		memcpy(name, t->name, TG_TASK_NAME_LEN);
		name[TG_TASK_NAME_LEN] = 0;
		/* The same name again, through the task's own page tables. */
		if (vmscope_read_str_va(vm, t->cr3, t->user_name_va, uname, sizeof(uname)) < 0)
			strcpy(uname, "?");
		if (json)
			printf("%s{\"id\":%u,\"state\":\"%s\",\"cpu\":%u,\"cr3\":%" PRIu64
			       ",\"name\":\"%s\",\"user_name\":\"%s\",\"syscalls\":%" PRIu64 "}",
			       i ? "," : "", t->id, state_name(t->state), t->cpu, t->cr3, name, uname,
			       t->syscalls);
		else
			printf("%-3u %-8s %-3u 0x%-8" PRIx64 " %-16s %-16s %" PRIu64 "\n", t->id,
			       state_name(t->state), t->cpu, t->cr3, name, uname, t->syscalls);
	}
	if (json)
		printf("]\n");
}
