/*
 * vmscope_linux_open: find the kernel in a target (its page tables, KASLR
 * offset, symbols and BTF) from guest memory alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "linux.h"
#include "mem.h"

/* The kernel image lives in [__START_KERNEL_map, +1 GiB) (KERNEL_IMAGE_SIZE). */

int linux__read(struct vmscope_linux *lx, uint64_t va, void *buf, size_t len)
{
	int64_t r = vmscope_read_va(lx->vm, lx->kcr3, va, buf, len);

	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EFAULT;
}

int linux__read_u64(struct vmscope_linux *lx, uint64_t va, uint64_t *out)
{
	return linux__read(lx, va, out, 8);
}

int linux__read_u32(struct vmscope_linux *lx, uint64_t va, uint32_t *out)
{
	return linux__read(lx, va, out, 4);
}

int64_t vmscope_linux_read_kva(vmscope_linux_t *lx, uint64_t va, void *buf, size_t len)
{
	return vmscope_read_va(lx->vm, lx->kcr3, va, buf, len);
}

/*
 * First 2 MiB-aligned address of the kernel-image region that cr3 maps: _text.
 * cleanup_highmap() removes the mappings below _text and above _end, and the
 * image is loaded 2 MiB-aligned whether randomised or not.
 */
static int first_kernel_mapping(struct vmscope *vm, uint64_t cr3, uint64_t *text,
				uint64_t *text_pa)
{
	for (uint64_t va = KERNEL_MAP_START; va < KERNEL_MAP_END; va += 2ULL << 20)
		if (vmscope_translate(vm, cr3, va, vmscope_va_flags(vm), text_pa, NULL) == 0) {
			*text = va;
			return 0;
		}
	return -ENOENT;
}

/* Page-table roots to try: the saved CPU state, with the PTI user half cleared. */
static unsigned cr3_candidates(struct vmscope *vm, uint64_t *out, unsigned max, unsigned *from_cpu)
{
	unsigned n = 0, cpus = vmscope_vcpu_count(vm);

	for (unsigned c = 0; c < cpus && n + 2 <= max; c++) {
		struct vmscope_regs r;

		/* A live guest's running vCPU is paused for the read. */
		if (vmscope_sample_regs(vm, c, &r) < 0 || !(r.cr0 & 0x80000000u))
			continue;
		/* The CPU's paging mode is the kernel's: 5-level when CR4.LA57 is set. */
		if (r.cr4 & (1ULL << 12))
			vmscope_set_va_flags(vm, VMSCOPE_PAGING_LA57);
		out[n] = r.cr3 & 0x000ffffffffff000ULL;
		from_cpu[n++] = c;
		if (r.cr3 & 0x1000) { /* PTI: the kernel half is the even page */
			out[n] = r.cr3 & 0x000fffffffffe000ULL;
			from_cpu[n++] = c;
		}
	}
	return n;
}

static void add_how(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_how(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= size - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

static int load_symbols(struct vmscope_linux *lx, const struct vmscope_linux_opts *o,
			uint64_t *relbase, uint64_t *ks_pa)
{
	int r;

	*relbase = 0;
	if (o && o->system_map) {
		r = linux_syms__load_system_map(&lx->syms, o->system_map);
		if (r == 0) {
			snprintf(lx->info.symbols_how, sizeof(lx->info.symbols_how),
				 "System.map %s", o->system_map);
			return 0;
		}
		linux_syms__free(&lx->syms);
	}
	if (o && o->vmlinux) {
		r = linux_syms__load_elf(&lx->syms, o->vmlinux);
		if (r == 0) {
			snprintf(lx->info.symbols_how, sizeof(lx->info.symbols_how),
				 "symbol table of %s", o->vmlinux);
			return 0;
		}
		linux_syms__free(&lx->syms);
	}
	r = linux_syms__load_kallsyms(lx->vm, lx->text_pa, &lx->syms, relbase, ks_pa);
	if (r < 0)
		return r;
	snprintf(lx->info.symbols_how, sizeof(lx->info.symbols_how),
		 "kallsyms in guest memory (token table at physical 0x%" PRIx64 ")", *ks_pa);
	return 0;
}

static uint64_t sym(struct vmscope_linux *lx, const char *name)
{
	const struct linux_sym *s = linux_syms__find(&lx->syms, name);

	return s ? s->addr : 0;
}

static void read_identity(struct vmscope_linux *lx)
{
	uint64_t uts = sym(lx, "init_uts_ns"), banner = sym(lx, "linux_banner");
	long rel = linux_btf__offset(lx->btf, "uts_namespace", "name.release");

	if (uts && rel >= 0)
		linux__read(lx, uts + (uint64_t)rel, lx->info.release, sizeof(lx->info.release) - 1);
	if (banner) {
		vmscope_read_str_va(lx->vm, lx->kcr3, banner, lx->info.version,
				    sizeof(lx->info.version));
		lx->info.version[strcspn(lx->info.version, "\n")] = 0;
	}
}

static bool is_banner_at(struct vmscope *vm, uint64_t pa)
{
	static const char banner[] = "Linux version ";
	char buf[sizeof(banner) - 1];

	return vmscope_read_pa(vm, pa, buf, sizeof(buf)) == (int64_t)sizeof(buf) &&
	       memcmp(buf, banner, sizeof(buf)) == 0;
}

/*
 * With no CPU state that maps the kernel (a raw image, or a kernel still
 * being decompressed): the kernel image is physically contiguous and starts
 * on a 2 MiB boundary at most 1 GiB below the kallsyms tables it holds.  The
 * start is the boundary at which linux_banner reads as the banner and the
 * page table at init_top_pgt, read as 4- or 5-level, maps _text there; that
 * page table becomes the kernel's CR3.
 */
static int place_without_cpu(struct vmscope_linux *lx, uint64_t ks_pa)
{
	static const unsigned modes[] = { 0, VMSCOPE_PAGING_LA57 };
	uint64_t banner = sym(lx, "linux_banner"), pgt = sym(lx, "init_top_pgt"), pa;

	if (!banner || !pgt)
		return target__fail(lx->vm, -ENOENT, "no CPU state maps the kernel, and no %s "
				    "symbol to place it with", banner ? "init_top_pgt" : "linux_banner");
	for (uint64_t text_pa = ks_pa & ~((2ULL << 20) - 1);
	     text_pa >= 2ULL << 20 && ks_pa - text_pa < KERNEL_MAP_END - KERNEL_MAP_START;
	     text_pa -= 2ULL << 20) {
		uint64_t delta = text_pa - lx->text; /* virtual to physical, mod 2^64 */

		if (!is_banner_at(lx->vm, banner + delta))
			continue;
		for (unsigned m = 0; m < 2; m++) {
			if (vmscope_translate(lx->vm, pgt + delta, lx->text, modes[m], &pa, NULL) ||
			    pa != text_pa)
				continue;
			vmscope_set_va_flags(lx->vm, modes[m]);
			lx->text_pa = text_pa;
			lx->kcr3 = pgt + delta;
			snprintf(lx->info.kaslr_how, sizeof(lx->info.kaslr_how),
				 "kallsyms_relative_base 0x%" PRIx64 " (no CPU state maps the "
				 "kernel); linux_banner places the image at physical 0x%" PRIx64
				 ", where init_top_pgt maps it (%s paging)",
				 lx->text, text_pa, m ? "5-level" : "4-level");
			return 0;
		}
	}
	return target__fail(lx->vm, -ENOENT, "no CPU state maps the kernel, and no 2 MiB "
			    "boundary below the kallsyms tables (physical 0x%" PRIx64 ") holds "
			    "a kernel image whose linux_banner and init_top_pgt agree", ks_pa);
}

vmscope_linux_t *vmscope_linux_open(vmscope_t *vm, const struct vmscope_linux_opts *opts, int *err)
{
	struct vmscope_linux *lx = calloc(1, sizeof(*lx));
	uint64_t cands[16], relbase = 0, ks_pa = 0, pt_text = 0, cr3 = 0, init_pgt, pa;
	unsigned from_cpu[16], n;
	int r = -ENOMEM;

	if (!lx)
		goto fail;
	lx->vm = vm;

	/* 1. Where the kernel image is mapped: the CPU's page tables. */
	n = cr3_candidates(vm, cands, 16, from_cpu);
	for (unsigned i = 0; i < n; i++)
		if (first_kernel_mapping(vm, cands[i], &pt_text, &lx->text_pa) == 0) {
			cr3 = cands[i];
			snprintf(lx->info.kaslr_how, sizeof(lx->info.kaslr_how),
				 "page tables (CR3 0x%" PRIx64 " of CPU %u) map the kernel image "
				 "from 0x%" PRIx64, cr3, from_cpu[i], pt_text);
			break;
		}

	/* 2. Symbols; kallsyms gives the run-time _text by itself. */
	r = load_symbols(lx, opts, &relbase, &ks_pa);
	if (r < 0)
		goto fail;
	linux_syms__finish(&lx->syms);
	lx->info.nr_symbols = lx->syms.n;
	if (relbase) {
		uint64_t ktext = sym(lx, "_text");

		lx->text = ktext ? ktext : relbase;
		if (pt_text == lx->text)
			add_how(lx->info.kaslr_how, sizeof(lx->info.kaslr_how),
				"; kallsyms _text agrees");
		else if (pt_text)
			add_how(lx->info.kaslr_how, sizeof(lx->info.kaslr_how),
				"; but kallsyms _text is 0x%" PRIx64 ": using kallsyms", lx->text);
	} else {
		/* link-time symbols: shift them by the offset the page tables show */
		uint64_t link = sym(lx, "_text");
		int64_t off;

		if (!link || !pt_text) {
			r = target__fail(vm, -ENOENT, "cannot place the kernel: %s",
					 !link ? "no _text symbol" : "no CPU state with paging on");
			goto fail;
		}
		lx->link_text = link;
		off = (int64_t)(pt_text - link);
		for (unsigned i = 0; i < lx->syms.n; i++)
			if (lx->syms.v[i].addr >= KERNEL_MAP_START)
				lx->syms.v[i].addr += (uint64_t)off;
		lx->text = pt_text;
	}
	lx->info.text = lx->text;
	lx->info.kaslr_offset = (int64_t)(lx->text - LINUX_TEXT_DEFAULT);

	/* 3. The kernel's own top-level page table (the CPU may have been in a process). */
	if (!cr3) {
		if ((r = place_without_cpu(lx, ks_pa)) < 0)
			goto fail;
	} else {
		init_pgt = sym(lx, "init_top_pgt");
		if (!init_pgt)
			init_pgt = sym(lx, "swapper_pg_dir");
		lx->kcr3 = cr3;
		if (init_pgt &&
		    vmscope_translate(vm, cr3, init_pgt, vmscope_va_flags(vm), &pa, NULL) == 0)
			lx->kcr3 = pa;
	}
	lx->info.kernel_cr3 = lx->kcr3;

	/* 4. Structure layouts. */
	if (opts && opts->vmlinux && linux_btf__load_file(lx, opts->vmlinux) == 0)
		;
	else if ((r = linux_btf__find_in_memory(lx)) < 0)
		goto fail;
	if ((r = linux_btf__layout(lx)) < 0)
		goto fail;
	read_identity(lx);
	return lx;

fail:
	if (err)
		*err = r;
	vmscope_linux_close(lx);
	return NULL;
}

void vmscope_linux_close(vmscope_linux_t *lx)
{
	if (!lx)
		return;
	if (lx->btf)
		btf__free(lx->btf);
	free(lx->btf_buf);
	linux_syms__free(&lx->syms);
	free(lx);
}

int vmscope_linux_info(vmscope_linux_t *lx, struct vmscope_linux_info *info)
{
	*info = lx->info;
	return 0;
}

int vmscope_linux_symbol(vmscope_linux_t *lx, const char *name, uint64_t *addr)
{
	const struct linux_sym *s = linux_syms__find(&lx->syms, name);

	if (!s)
		return -ENOENT;
	*addr = s->addr;
	return 0;
}

const char *vmscope_linux_symbol_at(vmscope_linux_t *lx, uint64_t addr, uint64_t *off)
{
	const struct linux_sym *s = linux_syms__at(&lx->syms, addr);

	if (!s)
		return NULL;
	if (off)
		*off = addr - s->addr;
	return s->name;
}
