/*
 * ELF64 x86-64 kernel loader.  Every field read from the file is checked
 * against the file size before use; headers are copied out with memcpy, so
 * the image may sit at any alignment.
 */
#include "boot/elf.h"

#include <elf.h>
#include <inttypes.h>
#include <string.h>

#include "boot/bootparams.h"
#include "elf_file.h"
#include "log.h"
#include "util.h"
#include "vmscope/testguest.h"

#define ERR(...) boot__err(err, errlen, img->name, __VA_ARGS__)

bool elf__is_elf(const struct boot_image *img)
{
	return img->data && img->size >= SELFMAG && memcmp(img->data, ELFMAG, SELFMAG) == 0;
}

static bool name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t len = strlen(want);

	/* namesz counts the terminating NUL; tolerate a writer that left it out. */
	if (namesz == len + 1)
		return memcmp(name, want, len) == 0 && name[len] == '\0';
	return namesz == len && memcmp(name, want, len) == 0;
}

static uint64_t read_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Walks the notes of one PT_NOTE segment (already checked to lie inside the file). */
static int parse_notes(const struct boot_image *img, unsigned seg, const uint8_t *p, uint64_t len,
		       uint64_t align, struct elf_info *info, char *err, size_t errlen)
{
	uint64_t off = 0;

	while (off < len) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, end;
		const uint8_t *name, *desc;

		if (len - off < 12)
			return ERR("malformed ELF note at offset 0x%" PRIx64 " of segment %u: "
				   "header truncated", off, seg);
		namesz = (uint32_t)read_le(p + off, 4);
		descsz = (uint32_t)read_le(p + off + 4, 4);
		type = (uint32_t)read_le(p + off + 8, 4);
		name_off = off + 12;
		/* 64-bit arithmetic cannot wrap here: len < 2^63, sizes < 2^32. */
		desc_off = ALIGN_UP(name_off + namesz, align);
		end = ALIGN_UP(desc_off + descsz, align);
		if (desc_off + descsz > len)
			return ERR("malformed ELF note at offset 0x%" PRIx64 " of segment %u: "
				   "name (%" PRIu32 " bytes) or descriptor (%" PRIu32
				   " bytes) goes past the segment end",
				   off, seg, namesz, descsz);
		name = p + name_off;
		desc = p + desc_off;

		if (name_is(name, namesz, TG_NOTE_NAME) && type == TG_NOTE_ALL_CPUS_64) {
			info->aps_start_at_entry = true;
		} else if (name_is(name, namesz, "Linux")) {
			info->linux_note = true;
		} else if (name_is(name, namesz, "Xen")) {
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && (descsz == 4 || descsz == 8)) {
				info->has_pvh_entry = true;
				info->pvh_entry = read_le(desc, descsz);
			} else if (type == XEN_ELFNOTE_GUEST_OS && descsz >= 5 &&
				   memcmp(desc, "linux", 5) == 0) {
				info->linux_note = true;
			}
		}
		off = end < len ? end : len;
	}
	return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int elf__parse(const struct boot_image *img, const struct memmap *map, struct elf_info *info,
	       char *err, size_t errlen)
{
	const uint8_t *data = img->data;
	uint64_t size = img->size;
	uint64_t low_end = map ? memmap__low_end(map) : UINT64_MAX;
	struct elf_file f;
	const Elf64_Ehdr *eh = &f.eh;
	bool entry_found = false;
	uint64_t entry = 0;
	char why[160];

	memset(info, 0, sizeof(*info));
	if (!data || size == 0)
		return ERR("empty file");
	if (elf_file__open(&f, data, size, why, sizeof(why)) < 0)
		return ERR("%s", why);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return ERR("ELF type %u is not an executable", eh->e_type);
	if (eh->e_ehsize != sizeof(*eh))
		return ERR("bad ELF header size %u (expected %zu)", eh->e_ehsize, sizeof(*eh));
	if (f.phnum > ELF_MAX_PHNUM)
		return ERR("%" PRIu64 " program headers: at most %u are supported", f.phnum,
			   ELF_MAX_PHNUM);

	for (unsigned i = 0; i < f.phnum; i++) {
		Elf64_Phdr ph = elf_file__phdr(&f, i);

		if (ph.p_type == PT_NOTE) {
			if (!range_within(ph.p_offset, ph.p_filesz, size))
				return ERR("truncated: note segment %u (file offset 0x%" PRIx64
					   ", 0x%" PRIx64 " bytes) goes past the end of the file (%" PRIu64
					   " bytes)",
					   i, ph.p_offset, ph.p_filesz, size);
			if (parse_notes(img, i, data + ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4,
					info, err, errlen) < 0)
				return -1;
			continue;
		}
		if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
			return ERR("segment %u: a dynamically linked program is not a kernel", i);
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return ERR("segment %u: file size 0x%" PRIx64 " is larger than its memory size 0x%"
				   PRIx64, i, ph.p_filesz, ph.p_memsz);
		if (!range_within(ph.p_offset, ph.p_filesz, size))
			return ERR("truncated: segment %u (file offset 0x%" PRIx64 ", 0x%" PRIx64
				   " bytes) goes past the end of the file (%" PRIu64 " bytes)",
				   i, ph.p_offset, ph.p_filesz, size);
		if (ph.p_memsz == 0)
			continue;
		if (ph.p_paddr + ph.p_memsz < ph.p_paddr)
			return ERR("segment %u at 0x%" PRIx64 " (size 0x%" PRIx64
				   ") wraps around the address space", i, ph.p_paddr, ph.p_memsz);
		if (ph.p_paddr < MEMMAP_HIGH_START)
			return ERR("segment %u at 0x%" PRIx64 " (size 0x%" PRIx64 ") overlaps the boot "
				   "area below 1 MiB (zero page, page tables, command line, MP table)",
				   i, ph.p_paddr, ph.p_memsz);
		if (map && memmap__offset(map, ph.p_paddr, ph.p_memsz) < 0) {
			char ram[96];

			bootparams__describe_ram(map, ram, sizeof(ram));
			return ERR("segment %u at 0x%" PRIx64 " (size 0x%" PRIx64
				   ") is outside guest RAM (RAM: %s)",
				   i, ph.p_paddr, ph.p_memsz, ram);
		}
		/* No two loadable segments may share guest memory. */
		for (unsigned j = 0; j < i; j++) {
			Elf64_Phdr prev = elf_file__phdr(&f, j);

			if (prev.p_type == PT_LOAD && prev.p_memsz &&
			    overlaps(prev.p_paddr, prev.p_memsz, ph.p_paddr, ph.p_memsz))
				return ERR("segments %u and %u overlap in guest memory (0x%" PRIx64
					   " and 0x%" PRIx64 ")", j, i, prev.p_paddr, ph.p_paddr);
		}
		info->nr_load++;
		if (ph.p_paddr < low_end && ph.p_paddr + ph.p_memsz > info->kernel_end)
			info->kernel_end = ph.p_paddr + ph.p_memsz;
		if (!entry_found && eh->e_entry >= ph.p_paddr && eh->e_entry - ph.p_paddr < ph.p_memsz) {
			entry = eh->e_entry;
			entry_found = true;
		}
	}
	if (info->nr_load == 0)
		return ERR("no loadable (PT_LOAD) segment");

	/* e_entry as a virtual address: translate it through its segment. */
	for (unsigned i = 0; !entry_found && i < f.phnum; i++) {
		Elf64_Phdr ph = elf_file__phdr(&f, i);

		if (ph.p_type == PT_LOAD && ph.p_memsz && eh->e_entry >= ph.p_vaddr &&
		    eh->e_entry - ph.p_vaddr < ph.p_memsz) {
			entry = ph.p_paddr + (eh->e_entry - ph.p_vaddr);
			entry_found = true;
		}
	}
	if (!entry_found)
		return ERR("entry point 0x%" PRIx64 " is in no loadable segment", (uint64_t)eh->e_entry);
	if (entry >= 4 * GiB)
		return ERR("entry point 0x%" PRIx64 " is above 4 GiB: the boot page tables map only the "
			   "low 4 GiB", entry);
	info->entry = entry;
	return 0;
}

int elf__load(const struct boot_request *req, struct elf_info *info, char *err, size_t errlen)
{
	const struct boot_image *img = &req->kernel;
	struct elf_file f;
	char why[8];

	if (elf__parse(img, req->map, info, err, errlen) < 0)
		return -1;
	elf_file__open(&f, img->data, img->size, why, sizeof(why)); /* elf__parse opened it */
	for (unsigned i = 0; i < f.phnum; i++) {
		Elf64_Phdr ph = elf_file__phdr(&f, i);
		uint8_t *dst;

		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		dst = memmap__ptr(req->map, req->ram, ph.p_paddr, ph.p_memsz);
		if (!dst) /* elf__parse checked it; never write through a bad pointer anyway */
			return ERR("segment %u at 0x%" PRIx64 " is outside guest RAM", i, ph.p_paddr);
		memcpy(dst, img->data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		log_debug("%s: segment %u: 0x%" PRIx64 " bytes at 0x%" PRIx64 " (0x%" PRIx64
			  " from the file)", img->name, i, ph.p_memsz, ph.p_paddr, ph.p_filesz);
	}
	if (info->has_pvh_entry)
		log_debug("%s: PVH 32-bit entry 0x%" PRIx64 " (not used: entering at the 64-bit entry)",
			  img->name, info->pvh_entry);
	return 0;
}

bool elf__is_linux(const struct boot_image *img)
{
	struct elf_info info;
	char err[8];

	if (elf__parse(img, NULL, &info, err, sizeof(err)) < 0)
		return false;
	if (info.linux_note)
		return true;
	static const char banner[] = "Linux version ";
	return memmem(img->data, img->size, banner, sizeof(banner) - 1) != NULL;
}
