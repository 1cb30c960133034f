/*
 * What the files of a GDB session (commands.h) share; private to src/gdb.
 *
 *   commands.c  the session: bytes in, acks, the packet dispatcher
 *   reply.c     packets out: framing, errors, stop replies, console output
 *   threads.c   thread ids (vCPU index + 1), H and T
 *   query.c     q packets: qSupported, qXfer target.xml, thread lists, qRcmd
 *   regs_mem.c  registers (g G p P) and memory (m M X)
 *   exec.c      breakpoints (Z z), c, s, vCont and the other v packets
 *
 * Every number from the peer is parsed with bounds and every length is
 * clamped to what one reply can hold.
 */
#ifndef VMSCOPE_GDB_COMMANDS_IMPL_H
#define VMSCOPE_GDB_COMMANDS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gdb/commands.h"

static inline bool gdb_has_prefix(const char *pkt, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && memcmp(pkt, pre, n) == 0;
}

/* "addr,len" with an optional terminator. */
static inline bool gdb_parse_addr_len(const char **p, const char *end, uint64_t *addr,
				      uint64_t *len)
{
	if (!gdb_parse_hex(p, end, addr) || *p >= end || **p != ',')
		return false;
	(*p)++;
	return gdb_parse_hex(p, end, len);
}

/* reply.c; raw: bytes as they are (acks, a resend after a NAK). */
void gdb_reply__raw(struct gdb_session *s, const char *buf, size_t len);
void gdb_reply__packet(struct gdb_session *s, const void *data, size_t len);
void gdb_reply__str(struct gdb_session *s, const char *str);
void gdb_reply__fmt(struct gdb_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gdb_reply__error(struct gdb_session *s, int err);
/* "E.errtext": GDB prints the text for the packets that support it (Z1-Z4, qRcmd). */
void gdb_reply__error_text(struct gdb_session *s, int err, const char *text);
void gdb_reply__stop(struct gdb_session *s, const struct gdb_stop *st);

/* threads.c */
unsigned gdb_thread__count(struct gdb_session *s);
/* Parses a thread id: "-1" (all), "0" (any), or hex; "p<pid>.<tid>" too. */
bool gdb_thread__parse(const char **p, const char *end, long *tid);
/* A thread id that names one existing vCPU. */
bool gdb_thread__vcpu(struct gdb_session *s, long tid, unsigned *vcpu);
void gdb_thread__select(struct gdb_session *s, const char *pkt, size_t len);
void gdb_thread__alive(struct gdb_session *s, const char *pkt, size_t len);

/* query.c */
void gdb_query__handle(struct gdb_session *s, const char *pkt, size_t len);

/* regs_mem.c */
void gdb_regs__read_all(struct gdb_session *s);
void gdb_regs__write_all(struct gdb_session *s, const char *hex, size_t len);
void gdb_regs__one(struct gdb_session *s, const char *pkt, size_t len, bool write);
void gdb_mem__read(struct gdb_session *s, const char *pkt, size_t len);
void gdb_mem__write(struct gdb_session *s, const char *pkt, size_t len, bool binary);

/* exec.c */
void gdb_exec__breakpoint(struct gdb_session *s, const char *pkt, size_t len);
void gdb_exec__cont(struct gdb_session *s, const char *pkt, size_t len, bool step);
void gdb_exec__v(struct gdb_session *s, const char *pkt, size_t len);

#endif
