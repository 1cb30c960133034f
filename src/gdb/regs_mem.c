/* Registers (g G p P) and guest virtual memory (m M X) of the Hg thread. */
#include <errno.h>
#include <string.h>

#include "gdb/commands_impl.h"

/* Largest m/M/X transfer: a hex reply must fit in one packet. */
#define GDB_MEM_MAX (GDB_PACKET_MAX / 2)

/* Writes regs to the Hg thread and replies OK or the error. */
static void set_regs(struct gdb_session *s, const struct gdb_regs *regs)
{
	int r = s->ops->set_regs(s->target, s->g_vcpu, regs);

	if (r < 0)
		gdb_reply__error(s, r);
	else
		gdb_reply__str(s, "OK");
}

void gdb_regs__read_all(struct gdb_session *s)
{
	struct gdb_regs regs;
	char *o = s->reply;
	int r = s->ops->get_regs(s->target, s->g_vcpu, &regs);

	if (r < 0) {
		gdb_reply__error(s, r);
		return;
	}
	for (unsigned i = 0; i < gdb_nr_regs; i++) {
		gdb_hex_encode((const uint8_t *)&regs + gdb_reg_table[i].offset,
			       gdb_reg_table[i].size, o);
		o += 2 * gdb_reg_table[i].size;
	}
	gdb_reply__packet(s, s->reply, (size_t)(o - s->reply));
}

void gdb_regs__write_all(struct gdb_session *s, const char *hex, size_t len)
{
	struct gdb_regs regs;
	size_t off = 0;
	int r = s->ops->get_regs(s->target, s->g_vcpu, &regs);

	if (r < 0) {
		gdb_reply__error(s, r);
		return;
	}
	/* GDB may send fewer registers than it could; the rest keep their values. */
	for (unsigned i = 0; i < gdb_nr_regs; i++) {
		size_t n = gdb_reg_table[i].size;

		if (off + 2 * n > len)
			break;
		if (!gdb_hex_decode(hex + off, n, (uint8_t *)&regs + gdb_reg_table[i].offset)) {
			gdb_reply__error(s, EINVAL);
			return;
		}
		off += 2 * n;
	}
	if (off != len) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	set_regs(s, &regs);
}

void gdb_regs__one(struct gdb_session *s, const char *pkt, size_t len, bool write)
{
	const char *p = pkt + 1, *end = pkt + len;
	struct gdb_regs regs;
	uint64_t n;
	int r;

	if (!gdb_parse_hex(&p, end, &n) || n >= gdb_nr_regs) {
		/* An unknown register: GDB expects an error, not an empty reply. */
		gdb_reply__error(s, EINVAL);
		return;
	}
	if (write ? (p >= end || *p++ != '=') : p != end) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	r = s->ops->get_regs(s->target, s->g_vcpu, &regs);
	if (r < 0) {
		gdb_reply__error(s, r);
		return;
	}
	if (!write) {
		gdb_hex_encode((const uint8_t *)&regs + gdb_reg_table[n].offset,
			       gdb_reg_table[n].size, s->reply);
		gdb_reply__packet(s, s->reply, 2 * gdb_reg_table[n].size);
		return;
	}
	if ((size_t)(end - p) != 2 * gdb_reg_table[n].size ||
	    !gdb_hex_decode(p, gdb_reg_table[n].size, (uint8_t *)&regs + gdb_reg_table[n].offset)) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	set_regs(s, &regs);
}

void gdb_mem__read(struct gdb_session *s, const char *pkt, size_t len)
{
	static uint8_t buf[GDB_MEM_MAX];
	const char *p = pkt + 1, *end = pkt + len;
	uint64_t addr, n;
	long got;

	if (!gdb_parse_addr_len(&p, end, &addr, &n) || p != end) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	if (n > GDB_MEM_MAX)
		n = GDB_MEM_MAX; /* GDB accepts a shorter reply and asks for the rest */
	if (n == 0) {
		gdb_reply__str(s, "");
		return;
	}
	got = s->ops->read_mem(s->target, s->g_vcpu, addr, buf, n);
	if (got <= 0) {
		gdb_reply__error(s, got < 0 ? (int)got : EFAULT);
		return;
	}
	gdb_hex_encode(buf, (size_t)got, s->reply);
	gdb_reply__packet(s, s->reply, 2 * (size_t)got);
}

void gdb_mem__write(struct gdb_session *s, const char *pkt, size_t len, bool binary)
{
	static uint8_t buf[GDB_PACKET_MAX];
	const char *p = pkt + 1, *end = pkt + len;
	uint64_t addr, n;
	long put;

	if (!gdb_parse_addr_len(&p, end, &addr, &n) || p >= end || *p++ != ':') {
		gdb_reply__error(s, EINVAL);
		return;
	}
	if (binary) {
		if ((uint64_t)(end - p) != n) {
			gdb_reply__error(s, EINVAL);
			return;
		}
		memcpy(buf, p, n);
	} else {
		if ((uint64_t)(end - p) != 2 * n || !gdb_hex_decode(p, n, buf)) {
			gdb_reply__error(s, EINVAL);
			return;
		}
	}
	if (n == 0) { /* X probe */
		gdb_reply__str(s, "OK");
		return;
	}
	put = s->ops->write_mem(s->target, s->g_vcpu, addr, buf, n);
	if (put < 0 || (uint64_t)put != n)
		gdb_reply__error(s, put < 0 ? (int)put : EFAULT);
	else
		gdb_reply__str(s, "OK");
}
