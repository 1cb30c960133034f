/*
 * GDB's threads are the vCPUs: thread id = vCPU index + 1 (GDB reserves 0 for
 * "any" and -1 for "all").  H selects the thread of later packets, T asks
 * whether one exists.
 */
#include <errno.h>
#include <string.h>

#include "gdb/commands_impl.h"

unsigned gdb_thread__count(struct gdb_session *s)
{
	unsigned n = s->ops->nr_vcpus(s->target);

	return n > GDB_MAX_VCPUS ? GDB_MAX_VCPUS : n;
}

bool gdb_thread__parse(const char **p, const char *end, long *tid)
{
	uint64_t v;

	if (*p < end && **p == 'p') { /* multiprocess form: skip the pid */
		const char *dot = memchr(*p, '.', (size_t)(end - *p));

		if (!dot)
			return false;
		*p = dot + 1;
	}
	if (end - *p >= 2 && (*p)[0] == '-' && (*p)[1] == '1') {
		*p += 2;
		*tid = -1;
		return true;
	}
	if (!gdb_parse_hex(p, end, &v) || v > GDB_MAX_VCPUS)
		return false;
	*tid = (long)v;
	return true;
}

bool gdb_thread__vcpu(struct gdb_session *s, long tid, unsigned *vcpu)
{
	if (tid < 1 || (unsigned long)tid > gdb_thread__count(s))
		return false;
	*vcpu = (unsigned)(tid - 1);
	return true;
}

void gdb_thread__select(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 2, *end = pkt + len;
	long tid;
	unsigned v = 0;

	if (len < 3 || !gdb_thread__parse(&p, end, &tid) || p != end ||
	    (tid > 0 && !gdb_thread__vcpu(s, tid, &v))) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	if (pkt[1] == 'g') {
		if (tid > 0)
			s->g_vcpu = v;
	} else if (pkt[1] == 'c') {
		s->c_all = tid <= 0;
		s->c_vcpu = v;
	} else {
		gdb_reply__error(s, EINVAL);
		return;
	}
	gdb_reply__str(s, "OK");
}

void gdb_thread__alive(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 1;
	long tid;
	unsigned v;

	if (gdb_thread__parse(&p, pkt + len, &tid) && p == pkt + len &&
	    gdb_thread__vcpu(s, tid, &v))
		gdb_reply__str(s, "OK");
	else
		gdb_reply__error(s, ESRCH);
}
