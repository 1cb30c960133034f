/* vmscope-ctl: the one check every number on its command line passes. */
#ifndef VMSCOPE_CTL_NUM_H
#define VMSCOPE_CTL_NUM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* s as a number (decimal, 0x hex or 0 octal) of at most max; -1 if it is not one. */
static inline int ctl__parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || *end || *out > max) ? -1 : 0;
}

#endif
