#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/loader.h"
#include "boot/longmode.h"
#include "guest_image.h"
#include "host_quirks.h"
#include "log.h"
#include "vm.h"

#define LINUX_DEFAULT_CMDLINE "console=ttyS0"

/* A whole input file, mapped read-only. */
struct mapped_file {
	void *data;
	size_t size;
};

static int mapped_file__open(struct mapped_file *f, const char *option, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	f->data = NULL;
	f->size = 0;
	if (fd < 0) {
		log_error("%s: cannot open '%s': %s", option, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("%s: '%s' is not a regular file", option, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		log_error("%s: '%s' is empty", option, path);
		close(fd);
		return -1;
	}
	f->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED) {
		log_error("%s: cannot read '%s': %s", option, path, strerror(errno));
		f->data = NULL;
		return -1;
	}
	f->size = (size_t)st.st_size;
	return 0;
}

static void mapped_file__close(struct mapped_file *f)
{
	if (f->data)
		munmap(f->data, f->size);
}

int machine__load(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	struct boot_request req = {
		.map = &vm->map,
		.ram = vm->ram,
		.nr_cpus = cfg->cpus_boot,
		.cmdline = cfg->cmdline ? cfg->cmdline : "",
	};
	char *linux_cmdline = NULL;
	char err[512] = "";
	bool quirks_applied = false;
	int r = -1;

	if (cfg->kernel) {
		if (mapped_file__open(&kernel, "--kernel", cfg->kernel) < 0)
			goto out;
		req.kernel = (struct boot_image){ kernel.data, kernel.size, cfg->kernel };
	} else {
		req.kernel = (struct boot_image){
			vmscope_guest_elf_start,
			(size_t)(vmscope_guest_elf_end - vmscope_guest_elf_start),
			"embedded test guest",
		};
	}
	if (cfg->initramfs) {
		if (mapped_file__open(&initrd, "--initramfs", cfg->initramfs) < 0)
			goto out;
		req.initrd = (struct boot_image){ initrd.data, initrd.size, cfg->initramfs };
	}
	if (loader__is_linux(&req.kernel)) {
		bool quirks = vm->host->emulated && cfg->host_quirks;

		linux_cmdline = host_quirks__linux_cmdline(cfg->cmdline ? cfg->cmdline
									: LINUX_DEFAULT_CMDLINE,
							   quirks);
		if (!linux_cmdline) {
			log_error("out of memory");
			goto out;
		}
		req.cmdline = linux_cmdline;
		quirks_applied = quirks;
	}
	if (longmode__write_tables(&vm->map, vm->ram) < 0) {
		log_error("--memory: too small for the boot page tables");
		goto out;
	}
	if (loader__load(&req, &vm->entry, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out;
	}
	if (cfg->no_irqchip && cfg->cpus_boot > 1 && !vm->entry.aps_start_at_entry) {
		log_error("--irqchip off: with more than one vCPU the kernel must start them all at "
			  "its entry (the vmscope ELF note); no LAPIC is there to start them");
		goto out;
	}
	if (quirks_applied)
		log_warn("this host's KVM has no hardware virtualization; appended to the kernel "
			 "command line: %s (--no-host-quirks to not)", HOST_QUIRKS_LINUX_CMDLINE);
	r = 0;
out:
	free(linux_cmdline);
	mapped_file__close(&initrd);
	mapped_file__close(&kernel);
	return r;
}
