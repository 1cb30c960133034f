/*
 * Unit tests of the GDB remote protocol layer: framing (src/gdb/packet.c) and
 * the command dispatcher (src/gdb/commands.c) against a fake two-vCPU
 * machine with 3 pages of memory.  No KVM needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/commands.h"
#include "gdb/packet.h"
#include "gdb/regs.h"

/* ---- the fake machine --------------------------------------------------------- */

#define FAKE_MEM_BASE 0x1000
#define FAKE_MEM_SIZE 0x3000

static struct fake {
	struct gdb_regs regs[2];
	uint8_t mem[FAKE_MEM_SIZE];
	enum gdb_action acts[2];
	int resumed, interrupted, detached, killed;
	uint64_t bp_addr;
	int nr_bps;
} fk;

static unsigned f_nr(void *t) { (void)t; return 2; }

static int f_get(void *t, unsigned v, struct gdb_regs *r)
{
	(void)t;
	*r = fk.regs[v];
	return 0;
}

static int f_set(void *t, unsigned v, const struct gdb_regs *r)
{
	(void)t;
	fk.regs[v] = *r;
	return 0;
}

static long f_access(uint64_t va, void *buf, size_t len, bool write)
{
	size_t n;

	if (va < FAKE_MEM_BASE || va >= FAKE_MEM_BASE + FAKE_MEM_SIZE)
		return -EFAULT;
	n = FAKE_MEM_BASE + FAKE_MEM_SIZE - va;
	if (n > len)
		n = len;
	if (write)
		memcpy(fk.mem + (va - FAKE_MEM_BASE), buf, n);
	else
		memcpy(buf, fk.mem + (va - FAKE_MEM_BASE), n);
	return (long)n;
}

static long f_read(void *t, unsigned v, uint64_t va, void *buf, size_t len)
{
	(void)t; (void)v;
	return f_access(va, buf, len, false);
}

static long f_write(void *t, unsigned v, uint64_t va, const void *buf, size_t len)
{
	(void)t; (void)v;
	return f_access(va, (void *)buf, len, true);
}

static int f_ins(void *t, unsigned v, enum gdb_bp_type type, uint64_t va, uint64_t kind,
		 const char **why)
{
	(void)t; (void)v; (void)kind;
	if (type != GDB_BP_SW) {
		*why = "no hardware breakpoints here";
		return -EOPNOTSUPP;
	}
	fk.bp_addr = va;
	fk.nr_bps++;
	return 0;
}

static int f_rem(void *t, unsigned v, enum gdb_bp_type type, uint64_t va, uint64_t kind)
{
	(void)t; (void)v; (void)type; (void)kind;
	if (va != fk.bp_addr || fk.nr_bps == 0)
		return -ENOENT;
	fk.nr_bps--;
	return 0;
}

static int f_resume(void *t, const enum gdb_action *a, const char **why)
{
	(void)t;
	if (a[0] == GDB_ACT_STEP && fk.regs[0].rip == 0xdead) {
		*why = "cannot step this";
		return -EPERM;
	}
	fk.acts[0] = a[0];
	fk.acts[1] = a[1];
	fk.resumed++;
	return 0;
}

static void f_interrupt(void *t) { (void)t; fk.interrupted++; }
static void f_detach(void *t) { (void)t; fk.detached++; }
static void f_kill(void *t) { (void)t; fk.killed++; }

static int f_monitor(void *t, const char *cmd, char *out, size_t outsz)
{
	(void)t;
	if (strcmp(cmd, "hello") == 0) {
		snprintf(out, outsz, "hi\n");
		return 0;
	}
	return -ENOENT;
}

static const struct gdb_target_ops fake_ops = {
	.nr_vcpus = f_nr, .get_regs = f_get, .set_regs = f_set, .read_mem = f_read,
	.write_mem = f_write, .insert_bp = f_ins, .remove_bp = f_rem, .resume = f_resume,
	.interrupt = f_interrupt, .detach = f_detach, .kill = f_kill, .monitor = f_monitor,
};

/* ---- capturing what the session sends ----------------------------------------- */

static char sent[1 << 18];
static size_t sent_len;

static void capture(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	assert_true(sent_len + len < sizeof(sent));
	memcpy(sent + sent_len, buf, len);
	sent_len += len;
	sent[sent_len] = 0;
}

static struct gdb_session *sess;

static int setup(void **state)
{
	struct gdb_stop stop = { .kind = GDB_STOP_STEP, .vcpu = 0 };

	(void)state;
	memset(&fk, 0, sizeof(fk));
	for (int i = 0; i < FAKE_MEM_SIZE; i++)
		fk.mem[i] = (uint8_t)i;
	fk.regs[0].rip = 0x100000;
	fk.regs[1].rip = 0x200000;
	fk.regs[0].cr3 = 0x9000;
	sess = calloc(1, sizeof(*sess));
	gdb_session__init(sess, &fake_ops, NULL, capture, NULL, &stop);
	sent_len = 0;
	sent[0] = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(sess);
	return 0;
}

/* Frames body, feeds it, returns the body of the one reply (acks stripped). */
static const char *ask(const char *body)
{
	static char framed[1 << 17], reply[1 << 17];
	struct gdb_rx rx;
	size_t n = gdb_packet__frame(body, strlen(body), framed, sizeof(framed));

	assert_true(n > 0);
	sent_len = 0;
	gdb_session__input(sess, framed, n);
	gdb_rx__init(&rx);
	reply[0] = 0;
	for (size_t i = 0; i < sent_len; i++)
		if (gdb_rx__feed(&rx, (uint8_t)sent[i]) == GDB_RX_PACKET) {
			memcpy(reply, rx.buf, rx.len + 1);
			return reply;
		}
	return NULL; /* no reply */
}

/* ---- framing ------------------------------------------------------------------- */

static enum gdb_rx_event feed_str(struct gdb_rx *rx, const char *s, size_t n)
{
	enum gdb_rx_event last = GDB_RX_NONE;

	for (size_t i = 0; i < n; i++) {
		enum gdb_rx_event e = gdb_rx__feed(rx, (uint8_t)s[i]);

		if (e != GDB_RX_NONE)
			last = e;
	}
	return last;
}

static void test_framing(void **state)
{
	static struct gdb_rx rx;
	char out[64];

	(void)state;
	gdb_rx__init(&rx);
	assert_int_equal(feed_str(&rx, "$g#67", 5), GDB_RX_PACKET);
	assert_int_equal(rx.len, 1);
	assert_string_equal((char *)rx.buf, "g");
	assert_int_equal(feed_str(&rx, "$g#68", 5), GDB_RX_BAD_CHECKSUM);
	assert_int_equal(feed_str(&rx, "$g#zz", 5), GDB_RX_BAD_CHECKSUM);
	assert_int_equal(gdb_rx__feed(&rx, 0x03), GDB_RX_INTERRUPT);
	assert_int_equal(gdb_rx__feed(&rx, '+'), GDB_RX_ACK);
	assert_int_equal(gdb_rx__feed(&rx, '-'), GDB_RX_NAK);
	/* Noise between packets is ignored; a '$' inside restarts. */
	assert_int_equal(feed_str(&rx, "xx$gar$g#67", 11), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "g");

	/* Escapes: '}' then byte ^ 0x20; the checksum covers the raw bytes. */
	size_t n = gdb_packet__frame("a#b$c}d*e", 9, out, sizeof(out));
	assert_int_equal(n, 1 + 9 + 4 + 3);
	assert_memory_equal(out, "$a}\x03" "b}\x04" "c}]d}\x0a" "e#", 15);
	assert_int_equal(feed_str(&rx, out, n), GDB_RX_PACKET);
	assert_int_equal(rx.len, 9);
	assert_memory_equal(rx.buf, "a#b$c}d*e", 9);

	/* Run-length encoding: "0* " is '0' and 3 more. */
	const char rle[] = "$0* #";
	char buf[16];
	unsigned sum = 0;

	for (int i = 1; i < 4; i++)
		sum += (unsigned char)rle[i];
	snprintf(buf, sizeof(buf), "%s%02x", rle, sum & 0xff);
	assert_int_equal(feed_str(&rx, buf, strlen(buf)), GDB_RX_PACKET);
	assert_string_equal((char *)rx.buf, "0000");

	/* A frame too small for the output. */
	assert_int_equal(gdb_packet__frame("abcdef", 6, out, 8), 0);
}

static void test_too_long(void **state)
{
	static struct gdb_rx rx;
	static char big[GDB_PACKET_MAX + 100];
	static char framed[2 * sizeof(big)];
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big));
	n = gdb_packet__frame(big, sizeof(big), framed, sizeof(framed));
	gdb_rx__init(&rx);
	assert_int_equal(feed_str(&rx, framed, n), GDB_RX_TOO_LONG);
	/* The parser recovers for the next packet. */
	assert_int_equal(feed_str(&rx, "$g#67", 5), GDB_RX_PACKET);
}

static void test_hex(void **state)
{
	const char *p = "1fz", *q = "12345678901234567";
	uint64_t v;
	uint8_t b[2];
	char h[5] = { 0 };

	(void)state;
	assert_true(gdb_parse_hex(&p, p + 3, &v));
	assert_int_equal(v, 0x1f);
	assert_int_equal(*p, 'z');
	assert_false(gdb_parse_hex(&q, q + 17, &v)); /* 17 digits: too many */
	p = "z";
	assert_false(gdb_parse_hex(&p, p + 1, &v));
	assert_true(gdb_hex_decode("aB01", 2, b));
	assert_int_equal(b[0], 0xab);
	assert_false(gdb_hex_decode("g0", 1, b));
	gdb_hex_encode(b, 2, h);
	assert_string_equal(h, "ab01");
}

/* ---- commands ------------------------------------------------------------------ */

static void test_handshake(void **state)
{
	const char *r;

	(void)state;
	r = ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
	assert_non_null(strstr(r, "PacketSize=4000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	assert_non_null(strstr(r, "swbreak+"));
	assert_string_equal(ask("?"), "T05thread:01;");
	assert_string_equal(ask("qAttached"), "1");
	assert_string_equal(ask("qfThreadInfo"), "m01,02");
	assert_string_equal(ask("qsThreadInfo"), "l");
	assert_string_equal(ask("qC"), "QC01");
	assert_string_equal(ask("vCont?"), "vCont;c;C;s;S");
	assert_string_equal(ask("vMustReplyEmpty"), "");
	/* "vCPU 1" in hex */
	assert_string_equal(ask("qThreadExtraInfo,2"), "764350552031");
	assert_string_equal(ask("QStartNoAckMode"), "OK");
	/* No acks from now on. */
	sent_len = 0;
	gdb_session__input(sess, "$?#3f", 5);
	assert_true(sent[0] == '$');
}

static void test_target_xml(void **state)
{
	static char whole[1 << 16];
	size_t got = 0;

	(void)state;
	for (;;) {
		char q[96];
		const char *r;

		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,%x", got, 1000);
		r = ask(q);
		assert_non_null(r);
		assert_true(r[0] == 'm' || r[0] == 'l');
		memcpy(whole + got, r + 1, strlen(r + 1));
		got += strlen(r + 1);
		if (r[0] == 'l')
			break;
	}
	whole[got] = 0;
	assert_string_equal(whole, gdb_target_xml);
	for (unsigned i = 0; i < gdb_nr_regs; i++) {
		char name[48];

		snprintf(name, sizeof(name), "name=\"%s\"", gdb_reg_table[i].name);
		assert_non_null(strstr(gdb_target_xml, name));
	}
	assert_non_null(strstr(whole, "org.gnu.gdb.i386.segments"));
	assert_non_null(strstr(whole, "name=\"cr3\""));
	assert_non_null(strstr(whole, "name=\"efer\""));
	assert_string_equal(ask("qXfer:features:read:target.xml:ffffff,10"), "l");
	assert_true(ask("qXfer:features:read:nope.xml:0,10")[0] == 'E');
}

static void test_registers(void **state)
{
	const char *r;
	size_t total = 0;

	(void)state;
	for (unsigned i = 0; i < gdb_nr_regs; i++)
		total += gdb_reg_table[i].size;
	assert_int_equal(total, gdb_regs_g_size);
	r = ask("g");
	assert_int_equal(strlen(r), 2 * gdb_regs_g_size);
	/* rip is register 16, after 16 GPRs. */
	assert_memory_equal(r + 16 * 16, "0000100000000000", 16);
	assert_string_equal(ask("p10"), "0000100000000000");
	assert_string_equal(ask("P0=8877665544332211"), "OK");
	assert_int_equal(fk.regs[0].gpr[0], 0x1122334455667788ULL);
	/* cr3: register 62 (0x3e) */
	assert_string_equal(ask("p3e"), "0090000000000000");
	assert_true(ask("p999")[0] == 'E');
	assert_true(ask("P0=12")[0] == 'E');
	/* Thread 2's registers after Hg2. */
	assert_string_equal(ask("Hg2"), "OK");
	assert_string_equal(ask("p10"), "0000200000000000");
	assert_true(ask("Hg3")[0] == 'E');
	/* G writes what g read. */
	r = ask("g");
	{
		static char g[4096];

		g[0] = 'G';
		strcpy(g + 1, r);
		memcpy(g + 1, "ff", 2);
		assert_string_equal(ask(g), "OK");
		assert_int_equal(fk.regs[1].gpr[0] & 0xff, 0xff);
		g[3] = 'z';
		assert_true(ask(g)[0] == 'E');
	}
}

static void test_memory(void **state)
{
	const char *r;
	char q[64];

	(void)state;
	assert_string_equal(ask("m1000,4"), "00010203");
	/* Partial: only what is mapped, then an error for the rest. */
	r = ask("m3ffe,10");
	assert_string_equal(r, "feff");
	assert_true(ask("m4000,1")[0] == 'E');
	assert_true(ask("m0,1")[0] == 'E');
	/* Huge lengths are clamped to one packet. */
	r = ask("m1000,ffffffffffffffff");
	assert_true(strlen(r) <= GDB_PACKET_MAX && strlen(r) > 0);
	assert_string_equal(ask("M1000,2:abcd"), "OK");
	assert_int_equal(fk.mem[0], 0xab);
	assert_true(ask("M1000,2:abc")[0] == 'E');
	assert_true(ask("M1000,2:zzzz")[0] == 'E');
	/* X: binary, with escapes undone by the framing. */
	snprintf(q, sizeof(q), "X1002,3:a}c");
	assert_string_equal(ask(q), "OK");
	assert_memory_equal(fk.mem + 2, "a}c", 3);
	assert_string_equal(ask("X1000,0:"), "OK");
	assert_true(ask("X1000,5:ab")[0] == 'E');
	assert_true(ask("mzz,1")[0] == 'E');
}

static void test_breakpoints(void **state)
{
	const char *r;

	(void)state;
	assert_string_equal(ask("Z0,1234,1"), "OK");
	assert_int_equal(fk.bp_addr, 0x1234);
	assert_string_equal(ask("z0,1234,1"), "OK");
	assert_true(ask("z0,1234,1")[0] == 'E');
	r = ask("Z1,1234,1");
	assert_memory_equal(r, "E.5f.", 5); /* EOPNOTSUPP = 95 */
	assert_non_null(strstr(r, "no hardware breakpoints"));
	assert_true(ask("Z2,1234,4")[0] == 'E');
	assert_true(ask("Z9,1234,1")[0] == 'E');
	assert_true(ask("Z0,1234")[0] == 'E');
	assert_string_equal(ask("Z0,1234,1;X2,ab"), "OK"); /* GDB-side conditions ignored */
}

static void test_resume_and_stop(void **state)
{
	struct gdb_stop st = { .kind = GDB_STOP_SWBREAK, .vcpu = 1 };

	(void)state;
	ask("qSupported:swbreak+");
	/* Step thread 2, continue the rest. */
	assert_null(ask("vCont;s:2;c"));
	assert_int_equal(fk.resumed, 1);
	assert_int_equal(fk.acts[0], GDB_ACT_CONT);
	assert_int_equal(fk.acts[1], GDB_ACT_STEP);
	assert_int_equal(sess->state, GDB_SESSION_RUNNING);
	/* While running, packets are ignored and Ctrl-C interrupts once. */
	assert_null(ask("g"));
	sent_len = 0;
	gdb_session__input(sess, "\x03\x03", 2);
	assert_int_equal(fk.interrupted, 1);
	sent_len = 0;
	gdb_session__stopped(sess, &st);
	assert_non_null(strstr(sent, "T05thread:02;swbreak:;"));
	assert_string_equal(ask("qC"), "QC02");
	/* Legacy s steps only the current thread. */
	assert_null(ask("s"));
	assert_int_equal(fk.acts[0], GDB_ACT_STOP);
	assert_int_equal(fk.acts[1], GDB_ACT_STEP);
	st.kind = GDB_STOP_INTERRUPT;
	st.vcpu = 0;
	gdb_session__stopped(sess, &st);
	assert_string_equal(ask("?"), "T02thread:01;");
	assert_null(ask("c"));
	assert_int_equal(fk.acts[0], GDB_ACT_CONT);
	assert_int_equal(fk.acts[1], GDB_ACT_CONT);
	st.kind = GDB_STOP_EXITED;
	st.status = 3;
	sent_len = 0;
	gdb_session__stopped(sess, &st);
	assert_non_null(strstr(sent, "$W03#"));
	assert_int_equal(sess->state, GDB_SESSION_CLOSED);
}

static void test_bad_vcont(void **state)
{
	(void)state;
	assert_true(ask("vCont;x")[0] == 'E');
	assert_true(ask("vCont;c:9")[0] == 'E');
	assert_true(ask("vCont;")[0] == 'E');
	assert_true(ask("vCont;C")[0] == 'E');
	assert_int_equal(fk.resumed, 0);
	fk.regs[0].rip = 0xdead;
	assert_string_equal(ask("vCont;s:1"), "E.01.cannot step this");
	assert_int_equal(sess->state, GDB_SESSION_STOPPED);
	fk.regs[0].rip = 0;
	assert_null(ask("vCont;C05:1"));
	assert_int_equal(fk.acts[0], GDB_ACT_CONT);
	assert_int_equal(fk.acts[1], GDB_ACT_STOP);
}

static void test_monitor_detach_kill(void **state)
{
	(void)state;
	assert_string_equal(ask("qRcmd,68656c6c6f"), "68690a"); /* hello -> "hi\n" */
	assert_true(strlen(ask("qRcmd,6e6f7065")) > 10);
	assert_true(ask("qRcmd,zz")[0] == 'E');
	assert_true(ask("T1")[0] == 'O');
	assert_true(ask("T5")[0] == 'E');
	assert_string_equal(ask("D"), "OK");
	assert_int_equal(fk.detached, 1);
	assert_null(ask("g")); /* closed */
}

static void test_kill(void **state)
{
	(void)state;
	assert_null(ask("k"));
	assert_int_equal(fk.killed, 1);
	assert_int_equal(sess->state, GDB_SESSION_CLOSED);
}

static void test_nak_resends(void **state)
{
	char first[64];

	(void)state;
	ask("qC");
	memcpy(first, sent + 1, sent_len - 1); /* without the '+' */
	first[sent_len - 1] = 0;
	sent_len = 0;
	gdb_session__input(sess, "-", 1);
	sent[sent_len] = 0;
	assert_string_equal(sent, first);
	/* A bad checksum is NAKed, not answered. */
	sent_len = 0;
	gdb_session__input(sess, "$qC#00", 6);
	sent[sent_len] = 0;
	assert_string_equal(sent, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_hex),
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_xml, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breakpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_and_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_vcont, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_detach_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nak_resends, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
