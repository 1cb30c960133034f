/*
 * Kernel symbols: System.map, a vmlinux symbol table, or the kernel's own
 * kallsyms tables found in guest memory.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"
#include "linux.h"

int linux_syms__add(struct linux_syms *s, uint64_t addr, char type, const char *name)
{
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 4096;
		struct linux_sym *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].addr = addr;
	s->v[s->n].type = type;
	s->v[s->n].name = (char *)name;
	s->n++;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	const struct linux_sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_name(const void *a, const void *b)
{
	const struct linux_sym *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

void linux_syms__finish(struct linux_syms *s)
{
	qsort(s->v, s->n, sizeof(*s->v), by_addr);
	free(s->by_name);
	s->by_name = malloc((s->n ? s->n : 1) * sizeof(*s->by_name));
	if (!s->by_name)
		return;
	for (unsigned i = 0; i < s->n; i++)
		s->by_name[i] = &s->v[i];
	qsort(s->by_name, s->n, sizeof(*s->by_name), by_name);
}

void linux_syms__free(struct linux_syms *s)
{
	if (!s->names)
		for (unsigned i = 0; i < s->n; i++)
			free(s->v[i].name);
	free(s->names);
	free(s->v);
	free(s->by_name);
	memset(s, 0, sizeof(*s));
}

const struct linux_sym *linux_syms__find(const struct linux_syms *s, const char *name)
{
	unsigned lo = 0, hi = s->n;

	if (!s->by_name)
		return NULL;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = strcmp(s->by_name[mid]->name, name);

		if (c == 0) {
			/* several symbols may share a name: prefer a global one */
			const struct linux_sym *best = s->by_name[mid];
			for (unsigned j = mid; j > 0 && !strcmp(s->by_name[j - 1]->name, name); j--)
				if (s->by_name[j - 1]->type >= 'A' && s->by_name[j - 1]->type <= 'Z')
					best = s->by_name[j - 1];
			return best;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct linux_sym *linux_syms__at(const struct linux_syms *s, uint64_t addr)
{
	unsigned lo = 0, hi = s->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (s->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &s->v[lo - 1] : NULL;
}

int linux_syms__load_system_map(struct linux_syms *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], name[256], type;
	unsigned long long addr;
	int r = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *copy;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		copy = strdup(name);
		if (!copy || (r = linux_syms__add(s, addr, type, copy)) < 0) {
			free(copy);
			r = -ENOMEM;
			break;
		}
	}
	fclose(f);
	if (r == 0 && s->n == 0)
		r = -ENOENT; /* Debian's System.map is a stub */
	return r;
}

/* One ELF symbol into s, as kallsyms would list it: code t/T, data d/D. */
static int add_elf_symbol(void *opaque, const Elf64_Sym *sym, const char *name)
{
	struct linux_syms *s = opaque;
	unsigned st_type = ELF64_ST_TYPE(sym->st_info);
	char type, *copy;

	if (sym->st_shndx == SHN_UNDEF ||
	    (st_type != STT_FUNC && st_type != STT_OBJECT && st_type != STT_NOTYPE))
		return 0;
	type = st_type == STT_FUNC ? 't' : 'd';
	if (ELF64_ST_BIND(sym->st_info) != STB_LOCAL)
		type = (char)(type - 'a' + 'A');
	copy = strdup(name);
	if (!copy || linux_syms__add(s, sym->st_value, type, copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

int linux_syms__load_elf(struct linux_syms *s, const char *path)
{
	struct elf_file f;
	char why[160];
	int r = elf_file__map(&f, path, why, sizeof(why));

	if (r < 0)
		return r;
	r = elf_file__symbols(&f, add_elf_symbol, s);
	elf_file__unmap(&f);
	if (r < 0)
		return r;
	return s->n ? 0 : -ENOENT;
}

/* ---- kallsyms in guest memory ---------------------------------------------- */

/*
 * scripts/kallsyms emits these tables in .rodata, each 8-byte aligned, in
 * one of two orders.  Up to 6.3:
 *   kallsyms_offsets[num] (s32), kallsyms_relative_base (u64),
 *   kallsyms_num_syms (u32), kallsyms_names (len-prefixed token strings),
 *   kallsyms_markers[(num + 255) / 256] (u32, offset of every 256th name),
 *   [kallsyms_seqs_of_names (3 bytes each), since 6.2 and in some 6.1 stables],
 *   kallsyms_token_table (256 NUL-terminated strings), kallsyms_token_index[256] (u16).
 * Since 6.4 ("scripts/kallsyms: change the output order"):
 *   num_syms, names, markers, token_table, token_index, offsets, relative_base,
 *   seqs_of_names.
 * Either way num_syms, names, markers and the token table follow each other,
 * so they are found the same way; the offsets and relative base are then
 * looked for in both places, and the one whose base is a kernel address wins.
 * The kernel image is physically contiguous, so guest-physical distances
 * equal those in the image.
 *
 * The token table is found by what it must contain: bytes that occur in
 * symbol names stand for themselves, so the entries for '0'..'9' read
 * "0\0" "1\0" ... "9\0"; the token index after it must describe exactly the
 * table's 256 strings.
 */

struct ks {
	struct vmscope *vm;
	uint8_t *img;            /* a copy of guest memory around the tables */
	uint64_t img_pa, img_len;
	uint64_t table, index;   /* offsets in img */
	uint64_t markers, nmarkers, names, num, offsets;
	uint64_t relative_base;
	const char *tok[256];
	uint8_t toklen[256];
};

#define KS_WINDOW (12ULL << 20) /* guest memory before the token table: names, offsets */
#define KS_AFTER (64ULL << 10)  /* and after it: the token table and index, */
#define KS_AFTER_ALL (4ULL << 20) /* and, since 6.4, the offsets */

static uint32_t ks_u32(const struct ks *k, uint64_t off)
{
	uint32_t v;

	memcpy(&v, k->img + off, 4);
	return v;
}

static bool ks_index_at(struct ks *k, uint64_t ti, uint64_t digits)
{
	uint16_t idx[256];
	uint64_t table;

	if (ti + 512 > k->img_len)
		return false;
	memcpy(idx, k->img + ti, sizeof(idx));
	if (idx[0] != 0 || idx['0'] > digits || idx['1'] != idx['0'] + 2)
		return false;
	table = digits - idx['0'];
	if (table + idx[255] >= ti)
		return false;
	for (unsigned i = 0; i < 256; i++) {
		uint64_t s = table + idx[i];
		const uint8_t *nul = memchr(k->img + s, 0, ti - s);

		if (!nul || nul == k->img + s)
			return false;
		if (i < 255 && (uint64_t)(nul - k->img) + 1 != table + idx[i + 1])
			return false;
		k->tok[i] = (const char *)k->img + s;
		k->toklen[i] = (uint8_t)(nul - (k->img + s));
	}
	k->table = table;
	k->index = ti;
	return true;
}

/* Decodes the name at off into out (type letter first); the offset after it, or 0. */
static uint64_t ks_name(const struct ks *k, uint64_t off, char *out, size_t max)
{
	unsigned len;
	size_t o = 0;

	if (off >= k->img_len)
		return 0;
	len = k->img[off++];
	if (len & 0x80) { /* 6.1+: two-byte lengths for long names */
		if (off >= k->img_len)
			return 0;
		len = (len & 0x7f) | (unsigned)k->img[off++] << 7;
	}
	if (off + len > k->img_len)
		return 0;
	for (unsigned i = 0; i < len; i++) {
		uint8_t t = k->img[off + i];

		if (out) {
			if (o + k->toklen[t] >= max)
				return 0;
			memcpy(out + o, k->tok[t], k->toklen[t]);
		}
		o += k->toklen[t];
	}
	if (out)
		out[o] = 0;
	return off + len;
}

static bool ks_markers(struct ks *k)
{
	/* markers[0] == 0, then increasing by the size of 256 names (a few KiB) */
	for (uint64_t p = (k->table & ~3ULL) - 4; p >= 4 && p + 48 <= k->img_len; p -= 4) {
		bool ok = ks_u32(k, p) == 0;

		for (unsigned i = 0; ok && i < 11; i++) {
			uint32_t a = ks_u32(k, p + 4 * i), b = ks_u32(k, p + 4 * (i + 1));
			ok = b > a && b - a >= 256 * 2 && b - a <= 256 * 130;
		}
		if (!ok)
			continue;
		k->markers = p;
		k->nmarkers = 1;
		/* Each step is the size of 256 names; what follows (seqs_of_names in
		 * some kernels) is not, even where it happens to increase. */
		while (p + 4 * (k->nmarkers + 1) <= k->table) {
			uint32_t a = ks_u32(k, p + 4 * (k->nmarkers - 1));
			uint32_t b = ks_u32(k, p + 4 * k->nmarkers);

			if (b <= a || b - a > 256 * 130)
				break;
			k->nmarkers++;
		}
		return true;
	}
	return false;
}

/* The x86-64 kernel's text mapping: where a relative base must point. */
static bool ks_kernel_address(uint64_t a)
{
	return a >> 31 == 0x1ffffffffULL; /* 0xffffffff80000000 and up */
}

/* Symbol i's address through the offsets at off and relative base rb. */
static uint64_t ks_addr(const struct ks *k, uint64_t off, uint64_t rb, uint64_t i)
{
	int32_t o;

	memcpy(&o, k->img + off + 4 * i, 4);
	/* CONFIG_KALLSYMS_ABSOLUTE_PERCPU: non-negative are absolute (per-CPU) */
	return o >= 0 ? (uint64_t)o : rb - 1 - (uint64_t)(int64_t)o;
}

/*
 * Whether offsets at off with relative base rb describe the table: the base
 * is a kernel address and the symbols come sorted by address, as
 * scripts/kallsyms sorts them (checked at both ends of the table).
 */
static bool ks_offsets_at(struct ks *k, uint64_t off, uint64_t rb)
{
	uint64_t n = k->num < 64 ? k->num : 64;

	if (!ks_kernel_address(rb) || off + 4 * k->num > k->img_len)
		return false;
	for (uint64_t i = 0; i + 1 < n; i++)
		if (ks_addr(k, off, rb, i) > ks_addr(k, off, rb, i + 1) ||
		    ks_addr(k, off, rb, k->num - n + i) > ks_addr(k, off, rb, k->num - n + i + 1))
			return false;
	k->offsets = off;
	k->relative_base = rb;
	return true;
}

/* Offsets and relative base: before num_syms (up to 6.3) or after the token index (6.4+). */
static bool ks_offsets(struct ks *k)
{
	uint64_t size = (4 * k->num + 7) & ~7ULL, rb;
	uint64_t after = (k->index + 512 + 7) & ~7ULL;

	if (k->names >= 16 + size) {
		memcpy(&rb, k->img + k->names - 16, 8);
		if (ks_offsets_at(k, k->names - 16 - size, rb))
			return true;
	}
	if (after + size + 8 <= k->img_len) {
		memcpy(&rb, k->img + after + size, 8);
		if (ks_offsets_at(k, after, rb))
			return true;
	}
	return false;
}

static bool ks_names(struct ks *k)
{
	uint64_t last = ks_u32(k, k->markers + 4 * (k->nmarkers - 1)), hi, lo;

	/* The last marker's name lies before the markers, inside what was copied. */
	if (last >= k->markers)
		return false;
	hi = k->markers - last;
	lo = hi > 256 * 130 ? hi - 256 * 130 : 8;
	for (uint64_t q = hi & ~7ULL; q >= lo && q >= 16; q -= 8) {
		uint32_t n = ks_u32(k, q - 8);
		uint64_t o = q;

		if (n <= 256 * (k->nmarkers - 1) || n > 256 * k->nmarkers || ks_u32(k, q - 4) != 0)
			continue;
		for (unsigned i = 0; i < 256 && o; i++)
			o = ks_name(k, o, NULL, 0);
		if (!o || o - q != ks_u32(k, k->markers + 4))
			continue;
		k->names = q;
		k->num = n;
		return ks_offsets(k);
	}
	return false;
}

struct ks_find {
	struct ks *k;
	int err;
};

/*
 * Copies guest-physical [pa - before, pa + after) into k->img, from an
 * 8-byte aligned start so that offsets in img keep the tables' alignment
 * (the token table's digits need not be aligned); holes read as zeros.
 */
static int ks_copy(struct ks *k, uint64_t pa, uint64_t before, uint64_t after)
{
	uint64_t start = pa > before ? (pa - before) & ~7ULL : 0;
	uint64_t want = pa - start + after;

	free(k->img);
	k->img = calloc(1, want);
	if (!k->img)
		return -ENOMEM;
	for (uint64_t o = 0; o < want; o += 4096)
		(void)vmscope_read_pa(k->vm, start + o, k->img + o, want - o < 4096 ? want - o : 4096);
	k->img_pa = start;
	k->img_len = want;
	return 0;
}

static bool ks_find_index(struct ks *k, uint64_t digits)
{
	for (uint64_t ti = (digits + 20 + 1) & ~1ULL; ti + 512 <= k->img_len; ti += 2)
		if (ks_index_at(k, ti, digits))
			return true;
	return false;
}

static int ks_try(void *opaque, uint64_t pa)
{
	struct ks_find *f = opaque;
	struct ks *k = f->k;

	/* A small window first: most "0\01\0..." strings are no token table. */
	if ((f->err = ks_copy(k, pa, 4096, KS_AFTER)) < 0)
		return f->err;
	if (!ks_find_index(k, pa - k->img_pa))
		return 0;
	if ((f->err = ks_copy(k, pa, KS_WINDOW, KS_AFTER_ALL)) < 0)
		return f->err;
	if (!ks_find_index(k, pa - k->img_pa))
		return 0;
	return ks_markers(k) && ks_names(k) ? 1 : 0;
}

int linux_syms__load_kallsyms(struct vmscope *vm, uint64_t text_pa, struct linux_syms *s,
			      uint64_t *relative_base, uint64_t *table_pa)
{
	static const char digits[] = "0\0" "1\0" "2\0" "3\0" "4\0" "5\0" "6\0" "7\0" "8\0" "9";
	struct ks k = { .vm = vm };
	struct ks_find f = { .k = &k };
	char name[520];
	size_t total = 0;
	uint64_t o;
	char *pool;
	int r;

	r = linux__scan_pa(vm, text_pa, digits, sizeof(digits), ks_try, &f);
	if (r < 0 || f.err < 0) {
		free(k.img);
		return r < 0 ? r : f.err;
	}
	if (!k.names) {
		free(k.img);
		return target__fail(vm, -ENOENT, "no kallsyms tables in guest memory (looked for a "
				    "token table, \"0\" to \"9\" among its strings, in all of RAM); give "
				    "the kernel's System.map or vmlinux (vmscope-ctl --system-map, --vmlinux)");
	}
	/* Two passes: sizes, then one pool for all names. */
	o = k.names;
	for (uint64_t i = 0; i < k.num; i++) {
		o = ks_name(&k, o, name, sizeof(name));
		if (!o) {
			free(k.img);
			return target__fail(vm, -EPROTO, "kallsyms: name %llu does not decode",
					    (unsigned long long)i);
		}
		total += strlen(name); /* type letter dropped, NUL added */
	}
	pool = malloc(total);
	if (!pool) {
		free(k.img);
		return -ENOMEM;
	}
	s->names = pool;
	o = k.names;
	for (uint64_t i = 0; i < k.num; i++) {
		uint64_t addr;

		o = ks_name(&k, o, name, sizeof(name));
		addr = ks_addr(&k, k.offsets, k.relative_base, i);
		strcpy(pool, name + 1);
		if (linux_syms__add(s, addr, name[0], pool) < 0) {
			free(k.img);
			return -ENOMEM;
		}
		pool += strlen(name);
	}
	*relative_base = k.relative_base;
	*table_pa = k.img_pa + k.table;
	free(k.img);
	return 0;
}
