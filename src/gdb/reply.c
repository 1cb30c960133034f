/* Packets to GDB: framing into the session's buffer, errors, stop replies. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gdb/commands_impl.h"

void gdb_reply__raw(struct gdb_session *s, const char *buf, size_t len)
{
	s->write(s->wopaque, buf, len);
}

void gdb_reply__packet(struct gdb_session *s, const void *data, size_t len)
{
	size_t n = gdb_packet__frame(data, len, s->out, sizeof(s->out));

	if (n == 0) { /* cannot happen with replies bounded by GDB_PACKET_MAX */
		n = gdb_packet__frame("E01", 3, s->out, sizeof(s->out));
	}
	s->out_len = n;
	gdb_reply__raw(s, s->out, n);
}

void gdb_reply__str(struct gdb_session *s, const char *str)
{
	gdb_reply__packet(s, str, strlen(str));
}

void gdb_reply__fmt(struct gdb_session *s, const char *fmt, ...)
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
	gdb_reply__packet(s, s->reply, (size_t)n);
}

void gdb_reply__error(struct gdb_session *s, int err)
{
	if (err < 0)
		err = -err;
	gdb_reply__fmt(s, "E%02x", err & 0xff);
}

void gdb_reply__error_text(struct gdb_session *s, int err, const char *text)
{
	gdb_reply__fmt(s, "E.%02x.%s", (err < 0 ? -err : err) & 0xff, text);
}

void gdb_reply__stop(struct gdb_session *s, const struct gdb_stop *st)
{
	unsigned tid = st->vcpu + 1;

	switch (st->kind) {
	case GDB_STOP_EXITED:
		gdb_reply__fmt(s, "W%02x", st->status & 0xff);
		return;
	case GDB_STOP_INTERRUPT:
		gdb_reply__fmt(s, "T02thread:%02x;", tid);
		return;
	case GDB_STOP_SWBREAK:
		if (s->swbreak_ok) {
			gdb_reply__fmt(s, "T05thread:%02x;swbreak:;", tid);
			return;
		}
		break;
	case GDB_STOP_HWBREAK:
		if (s->hwbreak_ok) {
			gdb_reply__fmt(s, "T05thread:%02x;hwbreak:;", tid);
			return;
		}
		break;
	case GDB_STOP_WATCH:
		gdb_reply__fmt(s, "T05thread:%02x;%s:%llx;", tid,
			       st->wp_type == GDB_WP_ACCESS ? "awatch" : "watch",
			       (unsigned long long)st->addr);
		return;
	case GDB_STOP_STEP:
		break;
	}
	gdb_reply__fmt(s, "T05thread:%02x;", tid);
}

void gdb_session__console(struct gdb_session *s, const char *text)
{
	size_t n = strlen(text);

	if (n > (sizeof(s->reply) - 2) / 2)
		n = (sizeof(s->reply) - 2) / 2;
	s->reply[0] = 'O';
	gdb_hex_encode((const uint8_t *)text, n, s->reply + 1);
	gdb_reply__packet(s, s->reply, 1 + 2 * n);
}
