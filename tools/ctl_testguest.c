/* The embedded test guest as vmscope-ctl sees it: symbols and the task table. */
#include "ctl_testguest.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Looks name up in the ELF's symbol table; *pa from the PT_LOAD that holds it. */
int testguest__symbol(const char *path, const char *name, uint64_t *va, uint64_t *pa)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const uint8_t *m;
	const Elf64_Ehdr *eh;
	int r = -ENOENT;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return -EINVAL;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	eh = (const Elf64_Ehdr *)m;
	size_t size = (size_t)st.st_size;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff > size || (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff ||
	    eh->e_phoff > size || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff) {
		r = -EINVAL;
		goto out;
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum && r == -ENOENT; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *strs = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset ||
		    strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)(m + sh[i].sh_offset);
		size_t n = sh[i].sh_size / sizeof(*sym);
		const char *str = (const char *)m + strs->sh_offset;
		for (size_t k = 0; k < n; k++) {
			if (sym[k].st_name >= strs->sh_size)
				continue;
			if (strncmp(str + sym[k].st_name, name, strs->sh_size - sym[k].st_name) == 0) {
				*va = sym[k].st_value;
				r = 0;
				break;
			}
		}
	}
	if (r == 0) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(m + eh->e_phoff);

		r = -ERANGE;
		for (unsigned i = 0; i < eh->e_phnum; i++) {
			if (ph[i].p_type == PT_LOAD && *va >= ph[i].p_vaddr &&
			    *va - ph[i].p_vaddr < ph[i].p_memsz) {
				*pa = ph[i].p_paddr + (*va - ph[i].p_vaddr);
				r = 0;
				break;
			}
		}
	}
out:
	munmap((void *)m, size);
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
