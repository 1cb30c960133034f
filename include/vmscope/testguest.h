/*
 * The embedded test guest's interface to the outside, shared by the guest
 * (guest/), the hypervisor (its devices) and introspection clients.
 *
 * Ports:
 *   TG_PORT_DEBUG_EXIT  32-bit out: the guest is done, vmscope exits with the
 *                       value as its status.  (QEMU's isa-debug-exit at the
 *                       same port exits with (value << 1) | 1.)
 *   TG_PORT_UCALL       32-bit out of the guest-physical address of a
 *                       struct tg_ucall: a structured report to the host, for
 *                       tests (like the KVM selftests' ucall).
 *   0x3f8               COM1, the serial console.
 *
 * Entry, when started by vmscope (the ELF carries a TG_NOTE_* note that
 * asks for it): every vCPU starts in 64-bit mode at the ELF entry, with the
 * low 4 GiB identity-mapped, rdi = its vCPU index, rdx = the number of vCPUs
 * and rsi = the guest-physical address of a Linux boot_params page (command
 * line and e820 map).  Under another PVH loader (QEMU microvm) the guest
 * enters through its PVH note in 32-bit mode and runs on one CPU.
 */
#ifndef VMSCOPE_TESTGUEST_H
#define VMSCOPE_TESTGUEST_H

#include <stdint.h>

#define TG_PORT_DEBUG_EXIT 0x501
#define TG_PORT_UCALL      0x510

/* ELF note (name "vmscope") asking vmscope to start all vCPUs at the entry. */
#define TG_NOTE_NAME          "vmscope"
#define TG_NOTE_ALL_CPUS_64   1

enum tg_ucall_kind {
	TG_UCALL_BOOT = 1,      /* args[0] = vCPU index of the caller */
	TG_UCALL_CPUS = 2,      /* args[0] = vCPUs online */
	TG_UCALL_TASK_DONE = 3, /* args[0] = task id, args[1] = result, args[2] = syscalls made */
	TG_UCALL_SYNC = 4,      /* args[0] = stage, args[1..] = values: free-form test checkpoints */
	TG_UCALL_FAIL = 5,      /* args[0] = line; msg = what failed */
	TG_UCALL_DONE = 6,      /* args[0] = number of tasks that ran */
};

/*
 * TG_UCALL_SYNC stage of the guest's virtio-blk check, made only when a
 * virtio-blk device is on PCI bus 0: the guest wrote sector 1 (qword i =
 * TG_DISK_PATTERN + i) and read sector 0.  args[1] = sector 0's first 8
 * bytes, args[2] = the write's virtio status, args[3] = the read's,
 * args[4] = tg_disk_hash() of sector 0.
 */
#define TG_SYNC_DISK    0x4b534944 /* "DISK" */
#define TG_DISK_PATTERN 0x5644534b00000000ULL

/* The hash in args[4]: over the 64 little-endian qwords of a sector. */
static inline uint64_t tg_disk_hash(const uint64_t *q)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < 64; i++)
		h = (h ^ q[i]) * 0x100000001b3ULL;
	return h;
}

struct tg_ucall {
	uint32_t kind; /* enum tg_ucall_kind */
	uint32_t nr_args;
	uint64_t args[6];
	char msg[64]; /* NUL-terminated */
};

/* The task table lives in guest kernel memory at the symbol tg_task_table. */
#define TG_TASK_TABLE_MAGIC 0x4b53415447534d56ULL /* "VMSGTASK" */
#define TG_MAX_TASKS 8
#define TG_TASK_NAME_LEN 16

enum tg_task_state { TG_TASK_FREE = 0, TG_TASK_READY = 1, TG_TASK_RUNNING = 2, TG_TASK_EXITED = 3 };

struct tg_task {
	uint32_t id;          /* 1, 2, 3 ... */
	uint32_t state;       /* enum tg_task_state */
	uint32_t cpu;         /* vCPU it runs on */
	uint32_t exit_code;
	char name[TG_TASK_NAME_LEN];
	uint64_t cr3;         /* its own address space */
	uint64_t user_name_va;/* where its name is also stored, in its own address space */
	uint64_t result;      /* the result of its work, once exited */
	uint64_t syscalls;    /* system calls it made */
	uint64_t kernel_rsp;  /* saved kernel stack pointer while switched out */
};

struct tg_task_table {
	uint64_t magic;       /* TG_TASK_TABLE_MAGIC */
	uint32_t nr_tasks;
	uint32_t cpus_online;
	struct tg_task tasks[TG_MAX_TASKS];
};

/* System calls (rax = number, rdi, rsi, rdx = arguments, result in rax). */
enum tg_syscall {
	TG_SYS_WRITE = 1, /* (buf, len): console output; returns len */
	TG_SYS_YIELD = 2, /* (): let the next task on this vCPU run */
	TG_SYS_EXIT = 3,  /* (code, result): end the task, leaving its 64-bit result */
	TG_SYS_GETID = 4, /* (): the task id */
};

#endif
