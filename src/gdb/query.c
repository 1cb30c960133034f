/* The q packets: features, the target description, the thread list, monitor commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb/commands_impl.h"

static void handle_query_supported(struct gdb_session *s, const char *pkt, size_t len)
{
	/* Remember what GDB offers: "qSupported:multiprocess+;swbreak+;..." */
	const char *end = pkt + len, *colon = memchr(pkt, ':', len);

	for (const char *p = colon ? colon + 1 : end; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t n = (size_t)((semi ? semi : end) - p);

		if (n == 8 && memcmp(p, "swbreak+", 8) == 0)
			s->swbreak_ok = true;
		if (n == 8 && memcmp(p, "hwbreak+", 8) == 0)
			s->hwbreak_ok = true;
		p += n + (semi ? 1 : 0);
		if (!semi)
			break;
	}
	gdb_reply__fmt(s, "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"
		       "QStartNoAckMode+", GDB_PACKET_MAX);
}

static void handle_xfer_features(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *pre = "qXfer:features:read:target.xml:";
	const char *p = pkt + strlen(pre), *end = pkt + len;
	size_t total = strlen(gdb_target_xml);
	uint64_t off, n;

	if (!gdb_has_prefix(pkt, len, pre)) {
		gdb_reply__error(s, ENOENT); /* only target.xml exists */
		return;
	}
	if (!gdb_parse_addr_len(&p, end, &off, &n) || p != end) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	if (off >= total) {
		gdb_reply__str(s, "l");
		return;
	}
	/* Escapes may double the size: keep the body within half a packet. */
	if (n > GDB_PACKET_MAX / 2 - 1)
		n = GDB_PACKET_MAX / 2 - 1;
	if (n > total - off)
		n = total - off;
	s->reply[0] = off + n >= total ? 'l' : 'm';
	memcpy(s->reply + 1, gdb_target_xml + off, n);
	gdb_reply__packet(s, s->reply, 1 + n);
}

static void handle_rcmd(struct gdb_session *s, const char *pkt, size_t len)
{
	char cmd[256], out[4096];
	size_t hexlen = len - 6, n = hexlen / 2; /* after "qRcmd," */
	int r;

	if (hexlen % 2 || n >= sizeof(cmd) || !gdb_hex_decode(pkt + 6, n, (uint8_t *)cmd)) {
		gdb_reply__error(s, EINVAL);
		return;
	}
	cmd[n] = 0;
	if (memchr(cmd, 0, n)) {
		gdb_reply__error(s, EINVAL);
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
		gdb_reply__packet(s, s->reply, 2 * m);
		return;
	}
	if (r < 0)
		gdb_reply__error(s, r);
	else
		gdb_reply__str(s, "OK");
}

void gdb_query__handle(struct gdb_session *s, const char *pkt, size_t len)
{
	if (gdb_has_prefix(pkt, len, "qSupported")) {
		handle_query_supported(s, pkt, len);
	} else if (gdb_has_prefix(pkt, len, "qXfer:features:read:")) {
		handle_xfer_features(s, pkt, len);
	} else if (len == 12 && gdb_has_prefix(pkt, len, "qfThreadInfo")) {
		char *o = s->reply;
		unsigned n = gdb_thread__count(s);

		*o++ = 'm';
		for (unsigned i = 0; i < n; i++)
			o += sprintf(o, "%s%02x", i ? "," : "", i + 1);
		gdb_reply__packet(s, s->reply, (size_t)(o - s->reply));
	} else if (len == 12 && gdb_has_prefix(pkt, len, "qsThreadInfo")) {
		gdb_reply__str(s, "l");
	} else if (len == 2 && gdb_has_prefix(pkt, len, "qC")) {
		gdb_reply__fmt(s, "QC%02x", s->g_vcpu + 1);
	} else if (gdb_has_prefix(pkt, len, "qAttached")) {
		gdb_reply__str(s, "1");
	} else if (gdb_has_prefix(pkt, len, "qThreadExtraInfo,")) {
		const char *p = pkt + 17;
		long tid;
		unsigned v;
		char text[32];
		int n;

		if (!gdb_thread__parse(&p, pkt + len, &tid) || !gdb_thread__vcpu(s, tid, &v)) {
			gdb_reply__error(s, EINVAL);
			return;
		}
		n = snprintf(text, sizeof(text), "vCPU %u", v);
		gdb_hex_encode((const uint8_t *)text, (size_t)n, s->reply);
		gdb_reply__packet(s, s->reply, 2 * (size_t)n);
	} else if (gdb_has_prefix(pkt, len, "qRcmd,")) {
		handle_rcmd(s, pkt, len);
	} else if (gdb_has_prefix(pkt, len, "qSymbol")) {
		gdb_reply__str(s, "OK");
	} else {
		gdb_reply__str(s, ""); /* unsupported: GDB falls back */
	}
}
