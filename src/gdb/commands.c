/*
 * A GDB session in all-stop mode: bytes in, acks and resends, and the packet
 * dispatcher; the commands themselves are in the files commands_impl.h lists.
 */
#include <errno.h>
#include <string.h>

#include "gdb/commands_impl.h"

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
	gdb_reply__stop(s, stop);
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
		gdb_reply__str(s, "");
		return;
	}
	switch (pkt[0]) {
	case '?':
		gdb_reply__stop(s, &s->last_stop);
		break;
	case 'q':
		gdb_query__handle(s, pkt, len);
		break;
	case 'Q':
		if (len == 15 && gdb_has_prefix(pkt, len, "QStartNoAckMode")) {
			gdb_reply__str(s, "OK");
			s->no_ack = true; /* from the next packet on */
		} else {
			gdb_reply__str(s, "");
		}
		break;
	case 'g':
		if (len == 1)
			gdb_regs__read_all(s);
		else
			gdb_reply__error(s, EINVAL);
		break;
	case 'G':
		gdb_regs__write_all(s, pkt + 1, len - 1);
		break;
	case 'p':
		gdb_regs__one(s, pkt, len, false);
		break;
	case 'P':
		gdb_regs__one(s, pkt, len, true);
		break;
	case 'm':
		gdb_mem__read(s, pkt, len);
		break;
	case 'M':
		gdb_mem__write(s, pkt, len, false);
		break;
	case 'X':
		gdb_mem__write(s, pkt, len, true);
		break;
	case 'Z':
	case 'z':
		gdb_exec__breakpoint(s, pkt, len);
		break;
	case 'c':
		gdb_exec__cont(s, pkt, len, false);
		break;
	case 's':
		gdb_exec__cont(s, pkt, len, true);
		break;
	case 'v':
		gdb_exec__v(s, pkt, len);
		break;
	case 'H':
		gdb_thread__select(s, pkt, len);
		break;
	case 'T':
		gdb_thread__alive(s, pkt, len);
		break;
	case 'D':
		gdb_reply__str(s, "OK");
		s->ops->detach(s->target);
		s->state = GDB_SESSION_CLOSED;
		break;
	case 'k':
		/* No reply to k. */
		s->ops->kill(s->target);
		s->state = GDB_SESSION_CLOSED;
		break;
	default:
		gdb_reply__str(s, "");
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
				gdb_reply__raw(s, s->out, s->out_len);
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
				gdb_reply__raw(s, "-", 1); /* GDB resends */
			break;
		case GDB_RX_TOO_LONG:
			s->nr_bad_packets++;
			if (!s->no_ack)
				gdb_reply__raw(s, "+", 1);
			if (s->state == GDB_SESSION_STOPPED)
				gdb_reply__error(s, EMSGSIZE);
			break;
		case GDB_RX_PACKET:
			if (!s->no_ack)
				gdb_reply__raw(s, "+", 1);
			gdb_session__packet(s, (const char *)s->rx.buf, s->rx.len);
			break;
		}
	}
}
