/*
 * Linux awareness inside libvmscope (private).  One vmscope_linux holds what
 * vmscope_linux_open learned: the BTF, the symbols, the kernel's page tables
 * and the structure offsets the views use.
 */
#ifndef LIBVMSCOPE_LINUX_H
#define LIBVMSCOPE_LINUX_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"
#include "target.h"

struct btf;

/* The unrandomised address of _text on x86-64 (__START_KERNEL with PHYSICAL_START 16 MiB). */
#define LINUX_TEXT_DEFAULT 0xffffffff81000000ULL

struct linux_sym {
	uint64_t addr;
	char *name;
	char type;
};

struct linux_syms {
	struct linux_sym *v;      /* sorted by addr */
	struct linux_sym **by_name; /* sorted by name */
	unsigned n, cap;
	char *names;              /* one allocation for kallsyms names, or NULL */
};

/* Offsets (bytes) the views need, from the BTF; -1 when the kernel lacks it. */
struct linux_layout {
	long task_tasks, task_pid, task_tgid, task_comm, task_state, task_exit_state;
	long task_real_parent, task_mm, task_cred, task_flags;
	long cred_uid, cred_gid, cred_suid, cred_sgid, cred_euid, cred_egid, cred_fsuid, cred_fsgid;
	long mm_pgd, mm_arg_start, mm_arg_end;
	long task_kthread;         /* worker_private (5.17+) or set_child_tid: struct kthread * */
	long kthread_data, kthread_full_name;
	long worker_pool, worker_desc, worker_current_work;
	long mod_list, mod_name, mod_state, mod_refcnt;
	long mod_core_base, mod_core_size, mod_init_size;
	unsigned mod_mem_n, mod_mem_stride; /* 6.4+: mod->mem[] entries and their size */
	int mod_state_live, mod_state_coming, mod_state_going, mod_state_unformed;
	bool task_state_is_new; /* __state (5.14+) rather than state */
};

struct vmscope_linux {
	struct vmscope *vm;
	struct btf *btf;
	void *btf_buf;            /* raw BTF bytes copied from guest memory */
	struct linux_syms syms;
	uint64_t kcr3;            /* the kernel's page-table root (physical) */
	uint64_t text;            /* run-time _text */
	uint64_t text_pa;         /* its physical address; 0 until known */
	uint64_t link_text;       /* link-time _text (System.map / vmlinux); 0 when unknown */
	struct linux_layout lay;
	bool layout_done;
	struct vmscope_linux_info info;
};

/* btf.c */
int linux_btf__load_file(struct vmscope_linux *lx, const char *vmlinux);
int linux_btf__find_in_memory(struct vmscope_linux *lx);
/* Byte offset of a member (a dotted path, anonymous members searched), or -1. */
long linux_btf__offset(const struct btf *btf, const char *type, const char *path);
/* Element count and size of array member of struct type; -1 when it is no array. */
int linux_btf__array(const struct btf *btf, const char *type, const char *member, unsigned *n,
		     unsigned *elem_size);
/* Value of enumerator name in any enum, or def. */
long linux_btf__enum(const struct btf *btf, const char *name, long def);
int linux_btf__layout(struct vmscope_linux *lx);

/* ksyms.c */
int linux_syms__add(struct linux_syms *s, uint64_t addr, char type, const char *name);
void linux_syms__finish(struct linux_syms *s);
void linux_syms__free(struct linux_syms *s);
const struct linux_sym *linux_syms__find(const struct linux_syms *s, const char *name);
const struct linux_sym *linux_syms__at(const struct linux_syms *s, uint64_t addr);
int linux_syms__load_system_map(struct linux_syms *s, const char *path);
int linux_syms__load_elf(struct linux_syms *s, const char *path);
/*
 * Finds the kallsyms tables in guest-physical memory and decodes them;
 * *relative_base receives kallsyms_relative_base (the run-time _text base).
 */
int linux_syms__load_kallsyms(struct vmscope *vm, uint64_t text_pa, struct linux_syms *s,
			      uint64_t *relative_base, uint64_t *table_pa);

/* The kernel image's mapping: _text and everything the kernel links in. */
#define KERNEL_MAP_START 0xffffffff80000000ULL
#define KERNEL_MAP_END 0xffffffffc0000000ULL

/*
 * Guest-physical scanning (mem__scan's contract), in the kernel image's
 * physical range first when text_pa (its physical _text) is not 0.
 */
static inline int linux__scan_pa(struct vmscope *vm, uint64_t text_pa, const void *needle,
				 size_t nlen, int (*fn)(void *opaque, uint64_t pa), void *opaque)
{
	uint64_t end = text_pa ? text_pa + (KERNEL_MAP_END - KERNEL_MAP_START) : 0;

	return mem__scan_first(vm, text_pa, end, needle, nlen, fn, opaque);
}

/* Kernel virtual reads (through lx->kcr3). */
int linux__read(struct vmscope_linux *lx, uint64_t va, void *buf, size_t len);
int linux__read_u64(struct vmscope_linux *lx, uint64_t va, uint64_t *out);
int linux__read_u32(struct vmscope_linux *lx, uint64_t va, uint32_t *out);

#endif
