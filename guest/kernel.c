/*
 * The test guest's kernel (CPL0).  Under kvm_pvm every kernel instruction is
 * emulated (~1.5M/s), so this file stays short: static page tables and IDT
 * (data.S), no loops over memory, one `rep outsb` per console line.
 *
 * Per CPU: own GDT + 64-bit TSS, shared static IDT, syscall MSRs, GS base =
 * its struct tg_percpu.  Tasks are scheduled cooperatively; task i runs on
 * vCPU i % ncpus, each with its own CR3 and kernel stack.
 */
#include <stdint.h>
#include <stddef.h>
#include <vmscope/testguest.h>

#include "layout.h"

#define MSR_EFER           0xc0000080
#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_SFMASK         0xc0000084
#define MSR_GS_BASE        0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define EFER_SCE           1
#define COM1               0x3f8

struct tg_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct tg_percpu {
	struct tg_percpu *self;  /* TG_PC_SELF */
	uint64_t kstack_top;     /* TG_PC_KSTACK_TOP: current task's kernel stack */
	uint64_t user_rsp;       /* TG_PC_USER_RSP: scratch for the syscall entry */
	uint64_t sched_rsp;      /* the scheduler's saved stack pointer */
	struct tg_task *current;
	uint32_t cpu;
	uint32_t ncpus;
	uint64_t gdt[TG_GDT_ENTRIES] __attribute__((aligned(16)));
	struct tg_tss tss __attribute__((aligned(16)));
	struct tg_ucall ucall __attribute__((aligned(16)));
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct tg_percpu, self) == TG_PC_SELF, "percpu layout");
_Static_assert(offsetof(struct tg_percpu, kstack_top) == TG_PC_KSTACK_TOP, "percpu layout");
_Static_assert(offsetof(struct tg_percpu, user_rsp) == TG_PC_USER_RSP, "percpu layout");
_Static_assert(sizeof(struct tg_tss) == 104, "tss layout");
_Static_assert(TG_LAYOUT_NOTE_ALL_CPUS_64 == TG_NOTE_ALL_CPUS_64, "note type");
_Static_assert(sizeof(struct tg_task_table) == 16 + TG_MAX_TASKS * 72, "task table layout");

/* From entry.S / data.S. */
extern const uint64_t tg_gdt_template[TG_GDT_TEMPLATE];
extern const struct { uint16_t limit; uint64_t base; } __attribute__((packed)) tg_idtr;
extern uint64_t tg_kernel_pml4[512];
extern uint64_t tg_task0_pml4[512], tg_task1_pml4[512], tg_task2_pml4[512], tg_task3_pml4[512];
extern char tg_syscall_entry[], tg_task_start[];
void tg_load_gdt(const void *gdtr);
void tg_switch(uint64_t *save_rsp, uint64_t new_rsp);
void tg_park(void) __attribute__((noreturn));

/* Memory behind the per-task user pages (mapped by data.S's page tables). */
uint8_t tg_upages[TG_NR_TASKS][4096] __attribute__((aligned(4096)));
uint8_t tg_ustacks[TG_NR_TASKS][TG_USER_STACK_PAGES * 4096] __attribute__((aligned(4096)));
uint8_t tg_kstacks[TG_NR_TASKS][TG_KSTACK_SIZE] __attribute__((aligned(4096)));
uint8_t tg_boot_stacks[TG_MAX_CPUS][TG_KSTACK_SIZE] __attribute__((aligned(4096)));
uint8_t tg_ist_stacks[TG_MAX_CPUS][TG_KSTACK_SIZE] __attribute__((aligned(4096)));

struct tg_percpu tg_percpu[TG_MAX_CPUS];

#define TG_TASK(n, nm)                                                   \
	{ .id = (n) + 1, .state = TG_TASK_READY, .name = nm,             \
	  .cr3 = (uint64_t)(uintptr_t)tg_task##n##_pml4,                \
	  .user_name_va = TG_USER_PAGE_VA }

/* The task table an introspection client reads (layout: testguest.h). */
struct tg_task_table tg_task_table = {
	.magic = TG_TASK_TABLE_MAGIC,
	.nr_tasks = TG_NR_TASKS,
	.tasks = { TG_TASK(0, "alpha"), TG_TASK(1, "beta"),
		   TG_TASK(2, "gamma"), TG_TASK(3, "delta") },
};

/* Globals a debugger test can read. */
volatile uint32_t tg_ncpus;          /* vCPUs this boot was given */
volatile uint64_t tg_total_syscalls; /* all system calls, all CPUs */

static volatile uint32_t console_lock;
static char banner[] = "vmscope test guest: ? CPU(s)\n";
static const char done_line[] = "all 4 tasks done\n";
_Static_assert(TG_NR_TASKS == 4, "done_line");

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline struct tg_percpu *this_cpu(void)
{
	struct tg_percpu *pc;

	__asm__("mov %%gs:%c1, %0" : "=r"(pc) : "i"(TG_PC_SELF));
	return pc;
}

/* One console line = one `rep outsb` = one exit. */
static void console_write(const void *buf, uint64_t len)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	__asm__ volatile("rep outsb" : "+S"(buf), "+c"(len) : "d"(COM1) : "memory");
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static void ucall(struct tg_ucall *u, uint32_t kind, uint32_t nr_args,
		  uint64_t a0, uint64_t a1, uint64_t a2)
{
	u->kind = kind;
	u->nr_args = nr_args;
	u->args[0] = a0;
	u->args[1] = a1;
	u->args[2] = a2;
	u->args[3] = u->args[4] = u->args[5] = 0;
	u->msg[0] = 0;
	outl(TG_PORT_UCALL, (uint32_t)(uintptr_t)u);
}

/* Failure path (not performance-sensitive). */
static struct tg_ucall fail_ucall;
static char fail_line[160];

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_hex(char *p, uint64_t v)
{
	*p++ = '0';
	*p++ = 'x';
	for (int s = 60; s >= 0; s -= 4)
		*p++ = "0123456789abcdef"[(v >> s) & 15];
	return p;
}

static void __attribute__((noreturn)) fail(uint32_t code, uint32_t line, const char *msg,
					   const uint64_t *vals, int nvals)
{
	static const char *const names[] = { " vector ", " error ", " rip ", " cs ", " cr2 " };
	char *p = put_str(fail_line, "FAIL: ");
	char *m = fail_ucall.msg;

	p = put_str(p, msg);
	for (int i = 0; i < nvals; i++) {
		p = put_str(p, names[i]);
		p = put_hex(p, vals[i]);
	}
	*p++ = '\n';
	console_write(fail_line, (uint64_t)(p - fail_line));

	fail_ucall.kind = TG_UCALL_FAIL;
	fail_ucall.nr_args = (uint32_t)(1 + nvals);
	fail_ucall.args[0] = line;
	for (int i = 0; i < nvals && i < 5; i++)
		fail_ucall.args[1 + i] = vals[i];
	for (int i = 0; msg[i] && i < (int)sizeof(fail_ucall.msg) - 1; i++)
		*m++ = msg[i];
	*m = 0;
	outl(TG_PORT_UCALL, (uint32_t)(uintptr_t)&fail_ucall);
	outl(TG_PORT_DEBUG_EXIT, code);
	tg_park();
}

#define FAIL(msg) fail(TG_EXIT_FAIL, __LINE__, msg, 0, 0)

/* Frame built by the exception stubs in entry.S. */
struct tg_exc_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

void tg_exception(struct tg_exc_frame *f) __attribute__((noreturn));
void tg_exception(struct tg_exc_frame *f)
{
	uint64_t cr2;
	uint64_t vals[5];

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	vals[0] = f->vector;
	vals[1] = f->error;
	vals[2] = f->rip;
	vals[3] = f->cs;
	vals[4] = cr2;
	/* args: line, vector, error, rip, cs, cr2 */
	fail(TG_EXIT_EXCEPTION, __LINE__, "exception", vals, 5);
}

static uint64_t kstack_top(uint32_t i)
{
	return (uint64_t)(uintptr_t)&tg_kstacks[i][TG_KSTACK_SIZE];
}

static void cpu_init(struct tg_percpu *pc, uint32_t cpu, uint32_t ncpus)
{
	uint64_t tss = (uint64_t)(uintptr_t)&pc->tss;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr;

	pc->self = pc;
	pc->cpu = cpu;
	pc->ncpus = ncpus;
	for (int i = 0; i < TG_GDT_TEMPLATE; i++)
		pc->gdt[i] = tg_gdt_template[i];
	pc->gdt[TG_SEL_TSS >> 3] = (sizeof(struct tg_tss) - 1) | ((tss & 0xffffff) << 16) |
		     (0x89ULL << 40) | ((tss >> 24) & 0xff) << 56;
	pc->gdt[(TG_SEL_TSS >> 3) + 1] = tss >> 32;
	pc->tss.ist[0] = (uint64_t)(uintptr_t)&tg_ist_stacks[cpu][TG_KSTACK_SIZE];
	pc->tss.rsp[0] = (uint64_t)(uintptr_t)&tg_boot_stacks[cpu][TG_KSTACK_SIZE];
	pc->tss.iomap_base = sizeof(struct tg_tss);

	gdtr.limit = sizeof(pc->gdt) - 1;
	gdtr.base = (uint64_t)(uintptr_t)pc->gdt;
	tg_load_gdt(&gdtr);
	__asm__ volatile("ltr %w0" : : "r"(TG_SEL_TSS));
	__asm__ volatile("lidt %0" : : "m"(tg_idtr));

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* syscall: CS 0x10, SS 0x18; sysret: CS 0x20 + 16 = 0x33, SS 0x20 + 8 = 0x2b */
	wrmsr(MSR_STAR, ((uint64_t)(TG_SEL_UCODE32 & ~3) << 48) | ((uint64_t)TG_SEL_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)tg_syscall_entry);
	wrmsr(MSR_SFMASK, 0x47700); /* TF DF IF IOPL NT AC */
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)pc);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* System calls (rax, rdi, rsi, rdx), called from tg_syscall_entry. */
uint64_t tg_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
uint64_t tg_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct tg_percpu *pc = this_cpu();
	struct tg_task *t = pc->current;

	(void)a2;
	t->syscalls++;
	__atomic_fetch_add(&tg_total_syscalls, 1, __ATOMIC_RELAXED);
	switch (nr) {
	case TG_SYS_WRITE:
		/* (buf, len): the whole buffer must be user memory. */
		if (a0 < TG_USER_BASE || a1 > TG_USER_END - TG_USER_BASE ||
		    a0 > TG_USER_END - a1)
			return (uint64_t)-14; /* -EFAULT */
		console_write((const void *)(uintptr_t)a0, a1);
		return a1;
	case TG_SYS_YIELD:
		t->state = TG_TASK_READY;
		tg_switch(&t->kernel_rsp, pc->sched_rsp);
		return 0;
	case TG_SYS_EXIT:
		/* (code, result): result is an addition to testguest.h's (code). */
		t->exit_code = (uint32_t)a0;
		t->result = a1;
		t->state = TG_TASK_EXITED;
		ucall(&pc->ucall, TG_UCALL_TASK_DONE, 3, t->id, a1, t->syscalls);
		tg_switch(&t->kernel_rsp, pc->sched_rsp);
		FAIL("exited task resumed");
	case TG_SYS_GETID:
		return t->id;
	}
	return (uint64_t)-38; /* -ENOSYS */
}

/* Run this CPU's tasks round-robin until all have exited. */
static void schedule(struct tg_percpu *pc)
{
	uint64_t cr3 = (uint64_t)(uintptr_t)tg_kernel_pml4;

	for (;;) {
		int alive = 0;

		for (uint32_t i = pc->cpu; i < TG_NR_TASKS; i += pc->ncpus) {
			struct tg_task *t = &tg_task_table.tasks[i];

			if (t->state == TG_TASK_EXITED)
				continue;
			alive = 1;
			t->state = TG_TASK_RUNNING;
			pc->current = t;
			pc->kstack_top = pc->tss.rsp[0] = kstack_top(i);
			if (t->cr3 != cr3)
				write_cr3(cr3 = t->cr3);
			tg_switch(&pc->sched_rsp, t->kernel_rsp);
			pc->current = 0;
		}
		if (!alive)
			return;
	}
}

static void wait_for_all(uint32_t ncpus)
{
	volatile struct tg_task_table *tt = &tg_task_table;
	uint64_t start = rdtsc();

	for (;;) {
		uint32_t done = 0;

		for (uint32_t i = 0; i < TG_NR_TASKS; i++)
			done += tt->tasks[i].state == TG_TASK_EXITED;
		if (done == TG_NR_TASKS && tt->cpus_online == ncpus)
			return;
		if (rdtsc() - start > (1ULL << 37)) /* ~1 min at 2 GHz */
			FAIL("timeout waiting for the other vCPUs");
		for (int i = 0; i < 64; i++)
			__asm__ volatile("pause");
	}
}

/*
 * A tiny virtio-blk driver (virtio 1.x over PCI, polled), run by CPU 0 only
 * when a virtio-blk device is on PCI bus 0: writes sector 1, reads sector 0,
 * reports TG_SYNC_DISK.  Every config or BAR access is an exit: few of them.
 */
#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc
#define VIRTIO_BLK_ID 0x10421af4 /* device << 16 | vendor */
#define VQ_SIZE       4

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One page: descriptors at 0, available ring at 64, used ring at 128. */
static struct {
	struct vq_desc desc[VQ_SIZE];
	uint16_t avail_flags, avail_idx, avail_ring[VQ_SIZE], used_event;
	uint8_t pad[128 - 64 - 14];
	uint16_t used_flags, used_idx;
	struct { uint32_t id, len; } used_ring[VQ_SIZE];
	uint16_t avail_event;
} blk_vq __attribute__((aligned(4096)));
_Static_assert(offsetof(__typeof__(blk_vq), used_flags) == 128, "used ring at 128");

static struct {
	uint32_t type, reserved;
	uint64_t sector;
} blk_hdr __attribute__((aligned(16)));
static uint64_t blk_buf[64] __attribute__((aligned(512)));
static volatile uint8_t blk_status;
static char disk_line[] = "disk: read sector 0 (0x................), wrote sector 1\n";

static uint32_t conf_read(uint32_t dev, uint32_t off)
{
	outl(PCI_CONF_ADDR, 0x80000000u | dev << 11 | off);
	return inl(PCI_CONF_DATA);
}

#define MMIO8(a)  (*(volatile uint8_t *)(uintptr_t)(a))
#define MMIO16(a) (*(volatile uint16_t *)(uintptr_t)(a))
#define MMIO32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define MMIO64(a) (*(volatile uint64_t *)(uintptr_t)(a))

/* One request of type (0 in, 1 out) on sector, data in blk_buf; returns its status. */
static uint32_t blk_request(uint64_t notify, uint32_t type, uint64_t sector)
{
	volatile uint16_t *used_idx = &blk_vq.used_idx;
	uint16_t idx = blk_vq.avail_idx;
	uint64_t start = rdtsc();

	blk_hdr.type = type;
	blk_hdr.sector = sector;
	blk_status = 0xff;
	blk_vq.desc[0] = (struct vq_desc){ (uintptr_t)&blk_hdr, 16, 1, 1 };
	blk_vq.desc[1] = (struct vq_desc){ (uintptr_t)blk_buf, 512, type ? 1 : 3, 2 };
	blk_vq.desc[2] = (struct vq_desc){ (uintptr_t)&blk_status, 1, 2, 0 };
	blk_vq.avail_ring[idx % VQ_SIZE] = 0;
	__atomic_store_n(&blk_vq.avail_idx, (uint16_t)(idx + 1), __ATOMIC_SEQ_CST);
	MMIO16(notify) = 0;
	while (*used_idx != (uint16_t)(idx + 1)) {
		if (rdtsc() - start > (1ULL << 34)) /* ~8 s at 2 GHz */
			FAIL("virtio-blk request timed out");
		__asm__ volatile("pause" ::: "memory");
	}
	__asm__ volatile("" ::: "memory"); /* the device wrote blk_buf */
	return blk_status;
}

static void disk_check(struct tg_percpu *pc)
{
	uint32_t dev, ptr;
	uint64_t bar, common = 0, notify = 0, mult = 0, wst, rst;
	struct tg_ucall *u = &pc->ucall;

	for (dev = 0; dev < 32; dev++)
		if (conf_read(dev, 0) == VIRTIO_BLK_ID)
			break;
	if (dev == 32)
		return;
	bar = conf_read(dev, 0x10) & ~0xfu;
	if (bar < TG_PCI_MMIO_START || bar >= TG_PCI_MMIO_START + TG_PCI_MMIO_SIZE)
		FAIL("virtio-blk BAR0 outside the mapped window");
	outl(PCI_CONF_ADDR, 0x80000000u | dev << 11 | 4);
	outl(PCI_CONF_DATA, 0x6); /* memory space, bus master */
	for (ptr = conf_read(dev, 0x34) & 0xfc; ptr; ) {
		uint32_t w = conf_read(dev, ptr);

		if ((w & 0xff) == 9) { /* vendor-specific: cfg_type in byte 3 */
			uint64_t a = bar + conf_read(dev, ptr + 8);

			if ((w >> 24) == 1)
				common = a;
			else if ((w >> 24) == 2) {
				notify = a;
				mult = conf_read(dev, ptr + 16); /* notify_off_multiplier */
			}
		}
		ptr = (w >> 8) & 0xfc;
	}
	if (!common || !notify)
		FAIL("virtio-blk capabilities missing");

	MMIO8(common + 0x14) = 0;                   /* reset */
	MMIO8(common + 0x14) = 1 | 2;               /* ACKNOWLEDGE | DRIVER */
	MMIO32(common + 0x08) = 0;                  /* driver features 0..31: none */
	MMIO32(common + 0x0c) = 0;
	MMIO32(common + 0x08) = 1;                  /* 32..63: VIRTIO_F_VERSION_1 */
	MMIO32(common + 0x0c) = 1;
	MMIO8(common + 0x14) = 1 | 2 | 8;           /* FEATURES_OK */
	if (!(MMIO8(common + 0x14) & 8))
		FAIL("virtio-blk refused FEATURES_OK");
	MMIO16(common + 0x16) = 0;                  /* queue 0 */
	MMIO16(common + 0x18) = VQ_SIZE;
	MMIO64(common + 0x20) = (uintptr_t)blk_vq.desc;
	MMIO64(common + 0x28) = (uintptr_t)&blk_vq.avail_flags;
	MMIO64(common + 0x30) = (uintptr_t)&blk_vq.used_flags;
	MMIO16(common + 0x1c) = 1;
	/* notify address = cap offset + queue_notify_off * multiplier */
	notify += MMIO16(common + 0x1e) * mult;
	MMIO8(common + 0x14) = 1 | 2 | 8 | 4;       /* DRIVER_OK */

	for (int i = 0; i < 64; i++)
		blk_buf[i] = TG_DISK_PATTERN + (uint64_t)i;
	wst = blk_request(notify, 1, 1);
	rst = blk_request(notify, 0, 0);

	put_hex(disk_line + 21, blk_buf[0]);
	console_write(disk_line, sizeof(disk_line) - 1);
	u->kind = TG_UCALL_SYNC;
	u->nr_args = 5;
	u->args[0] = TG_SYNC_DISK;
	u->args[1] = blk_buf[0];
	u->args[2] = wst;
	u->args[3] = rst;
	u->args[4] = tg_disk_hash(blk_buf);
	u->args[5] = 0;
	u->msg[0] = 0;
	outl(TG_PORT_UCALL, (uint32_t)(uintptr_t)u);
}

/* Every vCPU comes here from entry.S, on its boot stack, with our CR3. */
void tg_kmain(uint64_t cpu, uint64_t boot_params, uint64_t ncpus) __attribute__((noreturn));
void tg_kmain(uint64_t cpu, uint64_t boot_params, uint64_t ncpus)
{
	struct tg_percpu *pc = &tg_percpu[cpu];
	uint32_t failed = 0;

	(void)boot_params;
	cpu_init(pc, (uint32_t)cpu, (uint32_t)ncpus);
	if (ncpus == 0 || ncpus > TG_MAX_CPUS || cpu >= ncpus)
		FAIL("bad vCPU count");
	if (cpu == 0) {
		tg_ncpus = (uint32_t)ncpus;
		banner[20] = (char)('0' + ncpus);
		console_write(banner, sizeof(banner) - 1);
	}
	ucall(&pc->ucall, TG_UCALL_BOOT, 1, cpu, 0, 0);
	if (cpu == 0)
		disk_check(pc);

	/* Take this CPU's tasks: name into the private page, first kernel frame. */
	for (uint32_t i = (uint32_t)cpu; i < TG_NR_TASKS; i += (uint32_t)ncpus) {
		struct tg_task *t = &tg_task_table.tasks[i];
		volatile struct tg_upage *up = (volatile struct tg_upage *)tg_upages[i];
		uint64_t *ks = (uint64_t *)(uintptr_t)kstack_top(i);
		const uint64_t *name = (const uint64_t *)(const void *)t->name;
		volatile uint64_t *uname = (volatile uint64_t *)(volatile void *)up->name;

		t->cpu = (uint32_t)cpu;
		uname[0] = name[0];
		uname[1] = name[1];
		up->id = t->id;
		ks[-1] = (uint64_t)(uintptr_t)tg_task_start; /* tg_switch returns there */
		t->kernel_rsp = (uint64_t)(uintptr_t)&ks[-7];
	}
	__atomic_fetch_add(&tg_task_table.cpus_online, 1, __ATOMIC_SEQ_CST);

	schedule(pc);
	write_cr3((uint64_t)(uintptr_t)tg_kernel_pml4);
	if (cpu != 0)
		tg_park();

	wait_for_all((uint32_t)ncpus);
	ucall(&pc->ucall, TG_UCALL_CPUS, 1, tg_task_table.cpus_online, 0, 0);
	for (uint32_t i = 0; i < TG_NR_TASKS; i++)
		failed |= tg_task_table.tasks[i].exit_code;
	if (failed)
		FAIL("a task exited with a non-zero code");
	console_write(done_line, sizeof(done_line) - 1);
	ucall(&pc->ucall, TG_UCALL_DONE, 1, TG_NR_TASKS, 0, 0);
	outl(TG_PORT_DEBUG_EXIT, TG_EXIT_OK);
	tg_park();
}
