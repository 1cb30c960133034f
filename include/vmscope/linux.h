/*
 * libvmscope Linux awareness: a Linux guest seen from outside, without
 * profiles.  Included by vmscope.h (the library's one public header); do not
 * include it on its own.
 *
 * vmscope_linux_open() learns the kernel from the target itself:
 *   - structure layouts from the kernel's BTF: the vmlinux given in opts, or
 *     else the .BTF section found in guest memory;
 *   - symbols from opts->system_map, the vmlinux symbol table, or else the
 *     kernel's own kallsyms tables found in guest memory;
 *   - the KASLR offset from guest memory (the page tables that map the kernel
 *     image, checked against kallsyms_relative_base), never from the user.
 * vmscope_linux_info() says what was found and how.
 *
 * The views (tasks, modules, kernel log, system-call table) read the guest
 * when they are called; on a live target pause the guest first for a
 * consistent picture.  Arrays are filled up to max entries and the total
 * count is returned, so a caller can size its buffer with a first call.
 */
#ifndef VMSCOPE_LINUX_H
#define VMSCOPE_LINUX_H

#ifndef VMSCOPE_VMSCOPE_H
#error "include vmscope/vmscope.h, not vmscope/linux.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmscope_linux vmscope_linux_t;

struct vmscope_linux_opts {
	const char *vmlinux;    /* ELF vmlinux (BTF, maybe symbols), or NULL */
	const char *system_map; /* System.map, or NULL */
	unsigned flags;         /* 0 */
};

/*
 * Learns the Linux kernel running in vm (which must outlive the result).
 * opts may be NULL.  NULL with *err set on failure; vmscope_last_error(vm)
 * says why.
 */
vmscope_linux_t *vmscope_linux_open(vmscope_t *vm, const struct vmscope_linux_opts *opts, int *err);
void vmscope_linux_close(vmscope_linux_t *lx);

struct vmscope_linux_info {
	char release[65];        /* utsname release, e.g. "6.1.0-56-amd64" */
	char version[256];       /* linux_banner, first line */
	uint64_t text;           /* run-time address of _text */
	int64_t kaslr_offset;    /* text - 0xffffffff81000000 */
	uint64_t kernel_cr3;     /* physical address of the kernel's top page table */
	uint64_t btf_pa;         /* where .BTF was found in guest memory (0: from a file) */
	uint32_t btf_size;
	uint32_t nr_symbols;
	char kaslr_how[192];     /* how the KASLR offset was found */
	char btf_how[128];       /* where the BTF came from */
	char symbols_how[128];   /* where the symbols came from */
};
int vmscope_linux_info(vmscope_linux_t *lx, struct vmscope_linux_info *info);

/* Run-time address of a kernel symbol; 0 or -ENOENT. */
int vmscope_linux_symbol(vmscope_linux_t *lx, const char *name, uint64_t *addr);
/* Name of the symbol containing addr (and *off from it); NULL when none. */
const char *vmscope_linux_symbol_at(vmscope_linux_t *lx, uint64_t addr, uint64_t *off);

/* Reads kernel virtual memory (through the kernel's page tables), as vmscope_read_va. */
int64_t vmscope_linux_read_kva(vmscope_linux_t *lx, uint64_t va, void *buf, size_t len);

/* One process (thread-group leader), as /proc/<pid>/stat and status show it. */
struct vmscope_linux_task {
	int32_t pid, tgid, ppid;
	char state;              /* R S D T t X Z P I, as /proc shows */
	uint8_t kthread;         /* 1 for kernel threads (no mm) */
	uint8_t _pad[2];
	char comm[16];
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint64_t task;           /* kernel address of its task_struct */
	uint64_t pgd;            /* mm->pgd (kernel virtual address), 0 for kernel threads */
	uint64_t cr3;            /* mm->pgd translated: the page-table root, physical */
	uint64_t arg_start, arg_end; /* command line in its address space */
	/*
	 * The name /proc/<pid>/stat shows: comm, or for kernel threads their
	 * full name, and for workqueue workers "+desc" / "-desc" after it.
	 */
	char name[64];
};
/* Fills up to max tasks in list order (init_task's list); returns the total or -errno. */
int vmscope_linux_tasks(vmscope_linux_t *lx, struct vmscope_linux_task *out, size_t max);
/* Finds the task of pid; 0 or -ESRCH. */
int vmscope_linux_task(vmscope_linux_t *lx, int32_t pid, struct vmscope_linux_task *out);
/* Reads the memory of process pid at its virtual address va; as vmscope_read_va. */
int64_t vmscope_linux_read_task(vmscope_linux_t *lx, int32_t pid, uint64_t va, void *buf,
				size_t len);
/* Its command line, arguments separated by spaces; the length or -errno. */
int64_t vmscope_linux_cmdline(vmscope_linux_t *lx, int32_t pid, char *buf, size_t max);

/* One loaded module, as /proc/modules shows it. */
struct vmscope_linux_module {
	char name[56];
	uint32_t size;           /* core + init sizes */
	int32_t refcount;
	char state[12];          /* "Live", "Loading", "Unloading" */
	uint64_t base;           /* core text address */
	uint64_t module;         /* kernel address of its struct module */
};
int vmscope_linux_modules(vmscope_linux_t *lx, struct vmscope_linux_module *out, size_t max);

/*
 * The kernel log (printk ring buffer), one "[seconds.micros] text" line per
 * record as dmesg prints it, NUL-terminated.  Returns the full length (which
 * may exceed len - 1: then the text was cut) or -errno.
 */
int64_t vmscope_linux_dmesg(vmscope_linux_t *lx, char *buf, size_t len);

/*
 * System calls: the kernel's own sys_call_table.  Number of entries, and the
 * name of entry nr (the handler's symbol without "__x64_sys_", as strace
 * names it).
 */
int vmscope_linux_syscall_count(vmscope_linux_t *lx);
int vmscope_linux_syscall_name(vmscope_linux_t *lx, unsigned nr, char *buf, size_t len);

/*
 * Live system-call tracing: a breakpoint on the kernel's system-call entry
 * (entry_SYSCALL_64, the first instruction after `syscall`).  *va and *pa
 * receive its virtual and physical address (plant it with vmscope_set_bp_pa).
 */
int vmscope_linux_syscall_entry(vmscope_linux_t *lx, uint64_t *va, uint64_t *pa);

/* One system call as the registers show it at entry_SYSCALL_64 (x86-64 ABI). */
struct vmscope_linux_syscall {
	uint64_t nr;
	uint64_t args[6];        /* rdi rsi rdx r10 r8 r9 */
	uint64_t user_rip;       /* rcx: where the process continues */
	int32_t pid, tgid;       /* of the calling task (0 when unknown) */
	char comm[16];
	char name[48];           /* from the kernel's sys_call_table, or "" */
};
/*
 * Decodes regs taken at the system-call entry breakpoint; the caller is found
 * through the per-CPU current_task (the kernel GS base: swapgs has not run).
 */
int vmscope_linux_syscall_decode(vmscope_linux_t *lx, const struct vmscope_regs *regs,
				 struct vmscope_linux_syscall *out);

#ifdef __cplusplus
}
#endif

#endif
