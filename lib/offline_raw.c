/* Raw memory images: the whole file is guest-physical memory from address 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "offline.h"
#include "target.h"

static int offline__map_file(struct vmscope *vm, const char *path)
{
	struct stat st;
	void *map;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		return target__fail(vm, err, "%s: %s", path, strerror(-err));
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return target__fail(vm, err, "%s: %s", path, strerror(-err));
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return target__fail(vm, -EINVAL, "%s: not a regular file", path);
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return target__fail(vm, -EINVAL, "%s: empty or unmappable file", path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = -errno;
	close(fd);
	if (map == MAP_FAILED)
		return target__fail(vm, err, "%s: mmap: %s", path, strerror(-err));
	vm->map_base = map;
	vm->map_size = (size_t)st.st_size;
	return 0;
}

/* A raw image has no saved registers: get_regs says so. */
const struct target_ops offline_raw_ops = { .kind = "raw image", .get_regs = target__saved_regs };

struct vmscope *offline__open(const struct target_ops *ops, const char *path, int *err)
{
	struct vmscope *vm;
	int e;

	if (!path) {
		if (err)
			*err = -EINVAL;
		return NULL;
	}
	vm = target__new(ops);
	if (!vm) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	e = offline__map_file(vm, path);
	if (e) {
		if (err)
			*err = e;
		target__abandon(vm);
		return NULL;
	}
	return vm;
}

vmscope_t *vmscope_open_raw(const char *path, int *err)
{
	struct vmscope *vm = offline__open(&offline_raw_ops, path, err);
	struct vmscope_region *r;
	int e;

	if (!vm)
		return NULL;
	r = malloc(sizeof(*r));
	if (!r) {
		e = -ENOMEM;
		goto fail;
	}
	*r = (struct vmscope_region){ .gpa = 0, .size = vm->map_size, .host = vm->map_base };
	e = mem__set_regions(vm, r, 1);
	if (e) {
		free(r);
		goto fail;
	}
	if (err)
		*err = 0;
	return vm;
fail:
	if (err)
		*err = e;
	target__abandon(vm);
	return NULL;
}
