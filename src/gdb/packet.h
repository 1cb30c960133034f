/*
 * GDB remote serial protocol framing: "$data#cc", acks, escapes, run-length
 * encoding and the 0x03 interrupt byte.  Pure code over byte buffers, no I/O,
 * so that it can be unit-tested and fuzzed on its own.
 */
#ifndef VMSCOPE_GDB_PACKET_H
#define VMSCOPE_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The largest packet body we accept and send, after unescaping (also what
 * qSupported announces as PacketSize).  Longer packets are dropped whole and
 * answered with a NAK (ack mode) or an error reply.
 */
#define GDB_PACKET_MAX 16384

enum gdb_rx_event {
	GDB_RX_NONE,         /* byte consumed, nothing complete yet */
	GDB_RX_PACKET,       /* rx->buf[0..len) holds a complete, valid packet */
	GDB_RX_BAD_CHECKSUM, /* a complete packet whose checksum did not match */
	GDB_RX_TOO_LONG,     /* a complete packet longer than GDB_PACKET_MAX */
	GDB_RX_INTERRUPT,    /* 0x03 outside a packet: Ctrl-C */
	GDB_RX_ACK,          /* '+' */
	GDB_RX_NAK,          /* '-' */
};

struct gdb_rx {
	enum { RX_IDLE, RX_BODY, RX_ESCAPE, RX_RLE, RX_CSUM1, RX_CSUM2 } state;
	uint8_t csum;       /* running sum of the raw bytes between '$' and '#' */
	uint8_t csum_rx;    /* the two hex digits after '#' */
	bool overflow;
	bool bad_digit;
	size_t len;
	uint8_t buf[GDB_PACKET_MAX + 1]; /* +1: always NUL-terminated for convenience */
};

void gdb_rx__init(struct gdb_rx *rx);

/* Feeds one byte; returns what, if anything, it completed. */
enum gdb_rx_event gdb_rx__feed(struct gdb_rx *rx, uint8_t c);

/*
 * Frames data[0..len) as "$...#cc" into out (escaping '$', '#', '}' and '*').
 * Returns the framed length, or 0 when out (of size outsz) is too small.
 */
size_t gdb_packet__frame(const void *data, size_t len, char *out, size_t outsz);

/* Hex helpers.  Return -1 (or false) on a non-hex digit. */
int gdb_hex_digit(char c);
/* Parses up to 16 hex digits at *p, advancing *p; false when none or too many. */
bool gdb_parse_hex(const char **p, const char *end, uint64_t *val);
/* Decodes 2*n hex chars into n bytes; false on a bad digit. */
bool gdb_hex_decode(const char *hex, size_t n, uint8_t *out);
/* Encodes n bytes as 2*n hex chars (no NUL). */
void gdb_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
