/*
 * Structure layouts from the kernel's own BTF, read with libbpf: from a
 * vmlinux file, or from the .BTF section found in guest memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "linux.h"
#include "mem.h"

int linux_btf__load_file(struct vmscope_linux *lx, const char *vmlinux)
{
	struct btf *btf = btf__parse(vmlinux, NULL);

	if (!btf)
		return target__fail(lx->vm, -errno ? -errno : -EINVAL, "%s: no BTF: %s", vmlinux,
				    strerror(errno));
	if (btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT) < 0) {
		btf__free(btf);
		return target__fail(lx->vm, -EINVAL, "%s: its BTF has no task_struct", vmlinux);
	}
	lx->btf = btf;
	snprintf(lx->info.btf_how, sizeof(lx->info.btf_how), "file %s", vmlinux);
	return 0;
}

/* The fixed part of every BTF blob (uapi/linux/btf.h). */
struct btf_hdr_raw {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

struct btf_scan {
	struct vmscope_linux *lx;
	unsigned candidates;
};

static int btf_try(void *opaque, uint64_t pa)
{
	struct btf_scan *sc = opaque;
	struct vmscope_linux *lx = sc->lx;
	struct btf_hdr_raw h;
	uint64_t size;
	void *buf;
	struct btf *btf;
	__s32 id;

	if (vmscope_read_pa(lx->vm, pa, &h, sizeof(h)) != sizeof(h))
		return 0;
	/* Plausible: types first, strings after them, a few hundred KiB at least. */
	if (h.hdr_len != 24 || h.type_off != 0 || h.str_off != h.type_len ||
	    h.type_len < 4096 || h.str_len < 4096 || h.type_len > (64u << 20) ||
	    h.str_len > (64u << 20))
		return 0;
	sc->candidates++;
	size = (uint64_t)h.hdr_len + h.str_off + h.str_len;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	if (vmscope_read_pa(lx->vm, pa, buf, size) != (int64_t)size) {
		free(buf);
		return 0;
	}
	btf = btf__new(buf, (__u32)size);
	if (!btf) {
		free(buf);
		return 0;
	}
	id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	if (id < 0 || btf__resolve_size(btf, id) < 1024) {
		btf__free(btf); /* split (module) BTF or not the kernel's */
		free(buf);
		return 0;
	}
	lx->btf = btf;
	lx->btf_buf = buf;
	lx->info.btf_pa = pa;
	lx->info.btf_size = (uint32_t)size;
	snprintf(lx->info.btf_how, sizeof(lx->info.btf_how),
		 "guest memory: .BTF at physical 0x%llx, %llu bytes, %u types",
		 (unsigned long long)pa, (unsigned long long)size, btf__type_cnt(btf) - 1);
	return 1;
}

/* The .BTF section where the kernel's own symbols put it: no scan. */
static int btf_at_symbols(struct vmscope_linux *lx, struct btf_scan *sc)
{
	const struct linux_sym *start = linux_syms__find(&lx->syms, "__start_BTF");
	const struct linux_sym *stop = linux_syms__find(&lx->syms, "__stop_BTF");
	uint64_t pa;

	if (!start || !stop || stop->addr <= start->addr ||
	    vmscope_translate(lx->vm, lx->kcr3, start->addr, vmscope_va_flags(lx->vm), &pa,
			      NULL) < 0)
		return 0;
	return btf_try(sc, pa);
}

int linux_btf__find_in_memory(struct vmscope_linux *lx)
{
	/* magic 0xeB9F, version 1, flags 0, hdr_len 24, little-endian */
	static const uint8_t needle[8] = { 0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00 };
	struct btf_scan sc = { .lx = lx };
	bool by_symbols = linux_syms__find(&lx->syms, "__start_BTF") != NULL;
	int r = btf_at_symbols(lx, &sc);

	if (r == 0)
		r = linux__scan_pa(lx->vm, lx->text_pa, needle, sizeof(needle), btf_try, &sc);
	if (r < 0)
		return r;
	if (!lx->btf)
		return target__fail(lx->vm, -ENOENT,
				    "no kernel BTF in guest memory (looked %sfor its header, magic "
				    "0xeb9f, in all of RAM: %u candidates, none with a task_struct); "
				    "give the vmlinux (vmscope-ctl --vmlinux)",
				    by_symbols ? "at __start_BTF, then " : "", sc.candidates);
	return 0;
}

/* Offset in bits of member name inside type id (anonymous members searched), or -1. */
static long member_bits(const struct btf *btf, __u32 id, const char *name, __u32 *member_type)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	const struct btf_member *m;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
		return -1;
	m = btf_members(t);
	for (unsigned i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		long bits = (long)btf_member_bit_offset(t, i);

		if (mn && *mn) {
			if (strcmp(mn, name) == 0) {
				*member_type = m->type;
				return bits;
			}
			continue;
		}
		/* anonymous struct or union: look inside */
		long inner = member_bits(btf, m->type, name, member_type);
		if (inner >= 0)
			return bits + inner;
	}
	return -1;
}

long linux_btf__offset(const struct btf *btf, const char *type, const char *path)
{
	__s32 id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	char part[64];
	long off = 0;
	__u32 cur;

	if (id < 0)
		id = btf__find_by_name_kind(btf, type, BTF_KIND_UNION);
	if (id < 0)
		return -1;
	cur = (__u32)id;
	while (*path) {
		size_t n = strcspn(path, ".");
		long bits;

		if (n >= sizeof(part))
			return -1;
		memcpy(part, path, n);
		part[n] = 0;
		bits = member_bits(btf, cur, part, &cur);
		if (bits < 0 || bits % 8)
			return -1;
		off += bits / 8;
		/* Into an array: its element 0 ("mem.base" is mem[0].base). */
		const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, cur));
		if (t && btf_is_array(t))
			cur = btf_array(t)->type;
		path += n;
		if (*path == '.')
			path++;
	}
	return off;
}

int linux_btf__array(const struct btf *btf, const char *type, const char *member, unsigned *n,
		     unsigned *elem_size)
{
	__s32 id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_type *t;
	__u32 mt;
	__s64 sz;

	*n = *elem_size = 0;
	if (id < 0 || member_bits(btf, (__u32)id, member, &mt) < 0)
		return -1;
	t = btf__type_by_id(btf, btf__resolve_type(btf, mt));
	if (!t || !btf_is_array(t))
		return -1;
	sz = btf__resolve_size(btf, btf_array(t)->type);
	if (sz <= 0)
		return -1;
	*n = btf_array(t)->nelems;
	*elem_size = (unsigned)sz;
	return 0;
}

long linux_btf__enum(const struct btf *btf, const char *name, long def)
{
	__u32 n = btf__type_cnt(btf);

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (unsigned i = 0; i < btf_vlen(t); i++, e++)
			if (strcmp(btf__name_by_offset(btf, e->name_off), name) == 0)
				return e->val;
	}
	return def;
}

int linux_btf__layout(struct vmscope_linux *lx)
{
	const struct btf *b = lx->btf;
	struct linux_layout *l = &lx->lay;

	if (lx->layout_done)
		return 0;
	l->task_tasks = linux_btf__offset(b, "task_struct", "tasks");
	l->task_pid = linux_btf__offset(b, "task_struct", "pid");
	l->task_tgid = linux_btf__offset(b, "task_struct", "tgid");
	l->task_comm = linux_btf__offset(b, "task_struct", "comm");
	l->task_state = linux_btf__offset(b, "task_struct", "__state");
	l->task_state_is_new = l->task_state >= 0;
	if (l->task_state < 0)
		l->task_state = linux_btf__offset(b, "task_struct", "state");
	l->task_exit_state = linux_btf__offset(b, "task_struct", "exit_state");
	l->task_real_parent = linux_btf__offset(b, "task_struct", "real_parent");
	l->task_mm = linux_btf__offset(b, "task_struct", "mm");
	l->task_cred = linux_btf__offset(b, "task_struct", "cred");
	l->task_flags = linux_btf__offset(b, "task_struct", "flags");
	l->cred_uid = linux_btf__offset(b, "cred", "uid");
	l->cred_gid = linux_btf__offset(b, "cred", "gid");
	l->cred_suid = linux_btf__offset(b, "cred", "suid");
	l->cred_sgid = linux_btf__offset(b, "cred", "sgid");
	l->cred_euid = linux_btf__offset(b, "cred", "euid");
	l->cred_egid = linux_btf__offset(b, "cred", "egid");
	l->cred_fsuid = linux_btf__offset(b, "cred", "fsuid");
	l->cred_fsgid = linux_btf__offset(b, "cred", "fsgid");
	l->mm_pgd = linux_btf__offset(b, "mm_struct", "pgd");
	l->mm_arg_start = linux_btf__offset(b, "mm_struct", "arg_start");
	l->mm_arg_end = linux_btf__offset(b, "mm_struct", "arg_end");
	l->task_kthread = linux_btf__offset(b, "task_struct", "worker_private");
	if (l->task_kthread < 0)
		l->task_kthread = linux_btf__offset(b, "task_struct", "set_child_tid");
	l->kthread_data = linux_btf__offset(b, "kthread", "data");
	l->kthread_full_name = linux_btf__offset(b, "kthread", "full_name");
	l->worker_pool = linux_btf__offset(b, "worker", "pool");
	l->worker_desc = linux_btf__offset(b, "worker", "desc");
	l->worker_current_work = linux_btf__offset(b, "worker", "current_work");
	l->mod_list = linux_btf__offset(b, "module", "list");
	l->mod_name = linux_btf__offset(b, "module", "name");
	l->mod_state = linux_btf__offset(b, "module", "state");
	l->mod_refcnt = linux_btf__offset(b, "module", "refcnt");
	l->mod_core_base = linux_btf__offset(b, "module", "core_layout.base");
	l->mod_core_size = linux_btf__offset(b, "module", "core_layout.size");
	l->mod_init_size = linux_btf__offset(b, "module", "init_layout.size");
	l->mod_mem_n = 0;
	if (l->mod_core_base < 0) { /* 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES] */
		l->mod_core_base = linux_btf__offset(b, "module", "mem.base"); /* mem[MOD_TEXT] */
		l->mod_core_size = linux_btf__offset(b, "module", "mem.size");
		l->mod_init_size = -1;
		/* /proc/modules' size is the sum over every kind of memory */
		if (linux_btf__array(b, "module", "mem", &l->mod_mem_n, &l->mod_mem_stride) < 0)
			l->mod_mem_n = 0;
	}
	l->mod_state_live = (int)linux_btf__enum(b, "MODULE_STATE_LIVE", 0);
	l->mod_state_coming = (int)linux_btf__enum(b, "MODULE_STATE_COMING", 1);
	l->mod_state_going = (int)linux_btf__enum(b, "MODULE_STATE_GOING", 2);
	l->mod_state_unformed = (int)linux_btf__enum(b, "MODULE_STATE_UNFORMED", 3);

	if (l->task_tasks < 0 || l->task_pid < 0 || l->task_tgid < 0 || l->task_comm < 0 ||
	    l->task_state < 0 || l->task_real_parent < 0 || l->task_mm < 0)
		return target__fail(lx->vm, -EPROTO, "BTF: task_struct lacks tasks/pid/tgid/comm/"
				    "state/real_parent/mm");
	lx->layout_done = true;
	return 0;
}
