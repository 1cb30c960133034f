/* Execution control: breakpoints (Z z), c and s, vCont, vKill. */
#include <errno.h>
#include <string.h>

#include "gdb/commands_impl.h"

void gdb_exec__breakpoint(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 1, *end = pkt + len, *why = NULL;
	uint64_t type, addr, kind;
	int r;

	if (!gdb_parse_hex(&p, end, &type) || type > GDB_WP_ACCESS || p >= end || *p++ != ',' ||
	    !gdb_parse_addr_len(&p, end, &addr, &kind)) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	/* Conditions and commands (";X...") are GDB-side only: we ignore them. */
	if (p != end && *p != ';') {
		gdb_reply__error(s, EINVAL);
		return;
	}
	/*
	 * x86 has no read-only watch: "not supported" (an empty reply) makes
	 * GDB emulate rwatch with an access watch (Z4) and check the value.
	 */
	if (type == GDB_WP_READ) {
		gdb_reply__str(s, "");
		return;
	}
	if (pkt[0] == 'Z')
		r = s->ops->insert_bp(s->target, s->g_vcpu, (enum gdb_bp_type)type, addr, kind, &why);
	else
		r = s->ops->remove_bp(s->target, s->g_vcpu, (enum gdb_bp_type)type, addr, kind);
	if (r == 0)
		gdb_reply__str(s, "OK");
	else if (why)
		gdb_reply__error_text(s, r, why);
	else
		gdb_reply__error(s, r);
}

static void resume(struct gdb_session *s, enum gdb_action *acts)
{
	const char *why = NULL;
	int r = s->ops->resume(s->target, acts, &why);

	if (r < 0) {
		if (why)
			gdb_reply__error_text(s, r, why);
		else
			gdb_reply__error(s, r);
		return;
	}
	s->state = GDB_SESSION_RUNNING;
}

/* Legacy c/s [addr]: step or continue the Hc thread (others follow for c). */
void gdb_exec__cont(struct gdb_session *s, const char *pkt, size_t len, bool step)
{
	static enum gdb_action acts[GDB_MAX_VCPUS];
	unsigned n = gdb_thread__count(s), v = s->c_all ? s->g_vcpu : s->c_vcpu;

	if (len > 1) { /* resume at an address */
		const char *p = pkt + 1;
		uint64_t addr;
		struct gdb_regs regs;

		if (!gdb_parse_hex(&p, pkt + len, &addr) || p != pkt + len ||
		    s->ops->get_regs(s->target, v, &regs) < 0) {
			gdb_reply__error(s, EINVAL);
			return;
		}
		regs.rip = addr;
		if (s->ops->set_regs(s->target, v, &regs) < 0) {
			gdb_reply__error(s, EIO);
			return;
		}
	}
	for (unsigned i = 0; i < n; i++)
		acts[i] = step ? GDB_ACT_STOP : GDB_ACT_CONT;
	if (step)
		acts[v] = GDB_ACT_STEP;
	resume(s, acts);
}

/* vCont;ACTION[:TID];ACTION... : the first action that names a thread wins. */
static void handle_vcont(struct gdb_session *s, const char *pkt, size_t len)
{
	static enum gdb_action acts[GDB_MAX_VCPUS];
	static bool set[GDB_MAX_VCPUS];
	const char *p = pkt + 5, *end = pkt + len;
	unsigned n = gdb_thread__count(s);
	bool any = false;

	memset(set, 0, sizeof(set));
	for (unsigned i = 0; i < n; i++)
		acts[i] = GDB_ACT_STOP;
	while (p < end) {
		enum gdb_action a;
		uint64_t sig;
		long tid = -1;

		if (*p++ != ';' || p >= end) {
			gdb_reply__error(s, EINVAL);
			return;
		}
		switch (*p++) {
		case 'c':
			a = GDB_ACT_CONT;
			break;
		case 'C': /* signals mean nothing to a whole machine: treated as c/s */
			a = GDB_ACT_CONT;
			if (!gdb_parse_hex(&p, end, &sig)) {
				gdb_reply__error(s, EINVAL);
				return;
			}
			break;
		case 's':
			a = GDB_ACT_STEP;
			break;
		case 'S':
			a = GDB_ACT_STEP;
			if (!gdb_parse_hex(&p, end, &sig)) {
				gdb_reply__error(s, EINVAL);
				return;
			}
			break;
		default:
			gdb_reply__error(s, EINVAL);
			return;
		}
		if (p < end && *p == ':') {
			p++;
			if (!gdb_thread__parse(&p, end, &tid)) {
				gdb_reply__error(s, EINVAL);
				return;
			}
		}
		if (tid == -1 || tid == 0) {
			for (unsigned i = 0; i < n; i++)
				if (!set[i]) {
					acts[i] = a;
					set[i] = true;
				}
		} else {
			unsigned v;

			if (!gdb_thread__vcpu(s, tid, &v)) {
				gdb_reply__error(s, EINVAL);
				return;
			}
			if (!set[v]) {
				acts[v] = a;
				set[v] = true;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		any |= acts[i] != GDB_ACT_STOP;
	if (!any) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	resume(s, acts);
}

void gdb_exec__v(struct gdb_session *s, const char *pkt, size_t len)
{
	if (len == 6 && gdb_has_prefix(pkt, len, "vCont?"))
		gdb_reply__str(s, "vCont;c;C;s;S");
	else if (gdb_has_prefix(pkt, len, "vCont;"))
		handle_vcont(s, pkt, len);
	else if (gdb_has_prefix(pkt, len, "vKill")) {
		gdb_reply__str(s, "OK");
		s->ops->kill(s->target);
		s->state = GDB_SESSION_CLOSED;
	} else
		gdb_reply__str(s, ""); /* vMustReplyEmpty and everything else */
}
