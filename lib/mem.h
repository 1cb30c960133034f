/*
 * Guest-physical memory inside the library: the one bounds-checked way from a
 * guest-physical address to a host pointer, shared by reads, writes and the
 * page walker.
 */
#ifndef LIBVMSCOPE_MEM_H
#define LIBVMSCOPE_MEM_H

#include <stdint.h>

#include "target.h"

/*
 * Host address of guest-physical gpa, and in *avail the number of bytes from
 * there to the end of its region (always >= 1); NULL when gpa is not RAM.
 * Nothing else in the library turns a guest-physical address into a pointer.
 */
uint8_t *mem__lookup(const struct vmscope *vm, uint64_t gpa, uint64_t *avail);

/*
 * Takes over regions[0..n) (malloc'ed), sorts them by gpa, drops empty ones
 * and checks that none wraps or overlaps another; 0, or -EINVAL with the
 * reason recorded (the array is then still the caller's to free).
 */
int mem__set_regions(struct vmscope *vm, struct vmscope_region *regions, unsigned n);

/*
 * For formats where the same guest-physical bytes may appear twice (kdump's
 * kernel-text segment, QEMU dumps with paging on): sorts regions by gpa and
 * trims each one's part already covered by an earlier one, dropping those
 * left empty.  One that wraps is kept as it is, for mem__set_regions to
 * refuse.  Returns the new count.
 */
unsigned mem__trim_overlaps(struct vmscope_region *regions, unsigned n);

/*
 * Calls fn(opaque, gpa) at each guest-physical gpa in [lo, hi) where needle
 * (nlen >= 1 bytes) starts, the whole needle inside one region, in address
 * order, until fn returns non-zero: then 1, or fn's negative errno; 0 when
 * none stopped it.
 * The needle's first byte is found with memchr: glibc's memmem compares at
 * nearly every byte of zero-filled memory when a needle ends in zeros.
 */
int mem__scan(const struct vmscope *vm, uint64_t lo, uint64_t hi, const void *needle,
	      size_t nlen, int (*fn)(void *opaque, uint64_t gpa), void *opaque);
/* The same in all RAM, [first_lo, first_hi) first (first_hi 0: in address order). */
int mem__scan_first(const struct vmscope *vm, uint64_t first_lo, uint64_t first_hi,
		    const void *needle, size_t nlen, int (*fn)(void *opaque, uint64_t pa),
		    void *opaque);

#endif
