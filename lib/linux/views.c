/*
 * Linux views: processes, modules, the kernel log and the system-call table,
 * read from guest memory with the layouts the BTF gave.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "linux.h"

#define MAX_LIST 100000 /* no kernel list we walk is longer: a loop guard */
#define PF_KTHREAD 0x00200000u
#define PF_WQ_WORKER 0x00000020u
#define KERNEL_MAP_START_ANY 0xffff800000000000ULL /* kernel half of the address space */

static uint64_t sym(struct vmscope_linux *lx, const char *name)
{
	const struct linux_sym *s = linux_syms__find(&lx->syms, name);

	return s ? s->addr : 0;
}

static uint64_t get64(const uint8_t *b, long off)
{
	uint64_t v;

	memcpy(&v, b + off, 8);
	return v;
}

static uint32_t get32(const uint8_t *b, long off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

/* The state letter /proc shows (fs/proc/array.c, __task_state_index). */
static char task_state(uint32_t state, uint32_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	unsigned s = (state | exit_state) & 0x7f; /* TASK_REPORT */
	unsigned idx = 0;

	if ((state & 0x402) == 0x402) /* TASK_IDLE: UNINTERRUPTIBLE | NOLOAD */
		s = 0x80;
	if (state == 0x1000) /* TASK_RTLOCK_WAIT */
		s = 2;
	while (s) {
		idx++;
		s >>= 1;
	}
	return idx < sizeof(letters) - 1 ? letters[idx] : '?';
}

/* The name /proc shows (fs/proc/array.c proc_task_name). */
static void task_name(struct vmscope_linux *lx, const uint8_t *buf, struct vmscope_linux_task *t)
{
	const struct linux_layout *l = &lx->lay;
	uint32_t flags = l->task_flags >= 0 ? get32(buf, l->task_flags) : 0;
	uint64_t kthread, p;

	snprintf(t->name, sizeof(t->name), "%s", t->comm);
	if (!(flags & PF_KTHREAD) || l->task_kthread < 0)
		return;
	kthread = get64(buf, l->task_kthread);
	if (!kthread)
		return;
	if (flags & PF_WQ_WORKER) {
		uint64_t worker, pool, cur = 0;
		char desc[24] = "";

		if (l->kthread_data < 0 || l->worker_desc < 0 || l->worker_pool < 0 ||
		    linux__read_u64(lx, kthread + (uint64_t)l->kthread_data, &worker) < 0 || !worker ||
		    linux__read_u64(lx, worker + (uint64_t)l->worker_pool, &pool) < 0 || !pool ||
		    linux__read(lx, worker + (uint64_t)l->worker_desc, desc, sizeof(desc) - 1) < 0)
			return;
		if (l->worker_current_work >= 0)
			linux__read_u64(lx, worker + (uint64_t)l->worker_current_work, &cur);
		if (desc[0])
			snprintf(t->name, sizeof(t->name), "%s%c%s", t->comm, cur ? '+' : '-', desc);
		return;
	}
	if (l->kthread_full_name >= 0 &&
	    linux__read_u64(lx, kthread + (uint64_t)l->kthread_full_name, &p) == 0 && p)
		vmscope_read_str_va(lx->vm, lx->kcr3, p, t->name, sizeof(t->name));
}

static int task_read(struct vmscope_linux *lx, uint64_t task, uint8_t *buf, size_t tsize,
		     struct vmscope_linux_task *t)
{
	const struct linux_layout *l = &lx->lay;
	uint64_t parent, mm, cred;
	uint32_t v;
	int r;

	if ((r = linux__read(lx, task, buf, tsize)) < 0)
		return r;
	memset(t, 0, sizeof(*t));
	t->task = task;
	t->pid = (int32_t)get32(buf, l->task_pid);
	t->tgid = (int32_t)get32(buf, l->task_tgid);
	memcpy(t->comm, buf + l->task_comm, 15);
	t->state = task_state(get32(buf, l->task_state),
			      l->task_exit_state >= 0 ? get32(buf, l->task_exit_state) : 0);
	parent = get64(buf, l->task_real_parent);
	if (parent && linux__read_u32(lx, parent + (uint64_t)l->task_tgid, &v) == 0)
		t->ppid = (int32_t)v;
	if (t->pid == 0 || parent == task)
		t->ppid = 0;
	mm = get64(buf, l->task_mm);
	t->kthread = !mm || (l->task_flags >= 0 && (get32(buf, l->task_flags) & PF_KTHREAD));
	if (mm && l->mm_pgd >= 0 && linux__read_u64(lx, mm + (uint64_t)l->mm_pgd, &t->pgd) == 0) {
		/* pgd is a direct-map address: the kernel's page tables say where it is */
		if (vmscope_translate(lx->vm, lx->kcr3, t->pgd, vmscope_va_flags(lx->vm), &t->cr3, NULL) < 0)
			t->cr3 = 0;
		if (l->mm_arg_start >= 0) {
			linux__read_u64(lx, mm + (uint64_t)l->mm_arg_start, &t->arg_start);
			linux__read_u64(lx, mm + (uint64_t)l->mm_arg_end, &t->arg_end);
		}
	}
	task_name(lx, buf, t);
	cred = l->task_cred >= 0 ? get64(buf, l->task_cred) : 0;
	if (cred && l->cred_uid >= 0) {
		uint8_t c[256];
		long hi = l->cred_fsgid + 4;

		if (hi <= (long)sizeof(c) && linux__read(lx, cred, c, (size_t)hi) == 0) {
			t->uid = get32(c, l->cred_uid), t->gid = get32(c, l->cred_gid);
			t->suid = get32(c, l->cred_suid), t->sgid = get32(c, l->cred_sgid);
			t->euid = get32(c, l->cred_euid), t->egid = get32(c, l->cred_egid);
			t->fsuid = get32(c, l->cred_fsuid), t->fsgid = get32(c, l->cred_fsgid);
		}
	}
	return 0;
}

int vmscope_linux_tasks(vmscope_linux_t *lx, struct vmscope_linux_task *out, size_t max)
{
	const struct linux_layout *l = &lx->lay;
	uint64_t init = sym(lx, "init_task"), head, node;
	__s32 id = btf__find_by_name_kind(lx->btf, "task_struct", BTF_KIND_STRUCT);
	size_t tsize = id > 0 ? (size_t)btf__resolve_size(lx->btf, id) : 0;
	uint8_t *buf;
	int n = 0, r;

	if (!init)
		return target__fail(lx->vm, -ENOENT, "no init_task symbol");
	if (!tsize || tsize > (1u << 20))
		return target__fail(lx->vm, -EPROTO, "BTF: odd task_struct size");
	buf = malloc(tsize);
	if (!buf)
		return -ENOMEM;
	head = init + (uint64_t)l->task_tasks;
	if ((r = linux__read_u64(lx, head, &node)) < 0)
		goto out;
	while (node != head) {
		struct vmscope_linux_task t;

		if (n >= MAX_LIST) {
			r = target__fail(lx->vm, -ELOOP, "task list longer than %d", MAX_LIST);
			goto out;
		}
		if ((r = task_read(lx, node - (uint64_t)l->task_tasks, buf, tsize, &t)) < 0) {
			target__fail(lx->vm, r, "task list: cannot read task at 0x%" PRIx64,
				     node - (uint64_t)l->task_tasks);
			goto out;
		}
		if ((size_t)n < max)
			out[n] = t;
		n++;
		if ((r = linux__read_u64(lx, node, &node)) < 0)
			goto out;
	}
	r = n;
out:
	free(buf);
	return r;
}

int vmscope_linux_task(vmscope_linux_t *lx, int32_t pid, struct vmscope_linux_task *out)
{
	int n = vmscope_linux_tasks(lx, NULL, 0);
	struct vmscope_linux_task *all;

	if (n < 0)
		return n;
	all = calloc((size_t)n + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = vmscope_linux_tasks(lx, all, (size_t)n + 1);
	for (int i = 0; i < n; i++)
		if (all[i].pid == pid) {
			*out = all[i];
			free(all);
			return 0;
		}
	free(all);
	return n < 0 ? n : target__fail(lx->vm, -ESRCH, "no process %d", pid);
}

int64_t vmscope_linux_read_task(vmscope_linux_t *lx, int32_t pid, uint64_t va, void *buf, size_t len)
{
	struct vmscope_linux_task t;
	int r = vmscope_linux_task(lx, pid, &t);

	if (r < 0)
		return r;
	if (!t.cr3)
		return target__fail(lx->vm, -EINVAL, "process %d is a kernel thread", pid);
	return vmscope_read_va(lx->vm, t.cr3, va, buf, len);
}

int64_t vmscope_linux_cmdline(vmscope_linux_t *lx, int32_t pid, char *buf, size_t max)
{
	struct vmscope_linux_task t;
	uint64_t len;
	int64_t got;
	int r = vmscope_linux_task(lx, pid, &t);

	if (r < 0)
		return r;
	if (!max)
		return -EINVAL;
	buf[0] = 0;
	if (!t.cr3 || t.arg_end <= t.arg_start)
		return 0;
	len = t.arg_end - t.arg_start;
	if (len > max - 1)
		len = max - 1;
	got = vmscope_read_va(lx->vm, t.cr3, t.arg_start, buf, len);
	if (got < 0)
		return got;
	buf[got] = 0;
	/* NULs between arguments become spaces; a trailing one ends the line */
	while (got > 0 && buf[got - 1] == 0)
		got--;
	for (int64_t i = 0; i < got; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[got] = 0;
	return got;
}

/* ---- modules --------------------------------------------------------------- */

int vmscope_linux_modules(vmscope_linux_t *lx, struct vmscope_linux_module *out, size_t max)
{
	const struct linux_layout *l = &lx->lay;
	uint64_t head = sym(lx, "modules"), node;
	int n = 0, r;

	if (!head)
		return target__fail(lx->vm, -ENOENT, "no modules symbol");
	if (l->mod_list < 0 || l->mod_name < 0 || l->mod_state < 0)
		return target__fail(lx->vm, -EPROTO, "BTF: struct module lacks list/name/state");
	if ((r = linux__read_u64(lx, head, &node)) < 0)
		return r;
	while (node != head) {
		struct vmscope_linux_module m = { 0 };
		uint64_t mod = node - (uint64_t)l->mod_list;
		uint32_t state = 0, v;

		if (n >= MAX_LIST)
			return target__fail(lx->vm, -ELOOP, "module list too long");
		m.module = mod;
		if ((r = linux__read(lx, mod + (uint64_t)l->mod_name, m.name, sizeof(m.name) - 1)) < 0 ||
		    (r = linux__read_u32(lx, mod + (uint64_t)l->mod_state, &state)) < 0)
			return target__fail(lx->vm, r, "cannot read module at 0x%" PRIx64, mod);
		if ((int)state != l->mod_state_unformed) {
			if (l->mod_refcnt >= 0 &&
			    linux__read_u32(lx, mod + (uint64_t)l->mod_refcnt, &v) == 0)
				m.refcount = (int32_t)v - 1; /* MODULE_REF_BASE */
			for (unsigned i = 0; l->mod_core_size >= 0 && i < (l->mod_mem_n ? l->mod_mem_n : 1);
			     i++)
				if (linux__read_u32(lx, mod + (uint64_t)l->mod_core_size +
							    (uint64_t)i * l->mod_mem_stride, &v) == 0)
					m.size += v;
			if (l->mod_init_size >= 0 &&
			    linux__read_u32(lx, mod + (uint64_t)l->mod_init_size, &v) == 0)
				m.size += v;
			if (l->mod_core_base >= 0)
				linux__read_u64(lx, mod + (uint64_t)l->mod_core_base, &m.base);
			snprintf(m.state, sizeof(m.state), "%s",
				 (int)state == l->mod_state_going    ? "Unloading" :
				 (int)state == l->mod_state_coming   ? "Loading" : "Live");
			if ((size_t)n < max)
				out[n] = m;
			n++;
		}
		if ((r = linux__read_u64(lx, node, &node)) < 0)
			return r;
	}
	return n;
}

/* ---- the kernel log: the lockless printk ring buffer (5.10+) --------------- */

struct prb_layout {
	long count_bits, descs, infos, head_id, tail_id, size_bits, data;
	long state_var, text_begin, text_next, desc_size;
	long seq, ts_nsec, text_len, info_size;
};

static int prb_layout(struct vmscope_linux *lx, struct prb_layout *p)
{
	const struct btf *b = lx->btf;
	__s32 d = btf__find_by_name_kind(b, "prb_desc", BTF_KIND_STRUCT);
	__s32 i = btf__find_by_name_kind(b, "printk_info", BTF_KIND_STRUCT);

	p->count_bits = linux_btf__offset(b, "printk_ringbuffer", "desc_ring.count_bits");
	p->descs = linux_btf__offset(b, "printk_ringbuffer", "desc_ring.descs");
	p->infos = linux_btf__offset(b, "printk_ringbuffer", "desc_ring.infos");
	p->head_id = linux_btf__offset(b, "printk_ringbuffer", "desc_ring.head_id");
	p->tail_id = linux_btf__offset(b, "printk_ringbuffer", "desc_ring.tail_id");
	p->size_bits = linux_btf__offset(b, "printk_ringbuffer", "text_data_ring.size_bits");
	p->data = linux_btf__offset(b, "printk_ringbuffer", "text_data_ring.data");
	p->state_var = linux_btf__offset(b, "prb_desc", "state_var");
	p->text_begin = linux_btf__offset(b, "prb_desc", "text_blk_lpos.begin");
	p->text_next = linux_btf__offset(b, "prb_desc", "text_blk_lpos.next");
	p->seq = linux_btf__offset(b, "printk_info", "seq");
	p->ts_nsec = linux_btf__offset(b, "printk_info", "ts_nsec");
	p->text_len = linux_btf__offset(b, "printk_info", "text_len");
	p->desc_size = d > 0 ? btf__resolve_size(b, d) : -1;
	p->info_size = i > 0 ? btf__resolve_size(b, i) : -1;
	for (long *f = &p->count_bits; f <= &p->info_size; f++)
		if (*f < 0)
			return target__fail(lx->vm, -EPROTO,
					    "BTF: no printk ring buffer layout (kernel before 5.10?)");
	return 0;
}

struct outbuf {
	char *buf;
	size_t len, pos;
};

static void out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->pos < o->len) {
		size_t room = o->len - 1 - o->pos;

		memcpy(o->buf + o->pos, s, n < room ? n : room);
		o->buf[o->pos + (n < room ? n : room)] = 0;
	}
	o->pos += n;
}

#define DESC_STATE(sv) ((sv) >> 62)
#define DESC_ID_MASK (~(3ULL << 62))
enum { DESC_COMMITTED = 1, DESC_FINALIZED = 2 };

int64_t vmscope_linux_dmesg(vmscope_linux_t *lx, char *buf, size_t len)
{
	struct prb_layout p;
	struct outbuf o = { buf, len, 0 };
	uint64_t prb_sym = sym(lx, "prb"), prb, descs, infos, data, head, tail;
	uint32_t count_bits, size_bits;
	uint64_t count, size;
	uint8_t rb[256];
	char *text = NULL;
	int r;

	if (len)
		buf[0] = 0;
	if (!prb_sym)
		return target__fail(lx->vm, -ENOENT, "no prb symbol");
	if ((r = prb_layout(lx, &p)) < 0)
		return r;
	if (p.tail_id + 8 > (long)sizeof(rb) || p.data + 8 > (long)sizeof(rb))
		return target__fail(lx->vm, -EPROTO, "printk_ringbuffer larger than expected");
	if ((r = linux__read_u64(lx, prb_sym, &prb)) < 0 ||
	    (r = linux__read(lx, prb, rb, sizeof(rb))) < 0)
		return target__fail(lx->vm, r, "cannot read the printk ring buffer");
	count_bits = get32(rb, p.count_bits);
	size_bits = get32(rb, p.size_bits);
	descs = get64(rb, p.descs), infos = get64(rb, p.infos), data = get64(rb, p.data);
	head = get64(rb, p.head_id), tail = get64(rb, p.tail_id);
	if (count_bits > 24 || size_bits > 31)
		return target__fail(lx->vm, -EPROTO, "printk ring buffer: odd sizes");
	count = 1ULL << count_bits, size = 1ULL << size_bits;
	text = malloc(size + 1);
	if (!text)
		return -ENOMEM;
	for (uint64_t id = tail, guard = 0; guard <= count; id = (id + 1) & DESC_ID_MASK, guard++) {
		uint8_t d[64], info[128];
		uint64_t sv, begin, next, ts, idx = id & (count - 1), blk, blen;
		uint32_t tlen;
		char prefix[32];

		if (p.desc_size > (long)sizeof(d) || p.info_size > (long)sizeof(info))
			break;
		if (linux__read(lx, descs + idx * (uint64_t)p.desc_size, d, (size_t)p.desc_size) < 0 ||
		    linux__read(lx, infos + idx * (uint64_t)p.info_size, info, (size_t)p.info_size) < 0)
			break;
		sv = get64(d, p.state_var);
		if ((sv & DESC_ID_MASK) == (id & DESC_ID_MASK) &&
		    (DESC_STATE(sv) == DESC_COMMITTED || DESC_STATE(sv) == DESC_FINALIZED)) {
			begin = get64(d, p.text_begin), next = get64(d, p.text_next);
			tlen = (uint32_t)get64(info, p.text_len) & 0xffff;
			/* data-less records have bit 0 set in begin */
			if (!(begin & 1)) {
				if ((begin >> size_bits) == (next >> size_bits)) {
					blk = begin & (size - 1);
					blen = next - begin;
				} else { /* wrapped: the text starts at the beginning */
					blk = 0;
					blen = next & (size - 1);
				}
				if (blen >= 8 && blk + blen <= size &&
				    linux__read(lx, data + blk, text, blen) == 0) {
					/* the block is {unsigned long id; char text[]} */
					if (tlen > blen - 8)
						tlen = (uint32_t)(blen - 8);
					ts = get64(info, p.ts_nsec);
					snprintf(prefix, sizeof(prefix), "[%5" PRIu64 ".%06" PRIu64 "] ",
						 ts / 1000000000, (ts % 1000000000) / 1000);
					/* one line per text line, as dmesg prints them */
					const char *t = text + 8, *end = t + tlen;
					while (t <= end) {
						const char *nl = memchr(t, '\n', (size_t)(end - t));
						const char *e = nl ? nl : end;
						out_add(&o, prefix, strlen(prefix));
						out_add(&o, t, (size_t)(e - t));
						out_add(&o, "\n", 1);
						if (!nl)
							break;
						t = nl + 1;
					}
				}
			}
		}
		if (id == head)
			break;
	}
	free(text);
	return (int64_t)o.pos;
}

/* ---- system calls ---------------------------------------------------------- */

static int syscall_table(struct vmscope_linux *lx, uint64_t *table)
{
	const struct linux_sym *s = linux_syms__find(&lx->syms, "sys_call_table"), *next;
	int n;

	if (!s)
		return target__fail(lx->vm, -ENOENT, "no sys_call_table symbol");
	*table = s->addr;
	/* the table ends where the next symbol starts */
	next = s;
	while (next < lx->syms.v + lx->syms.n && next->addr == s->addr)
		next++;
	n = next < lx->syms.v + lx->syms.n ? (int)((next->addr - s->addr) / 8) : 0;
	if (n <= 0 || n > 2048)
		n = 512;
	/* trust the table only as far as its entries look like kernel text */
	for (int i = 0; i < n; i++) {
		uint64_t f;

		if (linux__read_u64(lx, *table + 8 * (uint64_t)i, &f) < 0 || f < lx->text)
			return i;
	}
	return n;
}

int vmscope_linux_syscall_count(vmscope_linux_t *lx)
{
	uint64_t t;

	return syscall_table(lx, &t);
}

int vmscope_linux_syscall_name(vmscope_linux_t *lx, unsigned nr, char *buf, size_t len)
{
	uint64_t t, f, off;
	int n = syscall_table(lx, &t);
	const char *name;

	if (n < 0)
		return n;
	if (nr >= (unsigned)n)
		return -ERANGE;
	if (linux__read_u64(lx, t + 8ULL * nr, &f) < 0)
		return -EFAULT;
	name = vmscope_linux_symbol_at(lx, f, &off);
	if (!name || off)
		return -ENOENT;
	if (!strncmp(name, "__x64_sys_", 10))
		name += 10;
	else if (!strncmp(name, "__x64_", 6))
		name += 6;
	else if (!strncmp(name, "sys_", 4))
		name += 4;
	snprintf(buf, len, "%s", name);
	return 0;
}

int vmscope_linux_syscall_entry(vmscope_linux_t *lx, uint64_t *va, uint64_t *pa)
{
	uint64_t e = sym(lx, "entry_SYSCALL_64");

	if (!e)
		return target__fail(lx->vm, -ENOENT, "no entry_SYSCALL_64 symbol");
	*va = e;
	return vmscope_translate(lx->vm, lx->kcr3, e, vmscope_va_flags(lx->vm), pa, NULL);
}

int vmscope_linux_syscall_decode(vmscope_linux_t *lx, const struct vmscope_regs *regs,
				 struct vmscope_linux_syscall *out)
{
	const struct linux_sym *cur = linux_syms__find(&lx->syms, "current_task");
	uint64_t gs, task;

	if (!cur)
		cur = linux_syms__find(&lx->syms, "pcpu_hot"); /* 6.2+: current_task first */
	memset(out, 0, sizeof(*out));
	out->nr = regs->rax;
	out->args[0] = regs->rdi, out->args[1] = regs->rsi, out->args[2] = regs->rdx;
	out->args[3] = regs->r10, out->args[4] = regs->r8, out->args[5] = regs->r9;
	out->user_rip = regs->rcx;
	if (regs->rax < 4096)
		vmscope_linux_syscall_name(lx, (unsigned)regs->rax, out->name, sizeof(out->name));
	/* at entry, before swapgs, the kernel's per-CPU base is in KERNEL_GS_BASE */
	gs = regs->gs.base >= KERNEL_MAP_START_ANY ? regs->gs.base : regs->kernel_gs_base;
	if (cur && gs && linux__read_u64(lx, gs + cur->addr, &task) == 0 && task) {
		uint32_t v;

		if (linux__read_u32(lx, task + (uint64_t)lx->lay.task_pid, &v) == 0)
			out->pid = (int32_t)v;
		if (linux__read_u32(lx, task + (uint64_t)lx->lay.task_tgid, &v) == 0)
			out->tgid = (int32_t)v;
		linux__read(lx, task + (uint64_t)lx->lay.task_comm, out->comm, sizeof(out->comm) - 1);
	}
	return 0;
}
