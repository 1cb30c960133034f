/*
 * The Linux finders (kallsyms, BTF, the kernel's placement) and views on
 * mutated dumps, for a bounded time:
 *     fuzz_linux_open DUMP [SECONDS]
 * DUMP is an ELF core of a Linux guest (the linux suite's, from make_dump.py).
 * The core, and a raw image of its memory, are copied into memfds.  Each
 * round changes a few bytes where the finders and views look (the kallsyms
 * tables, the BTF header and blob, linux_banner, the page table at
 * init_top_pgt, init_task, the core's headers and notes) through shared
 * mappings, opens both images, lists processes, modules, the log and the
 * system calls, and puts the bytes back.  What opens must answer within
 * bounds; what is refused must say why in one line.  A plain driver, not
 * libFuzzer: the library needs libbpf and a real dump, and the ASan run of
 * the fuzz suite runs this under the sanitizers.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmscope/vmscope.h>

#include "xorshift.h"

#define MAX_EDITS 8

struct image {
	int fd;
	uint8_t *map;
	size_t size;
	char path[64];
};

/* A guest-physical range the mutations aim at. */
struct spot {
	const char *what;
	uint64_t pa, len;
};

static const Elf64_Phdr *phdrs;
static unsigned nphdrs;
static struct image core, raw;
static uint64_t core_headers; /* bytes before the first PT_LOAD: headers and notes */

static void die(const char *msg)
{
	fprintf(stderr, "fuzz_linux_open: %s\n", msg);
	exit(1);
}

static void image_new(struct image *im, const char *name, size_t size)
{
	im->fd = memfd_create(name, MFD_CLOEXEC);
	if (im->fd < 0 || ftruncate(im->fd, (off_t)size) < 0)
		die("memfd");
	im->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, im->fd, 0);
	if (im->map == MAP_FAILED)
		die("mmap");
	im->size = size;
	snprintf(im->path, sizeof(im->path), "/proc/self/fd/%d", im->fd);
}

/* The core's bytes in a memfd, and its RAM below 4 GiB laid out flat (what pmemsave gives). */
static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	const Elf64_Ehdr *eh;
	uint64_t ram_end = 0;
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < (long)sizeof(Elf64_Ehdr))
		die("cannot read the dump");
	rewind(f);
	image_new(&core, "core", (size_t)size);
	if (fread(core.map, 1, (size_t)size, f) != (size_t)size)
		die("short read");
	fclose(f);
	eh = (const Elf64_Ehdr *)core.map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phoff + (uint64_t)eh->e_phnum *
	    sizeof(Elf64_Phdr) > (uint64_t)size)
		die("not an ELF core");
	phdrs = (const Elf64_Phdr *)(core.map + eh->e_phoff);
	nphdrs = eh->e_phnum;
	core_headers = (uint64_t)size;
	for (unsigned i = 0; i < nphdrs; i++)
		if (phdrs[i].p_type == PT_LOAD) {
			if (phdrs[i].p_offset < core_headers)
				core_headers = phdrs[i].p_offset;
			if (phdrs[i].p_paddr + phdrs[i].p_filesz <= 0xf0000000 &&
			    phdrs[i].p_paddr + phdrs[i].p_filesz > ram_end)
				ram_end = phdrs[i].p_paddr + phdrs[i].p_filesz;
		}
	image_new(&raw, "raw", ram_end);
	for (unsigned i = 0; i < nphdrs; i++)
		if (phdrs[i].p_type == PT_LOAD && phdrs[i].p_paddr + phdrs[i].p_filesz <= ram_end)
			memcpy(raw.map + phdrs[i].p_paddr, core.map + phdrs[i].p_offset,
			       phdrs[i].p_filesz);
}

/* Where guest-physical pa is in the core file; 0 when it is not there. */
static uint64_t core_offset(uint64_t pa)
{
	for (unsigned i = 0; i < nphdrs; i++)
		if (phdrs[i].p_type == PT_LOAD && pa >= phdrs[i].p_paddr &&
		    pa - phdrs[i].p_paddr < phdrs[i].p_filesz)
			return phdrs[i].p_offset + (pa - phdrs[i].p_paddr);
	return 0;
}

/* The places worth changing, from one clean open of the core. */
static unsigned find_spots(struct spot *s)
{
	struct vmscope_linux_info info;
	vmscope_linux_t *lx;
	uint64_t va, pa, ks = 0;
	const char *t;
	unsigned n = 0;
	int err;
	vmscope_t *vm = vmscope_open_core(core.path, &err);

	if (!vm || !(lx = vmscope_linux_open(vm, NULL, &err)))
		die("the unmutated dump does not open");
	vmscope_linux_info(lx, &info);
	if ((t = strstr(info.symbols_how, "token table at physical ")))
		ks = strtoull(t + strlen("token table at physical "), NULL, 16);
	if (!ks || !info.btf_pa)
		die("the dump's kallsyms or BTF was not found in memory");
	s[n++] = (struct spot){ "kallsyms token table and index", ks - 4096, 72 << 10 };
	s[n++] = (struct spot){ "kallsyms names, markers, offsets",
				ks > (12 << 20) ? ks - (12 << 20) : 0, 16 << 20 };
	s[n++] = (struct spot){ "BTF header", info.btf_pa, 64 };
	s[n++] = (struct spot){ "BTF blob", info.btf_pa, info.btf_size };
	s[n++] = (struct spot){ "init_top_pgt", info.kernel_cr3, 4096 };
	if (vmscope_linux_symbol(lx, "linux_banner", &va) == 0 &&
	    vmscope_translate(vm, info.kernel_cr3, va, vmscope_va_flags(vm), &pa, NULL) == 0)
		s[n++] = (struct spot){ "linux_banner", pa, 256 };
	if (vmscope_linux_symbol(lx, "init_task", &va) == 0 &&
	    vmscope_translate(vm, info.kernel_cr3, va, vmscope_va_flags(vm), &pa, NULL) == 0)
		s[n++] = (struct spot){ "init_task", pa, 8192 };
	vmscope_linux_close(lx);
	vmscope_close(vm);
	return n;
}

struct edit {
	uint8_t *at;
	uint8_t old[256];
	size_t len;
};

static void edit(struct edit *e, uint8_t *at, size_t len)
{
	e->at = at;
	e->len = len;
	memcpy(e->old, at, len);
	switch (xorshift_next() % 4) {
	case 0: /* one random byte */
		*at = (uint8_t)xorshift_next();
		break;
	case 1: /* a random 32-bit value (counts, offsets, lengths) */
		for (size_t i = 0; i < len && i < 4; i++)
			at[i] = (uint8_t)xorshift_next();
		break;
	case 2: /* zeros */
		memset(at, 0, len);
		break;
	default: /* all ones */
		memset(at, 0xff, len);
	}
}

/* Each view on a mutated image: what opens answers within bounds; a refusal is one line. */
static unsigned try_views(const char *path, int raw_image, unsigned *opened)
{
	static struct vmscope_linux_task tasks[512];
	static struct vmscope_linux_module mods[256];
	static char log[1 << 16];
	vmscope_linux_t *lx;
	int err, n;
	vmscope_t *vm = raw_image ? vmscope_open_raw(path, &err) : vmscope_open_core(path, &err);

	if (!vm) {
		const char *why = vmscope_last_error(NULL);

		if (!why || !*why || strchr(why, '\n'))
			abort();
		return 0;
	}
	lx = vmscope_linux_open(vm, NULL, &err);
	if (!lx) {
		const char *why = vmscope_last_error(vm);

		if (err >= 0 || !why || !*why || strchr(why, '\n'))
			abort();
		vmscope_close(vm);
		return 0;
	}
	(*opened)++;
	/* Totals may exceed what was asked for; what was filled must be terminated. */
	n = vmscope_linux_tasks(lx, tasks, 512);
	for (int i = 0; i < n && i < 512; i++)
		if (!memchr(tasks[i].comm, 0, sizeof(tasks[i].comm)) ||
		    !memchr(tasks[i].name, 0, sizeof(tasks[i].name)))
			abort();
	n = vmscope_linux_modules(lx, mods, 256);
	for (int i = 0; i < n && i < 256; i++)
		if (!memchr(mods[i].name, 0, sizeof(mods[i].name)))
			abort();
	if (vmscope_linux_dmesg(lx, log, sizeof(log)) >= 0 && !memchr(log, 0, sizeof(log)))
		abort();
	for (int nr = 0, count = vmscope_linux_syscall_count(lx); nr < count && nr < 600; nr++) {
		char name[64];

		(void)vmscope_linux_syscall_name(lx, (unsigned)nr, name, sizeof(name));
	}
	vmscope_linux_close(lx);
	vmscope_close(vm);
	return 1;
}

int main(int argc, char **argv)
{
	struct spot spots[8];
	struct edit edits[2 * MAX_EDITS];
	unsigned nspots, rounds = 0, opened = 0;
	time_t end;

	if (argc < 2 || argc > 3)
		die("usage: fuzz_linux_open DUMP [SECONDS]");
	load(argv[1]);
	nspots = find_spots(spots);
	end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 10);
	do {
		unsigned ne = 0, want = 1 + (unsigned)(xorshift_next() % MAX_EDITS);

		for (unsigned i = 0; i < want; i++) {
			size_t len = 1 + xorshift_next() % 64;

			if (xorshift_next() % 8 == 0) { /* the core's headers and notes */
				uint64_t off = xorshift_next() % core_headers;

				if (off + len <= core_headers)
					edit(&edits[ne++], core.map + off, len);
				continue;
			}
			const struct spot *s = &spots[xorshift_next() % nspots];
			uint64_t pa = s->pa + xorshift_next() % s->len, off = core_offset(pa);

			if (!off || pa + len > raw.size || off + len > core.size)
				continue;
			edit(&edits[ne++], core.map + off, len);
			edits[ne] = (struct edit){ raw.map + pa, { 0 }, len };
			memcpy(edits[ne].old, raw.map + pa, len);
			memcpy(raw.map + pa, core.map + off, len); /* the same change in both */
			ne++;
		}
		try_views(core.path, 0, &opened);
		try_views(raw.path, 1, &opened);
		while (ne--) /* newest first: two edits may overlap */
			memcpy(edits[ne].at, edits[ne].old, edits[ne].len);
		rounds++;
	} while (time(NULL) < end);
	printf("fuzz_linux_open: %u rounds, %u of %u opens found a kernel, no crash, every "
	       "refusal in one line\n", rounds, opened, 2 * rounds);
	for (unsigned i = 0; i < nspots; i++)
		printf("  aimed at %s: physical 0x%" PRIx64 ", %" PRIu64 " bytes\n", spots[i].what,
		       spots[i].pa, spots[i].len);
	return 0;
}
