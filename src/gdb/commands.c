/*
 * GDB remote protocol commands, all-stop mode.  Thread ids are vCPU index + 1
 * (GDB reserves 0 for "any" and -1 for "all").  Every number from the peer is
 * parsed with bounds and every length is clamped to what one reply can hold.
 */
#include "gdb/commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Largest m/M/X transfer: a hex reply must fit in one packet. */
#define GDB_MEM_MAX (GDB_PACKET_MAX / 2)

static void send_raw(struct gdb_session *s, const char *buf, size_t len)
{
	s->write(s->wopaque, buf, len);
}

static void send_packet(struct gdb_session *s, const void *data, size_t len)
{
	size_t n = gdb_packet__frame(data, len, s->out, sizeof(s->out));

	if (n == 0) { /* cannot happen with replies bounded by GDB_PACKET_MAX */
		n = gdb_packet__frame("E01", 3, s->out, sizeof(s->out));
	}
	s->out_len = n;
	send_raw(s, s->out, n);
}

static void send_str(struct gdb_session *s, const char *str)
{
	send_packet(s, str, strlen(str));
}

static void send_fmt(struct gdb_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void send_fmt(struct gdb_session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(s->reply))
		n = (int)sizeof(s->reply) - 1;
	send_packet(s, s->reply, (size_t)n);
}

static void send_error(struct gdb_session *s, int err)
{
	if (err < 0)
		err = -err;
	send_fmt(s, "E%02x", err & 0xff);
}

/* "E.errtext": GDB prints the text for the packets that support it (Z1-Z4, qRcmd). */
static void send_error_text(struct gdb_session *s, int err, const char *text)
{
	send_fmt(s, "E.%02x.%s", (err < 0 ? -err : err) & 0xff, text);
}

void gdb_session__init(struct gdb_session *s, const struct gdb_target_ops *ops, void *target,
		       gdb_write_fn write, void *wopaque, const struct gdb_stop *stop)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->target = target;
	s->write = write;
	s->wopaque = wopaque;
	s->state = GDB_SESSION_STOPPED;
	s->c_all = true;
	s->last_stop = *stop;
	gdb_rx__init(&s->rx);
}

static unsigned nr_vcpus(struct gdb_session *s)
{
	unsigned n = s->ops->nr_vcpus(s->target);

	return n > GDB_MAX_VCPUS ? GDB_MAX_VCPUS : n;
}

static void stop_reply(struct gdb_session *s, const struct gdb_stop *st)
{
	unsigned tid = st->vcpu + 1;

	switch (st->kind) {
	case GDB_STOP_EXITED:
		send_fmt(s, "W%02x", st->status & 0xff);
		return;
	case GDB_STOP_INTERRUPT:
		send_fmt(s, "T02thread:%02x;", tid);
		return;
	case GDB_STOP_SWBREAK:
		if (s->swbreak_ok) {
			send_fmt(s, "T05thread:%02x;swbreak:;", tid);
			return;
		}
		break;
	case GDB_STOP_STEP:
		break;
	}
	send_fmt(s, "T05thread:%02x;", tid);
}

void gdb_session__stopped(struct gdb_session *s, const struct gdb_stop *stop)
{
	if (s->state == GDB_SESSION_CLOSED)
		return;
	s->last_stop = *stop;
	/* The thread that stopped becomes the current one, as GDB assumes. */
	if (stop->kind != GDB_STOP_EXITED)
		s->g_vcpu = stop->vcpu;
	s->state = stop->kind == GDB_STOP_EXITED ? GDB_SESSION_CLOSED : GDB_SESSION_STOPPED;
	s->interrupt_sent = false;
	stop_reply(s, stop);
}

void gdb_session__console(struct gdb_session *s, const char *text)
{
	size_t n = strlen(text);

	if (n > (sizeof(s->reply) - 2) / 2)
		n = (sizeof(s->reply) - 2) / 2;
	s->reply[0] = 'O';
	gdb_hex_encode((const uint8_t *)text, n, s->reply + 1);
	send_packet(s, s->reply, 1 + 2 * n);
}

/* Parses a thread id: "-1" (all), "0" (any), or hex; "p<pid>.<tid>" too. */
static bool parse_tid(const char **p, const char *end, long *tid)
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

/* A thread id that names one existing vCPU. */
static bool tid_to_vcpu(struct gdb_session *s, long tid, unsigned *vcpu)
{
	if (tid < 1 || (unsigned long)tid > nr_vcpus(s))
		return false;
	*vcpu = (unsigned)(tid - 1);
	return true;
}

static bool prefix(const char *pkt, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && memcmp(pkt, pre, n) == 0;
}

/* "addr,len" with an optional terminator. */
static bool parse_addr_len(const char **p, const char *end, uint64_t *addr, uint64_t *len)
{
	if (!gdb_parse_hex(p, end, addr) || *p >= end || **p != ',')
		return false;
	(*p)++;
	return gdb_parse_hex(p, end, len);
}

static void handle_query_supported(struct gdb_session *s, const char *pkt, size_t len)
{
	/* Remember what GDB offers: "qSupported:multiprocess+;swbreak+;..." */
	const char *end = pkt + len, *colon = memchr(pkt, ':', len);

	for (const char *p = colon ? colon + 1 : end; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t n = (size_t)((semi ? semi : end) - p);

		if (n == 8 && memcmp(p, "swbreak+", 8) == 0)
			s->swbreak_ok = true;
		p += n + (semi ? 1 : 0);
		if (!semi)
			break;
	}
	send_fmt(s, "PacketSize=%x;qXfer:features:read+;swbreak+;vContSupported+;"
		 "QStartNoAckMode+", GDB_PACKET_MAX);
}

static void handle_xfer_features(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *pre = "qXfer:features:read:target.xml:";
	const char *p = pkt + strlen(pre), *end = pkt + len;
	size_t total = strlen(gdb_target_xml);
	uint64_t off, n;

	if (!prefix(pkt, len, pre)) {
		send_error(s, ENOENT); /* only target.xml exists */
		return;
	}
	if (!parse_addr_len(&p, end, &off, &n) || p != end) {
		send_error(s, EINVAL);
		return;
	}
	if (off >= total) {
		send_str(s, "l");
		return;
	}
	/* Escapes may double the size: keep the body within half a packet. */
	if (n > GDB_PACKET_MAX / 2 - 1)
		n = GDB_PACKET_MAX / 2 - 1;
	if (n > total - off)
		n = total - off;
	s->reply[0] = off + n >= total ? 'l' : 'm';
	memcpy(s->reply + 1, gdb_target_xml + off, n);
	send_packet(s, s->reply, 1 + n);
}

static void handle_rcmd(struct gdb_session *s, const char *pkt, size_t len)
{
	char cmd[256], out[4096];
	size_t hexlen = len - 6, n = hexlen / 2; /* after "qRcmd," */
	int r;

	if (hexlen % 2 || n >= sizeof(cmd) || !gdb_hex_decode(pkt + 6, n, (uint8_t *)cmd)) {
		send_error(s, EINVAL);
		return;
	}
	cmd[n] = 0;
	if (memchr(cmd, 0, n)) {
		send_error(s, EINVAL);
		return;
	}
	out[0] = 0;
	r = s->ops->monitor ? s->ops->monitor(s->target, cmd, out, sizeof(out)) : -ENOENT;
	if (r == -ENOENT && !out[0])
		snprintf(out, sizeof(out), "unknown monitor command '%s'; try 'monitor help'\n", cmd);
	if (out[0]) {
		/* Output as hex; a reply of hex text ends the command (no 'O' needed). */
		size_t m = strnlen(out, sizeof(out));

		gdb_hex_encode((const uint8_t *)out, m, s->reply);
		send_packet(s, s->reply, 2 * m);
		return;
	}
	if (r < 0)
		send_error(s, r);
	else
		send_str(s, "OK");
}

static void handle_query(struct gdb_session *s, const char *pkt, size_t len)
{
	if (prefix(pkt, len, "qSupported")) {
		handle_query_supported(s, pkt, len);
	} else if (prefix(pkt, len, "qXfer:features:read:")) {
		handle_xfer_features(s, pkt, len);
	} else if (len == 12 && prefix(pkt, len, "qfThreadInfo")) {
		char *o = s->reply;
		unsigned n = nr_vcpus(s);

		*o++ = 'm';
		for (unsigned i = 0; i < n; i++)
			o += sprintf(o, "%s%02x", i ? "," : "", i + 1);
		send_packet(s, s->reply, (size_t)(o - s->reply));
	} else if (len == 12 && prefix(pkt, len, "qsThreadInfo")) {
		send_str(s, "l");
	} else if (len == 2 && prefix(pkt, len, "qC")) {
		send_fmt(s, "QC%02x", s->g_vcpu + 1);
	} else if (prefix(pkt, len, "qAttached")) {
		send_str(s, "1");
	} else if (prefix(pkt, len, "qThreadExtraInfo,")) {
		const char *p = pkt + 17;
		long tid;
		unsigned v;
		char text[32];
		int n;

		if (!parse_tid(&p, pkt + len, &tid) || !tid_to_vcpu(s, tid, &v)) {
			send_error(s, EINVAL);
			return;
		}
		n = snprintf(text, sizeof(text), "vCPU %u", v);
		gdb_hex_encode((const uint8_t *)text, (size_t)n, s->reply);
		send_packet(s, s->reply, 2 * (size_t)n);
	} else if (prefix(pkt, len, "qRcmd,")) {
		handle_rcmd(s, pkt, len);
	} else if (prefix(pkt, len, "qSymbol")) {
		send_str(s, "OK");
	} else {
		send_str(s, ""); /* unsupported: GDB falls back */
	}
}

static void handle_read_regs(struct gdb_session *s)
{
	struct gdb_regs regs;
	char *o = s->reply;
	int r = s->ops->get_regs(s->target, s->g_vcpu, &regs);

	if (r < 0) {
		send_error(s, r);
		return;
	}
	for (unsigned i = 0; i < gdb_nr_regs; i++) {
		gdb_hex_encode((const uint8_t *)&regs + gdb_reg_table[i].offset,
			       gdb_reg_table[i].size, o);
		o += 2 * gdb_reg_table[i].size;
	}
	send_packet(s, s->reply, (size_t)(o - s->reply));
}

static void handle_write_regs(struct gdb_session *s, const char *hex, size_t len)
{
	struct gdb_regs regs;
	size_t off = 0;
	int r = s->ops->get_regs(s->target, s->g_vcpu, &regs);

	if (r < 0) {
		send_error(s, r);
		return;
	}
	/* GDB may send fewer registers than it could; the rest keep their values. */
	for (unsigned i = 0; i < gdb_nr_regs; i++) {
		size_t n = gdb_reg_table[i].size;

		if (off + 2 * n > len)
			break;
		if (!gdb_hex_decode(hex + off, n, (uint8_t *)&regs + gdb_reg_table[i].offset)) {
			send_error(s, EINVAL);
			return;
		}
		off += 2 * n;
	}
	if (off != len) {
		send_error(s, EINVAL);
		return;
	}
	r = s->ops->set_regs(s->target, s->g_vcpu, &regs);
	if (r < 0)
		send_error(s, r);
	else
		send_str(s, "OK");
}

static void handle_reg(struct gdb_session *s, const char *pkt, size_t len, bool write)
{
	const char *p = pkt + 1, *end = pkt + len;
	struct gdb_regs regs;
	uint64_t n;
	int r;

	if (!gdb_parse_hex(&p, end, &n) || n >= gdb_nr_regs) {
		/* An unknown register: GDB expects an error, not an empty reply. */
		send_error(s, EINVAL);
		return;
	}
	if (write ? (p >= end || *p++ != '=') : p != end) {
		send_error(s, EINVAL);
		return;
	}
	r = s->ops->get_regs(s->target, s->g_vcpu, &regs);
	if (r < 0) {
		send_error(s, r);
		return;
	}
	if (!write) {
		gdb_hex_encode((const uint8_t *)&regs + gdb_reg_table[n].offset,
			       gdb_reg_table[n].size, s->reply);
		send_packet(s, s->reply, 2 * gdb_reg_table[n].size);
		return;
	}
	if ((size_t)(end - p) != 2 * gdb_reg_table[n].size ||
	    !gdb_hex_decode(p, gdb_reg_table[n].size, (uint8_t *)&regs + gdb_reg_table[n].offset)) {
		send_error(s, EINVAL);
		return;
	}
	r = s->ops->set_regs(s->target, s->g_vcpu, &regs);
	if (r < 0)
		send_error(s, r);
	else
		send_str(s, "OK");
}

static void handle_read_mem(struct gdb_session *s, const char *pkt, size_t len)
{
	static uint8_t buf[GDB_MEM_MAX];
	const char *p = pkt + 1, *end = pkt + len;
	uint64_t addr, n;
	long got;

	if (!parse_addr_len(&p, end, &addr, &n) || p != end) {
		send_error(s, EINVAL);
		return;
	}
	if (n > GDB_MEM_MAX)
		n = GDB_MEM_MAX; /* GDB accepts a shorter reply and asks for the rest */
	if (n == 0) {
		send_str(s, "");
		return;
	}
	got = s->ops->read_mem(s->target, s->g_vcpu, addr, buf, n);
	if (got <= 0) {
		send_error(s, got < 0 ? (int)got : EFAULT);
		return;
	}
	gdb_hex_encode(buf, (size_t)got, s->reply);
	send_packet(s, s->reply, 2 * (size_t)got);
}

static void handle_write_mem(struct gdb_session *s, const char *pkt, size_t len, bool binary)
{
	static uint8_t buf[GDB_PACKET_MAX];
	const char *p = pkt + 1, *end = pkt + len;
	uint64_t addr, n;
	long put;

	if (!parse_addr_len(&p, end, &addr, &n) || p >= end || *p++ != ':') {
		send_error(s, EINVAL);
		return;
	}
	if (binary) {
		if ((uint64_t)(end - p) != n) {
			send_error(s, EINVAL);
			return;
		}
		memcpy(buf, p, n);
	} else {
		if ((uint64_t)(end - p) != 2 * n || !gdb_hex_decode(p, n, buf)) {
			send_error(s, EINVAL);
			return;
		}
	}
	if (n == 0) { /* X probe */
		send_str(s, "OK");
		return;
	}
	put = s->ops->write_mem(s->target, s->g_vcpu, addr, buf, n);
	if (put < 0 || (uint64_t)put != n)
		send_error(s, put < 0 ? (int)put : EFAULT);
	else
		send_str(s, "OK");
}

static void handle_breakpoint(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 1, *end = pkt + len, *why = NULL;
	uint64_t type, addr, kind;
	int r;

	if (!gdb_parse_hex(&p, end, &type) || type > GDB_WP_ACCESS || p >= end || *p++ != ',' ||
	    !parse_addr_len(&p, end, &addr, &kind)) {
		send_error(s, EINVAL);
		return;
	}
	/* Conditions and commands (";X...") are GDB-side only: we ignore them. */
	if (p != end && *p != ';') {
		send_error(s, EINVAL);
		return;
	}
	if (pkt[0] == 'Z')
		r = s->ops->insert_bp(s->target, s->g_vcpu, (enum gdb_bp_type)type, addr, kind, &why);
	else
		r = s->ops->remove_bp(s->target, s->g_vcpu, (enum gdb_bp_type)type, addr, kind);
	if (r == 0)
		send_str(s, "OK");
	else if (why)
		send_error_text(s, r, why);
	else
		send_error(s, r);
}

static void resume(struct gdb_session *s, enum gdb_action *acts)
{
	const char *why = NULL;
	int r = s->ops->resume(s->target, acts, &why);

	if (r < 0) {
		if (why)
			send_error_text(s, r, why);
		else
			send_error(s, r);
		return;
	}
	s->state = GDB_SESSION_RUNNING;
}

/* Legacy c/s [addr]: step or continue the Hc thread (others follow for c). */
static void handle_cont(struct gdb_session *s, const char *pkt, size_t len, bool step)
{
	static enum gdb_action acts[GDB_MAX_VCPUS];
	unsigned n = nr_vcpus(s), v = s->c_all ? s->g_vcpu : s->c_vcpu;

	if (len > 1) { /* resume at an address */
		const char *p = pkt + 1;
		uint64_t addr;
		struct gdb_regs regs;

		if (!gdb_parse_hex(&p, pkt + len, &addr) || p != pkt + len ||
		    s->ops->get_regs(s->target, v, &regs) < 0) {
			send_error(s, EINVAL);
			return;
		}
		regs.rip = addr;
		if (s->ops->set_regs(s->target, v, &regs) < 0) {
			send_error(s, EIO);
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
	unsigned n = nr_vcpus(s);
	bool any = false;

	memset(set, 0, sizeof(set));
	for (unsigned i = 0; i < n; i++)
		acts[i] = GDB_ACT_STOP;
	while (p < end) {
		enum gdb_action a;
		uint64_t sig;
		long tid = -1;

		if (*p++ != ';' || p >= end) {
			send_error(s, EINVAL);
			return;
		}
		switch (*p++) {
		case 'c':
			a = GDB_ACT_CONT;
			break;
		case 'C': /* signals mean nothing to a whole machine: treated as c/s */
			a = GDB_ACT_CONT;
			if (!gdb_parse_hex(&p, end, &sig)) {
				send_error(s, EINVAL);
				return;
			}
			break;
		case 's':
			a = GDB_ACT_STEP;
			break;
		case 'S':
			a = GDB_ACT_STEP;
			if (!gdb_parse_hex(&p, end, &sig)) {
				send_error(s, EINVAL);
				return;
			}
			break;
		default:
			send_error(s, EINVAL);
			return;
		}
		if (p < end && *p == ':') {
			p++;
			if (!parse_tid(&p, end, &tid)) {
				send_error(s, EINVAL);
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

			if (!tid_to_vcpu(s, tid, &v)) {
				send_error(s, EINVAL);
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
		send_error(s, EINVAL);
		return;
	}
	resume(s, acts);
}

static void handle_v(struct gdb_session *s, const char *pkt, size_t len)
{
	if (len == 6 && prefix(pkt, len, "vCont?"))
		send_str(s, "vCont;c;C;s;S");
	else if (prefix(pkt, len, "vCont;"))
		handle_vcont(s, pkt, len);
	else if (prefix(pkt, len, "vKill")) {
		send_str(s, "OK");
		s->ops->kill(s->target);
		s->state = GDB_SESSION_CLOSED;
	} else
		send_str(s, ""); /* vMustReplyEmpty and everything else */
}

static void handle_thread_select(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 2, *end = pkt + len;
	long tid;
	unsigned v = 0;

	if (len < 3 || !parse_tid(&p, end, &tid) || p != end ||
	    (tid > 0 && !tid_to_vcpu(s, tid, &v))) {
		send_error(s, EINVAL);
		return;
	}
	if (pkt[1] == 'g') {
		if (tid > 0)
			s->g_vcpu = v;
	} else if (pkt[1] == 'c') {
		s->c_all = tid <= 0;
		s->c_vcpu = v;
	} else {
		send_error(s, EINVAL);
		return;
	}
	send_str(s, "OK");
}

void gdb_session__packet(struct gdb_session *s, const char *pkt, size_t len)
{
	if (s->state == GDB_SESSION_CLOSED)
		return;
	if (s->state == GDB_SESSION_RUNNING) {
		/* All-stop: GDB waits for the stop reply; anything else is a peer bug. */
		s->nr_bad_packets++;
		return;
	}
	if (len == 0) {
		send_str(s, "");
		return;
	}
	switch (pkt[0]) {
	case '?':
		stop_reply(s, &s->last_stop);
		break;
	case 'q':
		handle_query(s, pkt, len);
		break;
	case 'Q':
		if (len == 15 && prefix(pkt, len, "QStartNoAckMode")) {
			send_str(s, "OK");
			s->no_ack = true; /* from the next packet on */
		} else {
			send_str(s, "");
		}
		break;
	case 'g':
		if (len == 1)
			handle_read_regs(s);
		else
			send_error(s, EINVAL);
		break;
	case 'G':
		handle_write_regs(s, pkt + 1, len - 1);
		break;
	case 'p':
		handle_reg(s, pkt, len, false);
		break;
	case 'P':
		handle_reg(s, pkt, len, true);
		break;
	case 'm':
		handle_read_mem(s, pkt, len);
		break;
	case 'M':
		handle_write_mem(s, pkt, len, false);
		break;
	case 'X':
		handle_write_mem(s, pkt, len, true);
		break;
	case 'Z':
	case 'z':
		handle_breakpoint(s, pkt, len);
		break;
	case 'c':
		handle_cont(s, pkt, len, false);
		break;
	case 's':
		handle_cont(s, pkt, len, true);
		break;
	case 'v':
		handle_v(s, pkt, len);
		break;
	case 'H':
		handle_thread_select(s, pkt, len);
		break;
	case 'T': {
		const char *p = pkt + 1;
		long tid;
		unsigned v;

		if (parse_tid(&p, pkt + len, &tid) && p == pkt + len && tid_to_vcpu(s, tid, &v))
			send_str(s, "OK");
		else
			send_error(s, ESRCH);
		break;
	}
	case 'D':
		send_str(s, "OK");
		s->ops->detach(s->target);
		s->state = GDB_SESSION_CLOSED;
		break;
	case 'k':
		/* No reply to k. */
		s->ops->kill(s->target);
		s->state = GDB_SESSION_CLOSED;
		break;
	default:
		send_str(s, "");
	}
}

void gdb_session__input(struct gdb_session *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len && s->state != GDB_SESSION_CLOSED; i++) {
		switch (gdb_rx__feed(&s->rx, p[i])) {
		case GDB_RX_NONE:
		case GDB_RX_ACK:
			break;
		case GDB_RX_NAK:
			if (!s->no_ack && s->out_len)
				send_raw(s, s->out, s->out_len);
			break;
		case GDB_RX_INTERRUPT:
			if (s->state == GDB_SESSION_RUNNING && !s->interrupt_sent) {
				s->interrupt_sent = true;
				s->ops->interrupt(s->target);
			}
			break;
		case GDB_RX_BAD_CHECKSUM:
			s->nr_bad_packets++;
			if (!s->no_ack)
				send_raw(s, "-", 1); /* GDB resends */
			break;
		case GDB_RX_TOO_LONG:
			s->nr_bad_packets++;
			if (!s->no_ack)
				send_raw(s, "+", 1);
			if (s->state == GDB_SESSION_STOPPED)
				send_error(s, EMSGSIZE);
			break;
		case GDB_RX_PACKET:
			if (!s->no_ack)
				send_raw(s, "+", 1);
			gdb_session__packet(s, (const char *)s->rx.buf, s->rx.len);
			break;
		}
	}
}
