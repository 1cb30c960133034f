/*
 * Fuzz target for the GDB stub's protocol layer: framing (packet.c) and
 * command parsing (commands.c) over a fake machine.  Built two ways:
 *  - with -DVMSCOPE_LIBFUZZER and clang -fsanitize=fuzzer: a libFuzzer target;
 *  - otherwise: a plain driver, "fuzz_gdb_packet [SECONDS]", that replays
 *    random and mutated packets for that long (default 10 s).
 * Input: the first byte picks the path (raw bytes through the framing, or one
 * packet body straight into the dispatcher, which a fuzzer rarely reaches
 * through valid checksums); the rest is the data.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gdb/commands.h"
#include "xorshift.h"

static uint8_t mem[8192];
static struct gdb_regs regs[3];

static unsigned f_nr(void *t) { (void)t; return 3; }
static int f_get(void *t, unsigned v, struct gdb_regs *r) { (void)t; *r = regs[v % 3]; return 0; }
static int f_set(void *t, unsigned v, const struct gdb_regs *r) { (void)t; regs[v % 3] = *r; return 0; }

static long f_access(uint64_t va, void *buf, size_t len, bool write)
{
	size_t n;

	if (va >= sizeof(mem))
		return -EFAULT;
	n = sizeof(mem) - va < len ? sizeof(mem) - va : len;
	if (write)
		memcpy(mem + va, buf, n);
	else
		memcpy(buf, mem + va, n);
	return (long)n;
}

static long f_read(void *t, unsigned v, uint64_t va, void *b, size_t n) { (void)t; (void)v; return f_access(va, b, n, false); }
static long f_write(void *t, unsigned v, uint64_t va, const void *b, size_t n) { (void)t; (void)v; return f_access(va, (void *)b, n, true); }

static int f_ins(void *t, unsigned v, enum gdb_bp_type type, uint64_t va, uint64_t k, const char **why)
{
	(void)t; (void)v; (void)va; (void)k;
	if (type != GDB_BP_SW) {
		*why = "no";
		return -EOPNOTSUPP;
	}
	return va < sizeof(mem) ? 0 : -EFAULT;
}

static int f_rem(void *t, unsigned v, enum gdb_bp_type type, uint64_t va, uint64_t k)
{
	(void)t; (void)v; (void)type; (void)k;
	return va < sizeof(mem) ? 0 : -ENOENT;
}

static int f_resume(void *t, const enum gdb_action *a, const char **why)
{
	(void)t;
	if (a[2] == GDB_ACT_STEP) {
		*why = "no";
		return -EPERM;
	}
	return 0;
}
static void f_nop(void *t) { (void)t; }

static int f_monitor(void *t, const char *cmd, char *out, size_t outsz)
{
	(void)t;
	if (strcmp(cmd, "x") == 0) {
		snprintf(out, outsz, "%s", "y\n");
		return 0;
	}
	return -ENOENT;
}

static const struct gdb_target_ops ops = {
	.nr_vcpus = f_nr, .get_regs = f_get, .set_regs = f_set, .read_mem = f_read,
	.write_mem = f_write, .insert_bp = f_ins, .remove_bp = f_rem, .resume = f_resume,
	.interrupt = f_nop, .detach = f_nop, .kill = f_nop, .monitor = f_monitor,
};

static size_t out_bytes;

static void sink(void *opaque, const void *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	out_bytes += len;
}

static struct gdb_session sess;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdb_stop stop = { .kind = GDB_STOP_STEP, .vcpu = 0 };

	if (size == 0)
		return 0;
	gdb_session__init(&sess, &ops, NULL, sink, NULL, &stop);
	if (data[0] & 1) {
		gdb_session__input(&sess, data + 1, size - 1);
	} else if (size - 1 <= GDB_PACKET_MAX) {
		/* A body as the framing would deliver it: NUL-terminated copy. */
		char *body = malloc(size);

		memcpy(body, data + 1, size - 1);
		body[size - 1] = 0;
		gdb_session__packet(&sess, body, size - 1);
		free(body);
	}
	if (sess.state == GDB_SESSION_RUNNING) {
		stop.kind = (enum gdb_stop_kind)(data[0] >> 1 & 3);
		stop.vcpu = data[0] >> 3 & 1;
		gdb_session__stopped(&sess, &stop);
	}
	return 0;
}

#ifndef VMSCOPE_LIBFUZZER
/* ---- the plain driver ---------------------------------------------------------- */

static const char *const seeds[] = {
	"?", "g", "G", "p10", "P10=0011223344556677", "m1000,10", "M10,2:abcd", "X10,3:abc",
	"Z0,10,1", "z0,10,1", "Z1,10,1", "Z2,10,4", "c", "s", "vCont;c", "vCont;s:1;c",
	"vCont?", "Hg1", "Hc-1", "Hgp1.2", "T1", "qSupported:swbreak+;multiprocess+",
	"qXfer:features:read:target.xml:0,fff", "qfThreadInfo", "qsThreadInfo", "qC",
	"qAttached", "qRcmd,78", "qThreadExtraInfo,1", "QStartNoAckMode", "D", "k", "vKill;1",
	"m-1,ffffffffffffffff", "vCont;C05:2", "vCont;S0a", "qSymbol::",
};

static size_t make_input(uint8_t *buf, size_t cap)
{
	const char *seed = seeds[xorshift_next() % (sizeof(seeds) / sizeof(seeds[0]))];
	size_t n = strlen(seed), len;
	uint8_t body[512];
	unsigned sum = 0;

	memcpy(body, seed, n);
	/* Mutate: flip, insert or append random bytes and hex digits. */
	for (unsigned k = xorshift_next() % 8; k > 0 && n < sizeof(body) - 1; k--) {
		switch (xorshift_next() % 4) {
		case 0:
			if (n)
				body[xorshift_next() % n] ^= (uint8_t)(1u << (xorshift_next() % 8));
			break;
		case 1:
			body[n++] = "0123456789abcdef,:;-"[xorshift_next() % 20];
			break;
		case 2:
			body[n++] = (uint8_t)xorshift_next();
			break;
		default:
			if (n)
				n = xorshift_next() % n;
			break;
		}
	}
	buf[0] = (uint8_t)xorshift_next();
	if (!(buf[0] & 1)) {
		memcpy(buf + 1, body, n);
		return n + 1;
	}
	/* Framed, usually with the right checksum, sometimes with noise around it. */
	len = 1;
	if (xorshift_next() % 8 == 0)
		buf[len++] = (uint8_t)"+-\x03$#}*"[xorshift_next() % 7];
	buf[len++] = '$';
	for (size_t i = 0; i < n && len < cap - 8; i++) {
		buf[len++] = body[i];
		sum += body[i];
	}
	len += (size_t)snprintf((char *)buf + len, 4, "#%02x",
				xorshift_next() % 16 ? sum & 0xff : (unsigned)xorshift_next() & 0xff);
	return len;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10.0;
	struct timespec t0, t;
	static uint8_t buf[1024];
	unsigned long long runs = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	xorshift_state ^= (uint64_t)t0.tv_nsec;
	printf("fuzz_gdb_packet: plain driver (no libFuzzer), %.0f s, seed %llu\n", seconds,
	       (unsigned long long)xorshift_state);
	for (;;) {
		for (int i = 0; i < 1000; i++) {
			size_t n = make_input(buf, sizeof(buf));

			LLVMFuzzerTestOneInput(buf, n);
			runs++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
			break;
	}
	printf("fuzz_gdb_packet: %llu inputs, %zu bytes of replies, no crash\n", runs, out_bytes);
	return 0;
}
#endif
