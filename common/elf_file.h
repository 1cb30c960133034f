/*
 * Reading an ELF64 x86-64 file held in memory (elf_file.c): its header, its
 * program headers and its symbol tables, every offset and size checked
 * against the file before use and every header copied out, so the file may
 * sit at any alignment.  One reader for the kernel loader (src/boot/elf.c),
 * the core-dump reader and the vmlinux symbol loader (lib/), and
 * vmscope-ctl's test-guest symbols (tools/).
 */
#ifndef VMSCOPE_ELF_FILE_H
#define VMSCOPE_ELF_FILE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
	const uint8_t *data;
	uint64_t size;
	Elf64_Ehdr eh;
	uint64_t phnum;   /* with PN_XNUM's extended count resolved */
	void *mapping;    /* elf_file__map's, for elf_file__unmap */
};

/*
 * Checks data[0, size) as a 64-bit little-endian x86-64 ELF file of the
 * current version whose program-header table lies in the file (the type is
 * the caller's to check, in f->eh).  0, or -EINVAL (malformed) / -ENOTSUP
 * (an ELF file of another class, byte order or machine), with a one-line
 * reason in why.
 */
int elf_file__open(struct elf_file *f, const void *data, uint64_t size, char *why, size_t whylen);

/* Maps the file at path read-only and opens it; elf_file__unmap undoes both. */
int elf_file__map(struct elf_file *f, const char *path, char *why, size_t whylen);
void elf_file__unmap(struct elf_file *f);

/* Program header i (below f->phnum). */
Elf64_Phdr elf_file__phdr(const struct elf_file *f, uint64_t i);

/*
 * Calls fn for every symbol with a name in the file's symbol tables
 * (SHT_SYMTAB), until fn returns non-zero, and returns that; 0 when none
 * did; -EINVAL when the section headers or a table lie outside the file.
 */
int elf_file__symbols(const struct elf_file *f,
		      int (*fn)(void *opaque, const Elf64_Sym *sym, const char *name),
		      void *opaque);

#endif
