/* The ELF64 x86-64 reader (elf_file.h). */
#include "elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* Whether [off, off + len) lies inside a file of size bytes (no wrap-around). */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_ARM: return "ARM";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_AARCH64: return "AArch64";
	case EM_RISCV: return "RISC-V";
	case EM_X86_64: return "x86-64";
	default: return "unknown";
	}
}

/* Section header i, when the table and the entry lie in the file. */
static bool shdr(const struct elf_file *f, uint64_t i, Elf64_Shdr *out)
{
	if (f->eh.e_shentsize != sizeof(*out) || i >= UINT64_MAX / sizeof(*out) ||
	    !in_file(f->eh.e_shoff, (i + 1) * sizeof(*out), f->size))
		return false;
	memcpy(out, f->data + f->eh.e_shoff + i * sizeof(*out), sizeof(*out));
	return true;
}

int elf_file__open(struct elf_file *f, const void *data, uint64_t size, char *why, size_t whylen)
{
	const uint8_t *p = data;
	Elf64_Ehdr *eh = &f->eh;

	memset(f, 0, sizeof(*f));
	f->data = p;
	f->size = size;
	if (!p || size < SELFMAG || memcmp(p, ELFMAG, SELFMAG) != 0)
		return fail(why, whylen, -EINVAL, "not an ELF file (bad magic)");
	if (size <= EI_CLASS)
		return fail(why, whylen, -EINVAL, "truncated ELF header (%" PRIu64 " bytes)", size);
	if (p[EI_CLASS] == ELFCLASS32)
		return fail(why, whylen, -ENOTSUP,
			    "32-bit ELF (ELF32): only 64-bit x86-64 files are read");
	if (p[EI_CLASS] != ELFCLASS64)
		return fail(why, whylen, -EINVAL, "bad ELF class %u", p[EI_CLASS]);
	if (size < sizeof(*eh))
		return fail(why, whylen, -EINVAL,
			    "truncated ELF header: the file is too small (%" PRIu64
			    " bytes, needs %zu)", size, sizeof(*eh));
	memcpy(eh, p, sizeof(*eh));
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, whylen, -ENOTSUP,
			    "big-endian or invalid ELF data encoding %u: x86-64 is little-endian",
			    eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return fail(why, whylen, -EINVAL, "bad ELF version %u/%u", eh->e_ident[EI_VERSION],
			    eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return fail(why, whylen, -ENOTSUP,
			    "wrong architecture: ELF machine %u (%s), expected x86-64 (%u)",
			    eh->e_machine, machine_name(eh->e_machine), EM_X86_64);
	/* e_ehsize is not checked: QEMU's dump-guest-memory writes 8 there. */
	f->phnum = eh->e_phnum;
	if (eh->e_phnum == PN_XNUM) {
		Elf64_Shdr sh0;

		/* More than 65534: the count is in section header 0 (as in large core dumps). */
		if (!shdr(f, 0, &sh0))
			return fail(why, whylen, -EINVAL,
				    "PN_XNUM program headers without a valid section header 0");
		f->phnum = sh0.sh_info;
	}
	if (f->phnum == 0)
		return fail(why, whylen, -EINVAL, "no program headers");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(why, whylen, -EINVAL, "bad program header size %u (expected %zu)",
			    eh->e_phentsize, sizeof(Elf64_Phdr));
	if (f->phnum > UINT64_MAX / sizeof(Elf64_Phdr) ||
	    !in_file(eh->e_phoff, f->phnum * sizeof(Elf64_Phdr), size))
		return fail(why, whylen, -EINVAL,
			    "truncated: %" PRIu64 " program headers at offset 0x%" PRIx64
			    " run past the file (%" PRIu64 " bytes)",
			    f->phnum, (uint64_t)eh->e_phoff, size);
	return 0;
}

int elf_file__map(struct elf_file *f, const char *path, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m;
	int r;

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return fail(why, whylen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		r = fail(why, whylen, -EINVAL, "%s: empty or unreadable", path);
		close(fd);
		return r;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return fail(why, whylen, -errno, "%s: mmap: %s", path, strerror(errno));
	r = elf_file__open(f, m, (uint64_t)st.st_size, why, whylen);
	f->mapping = m;
	if (r < 0)
		elf_file__unmap(f);
	return r;
}

void elf_file__unmap(struct elf_file *f)
{
	if (f->mapping)
		munmap(f->mapping, f->size);
	f->mapping = NULL;
}

Elf64_Phdr elf_file__phdr(const struct elf_file *f, uint64_t i)
{
	Elf64_Phdr ph;

	memcpy(&ph, f->data + f->eh.e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

int elf_file__symbols(const struct elf_file *f,
		      int (*fn)(void *opaque, const Elf64_Sym *sym, const char *name),
		      void *opaque)
{
	for (uint64_t i = 0; i < f->eh.e_shnum; i++) {
		Elf64_Shdr sh, str;
		const char *strs;

		if (!shdr(f, i, &sh))
			return -EINVAL;
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		if (!shdr(f, sh.sh_link, &str) || sh.sh_link >= f->eh.e_shnum ||
		    !in_file(sh.sh_offset, sh.sh_size, f->size) ||
		    !in_file(str.sh_offset, str.sh_size, f->size))
			return -EINVAL;
		strs = (const char *)f->data + str.sh_offset;
		for (uint64_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym sym;
			int r;

			memcpy(&sym, f->data + sh.sh_offset + k * sizeof(sym), sizeof(sym));
			/* The name must end inside the string table. */
			if (sym.st_name >= str.sh_size || !strs[sym.st_name] ||
			    !memchr(strs + sym.st_name, 0, str.sh_size - sym.st_name))
				continue;
			r = fn(opaque, &sym, strs + sym.st_name);
			if (r)
				return r;
		}
	}
	return 0;
}
