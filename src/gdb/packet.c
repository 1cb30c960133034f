#include "gdb/packet.h"

#include <string.h>

void gdb_rx__init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->len = 0;
	rx->csum = 0;
	rx->overflow = false;
	rx->bad_digit = false;
	rx->buf[0] = 0;
}

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void rx_put(struct gdb_rx *rx, uint8_t c)
{
	if (rx->len >= GDB_PACKET_MAX) {
		rx->overflow = true;
		return;
	}
	rx->buf[rx->len++] = c;
}

enum gdb_rx_event gdb_rx__feed(struct gdb_rx *rx, uint8_t c)
{
	int d;

	switch (rx->state) {
	case RX_IDLE:
		switch (c) {
		case '$':
			rx->state = RX_BODY;
			rx->len = 0;
			rx->csum = 0;
			rx->overflow = false;
			rx->bad_digit = false;
			return GDB_RX_NONE;
		case 0x03:
			return GDB_RX_INTERRUPT;
		case '+':
			return GDB_RX_ACK;
		case '-':
			return GDB_RX_NAK;
		default:
			return GDB_RX_NONE; /* line noise between packets */
		}
	case RX_BODY:
		if (c == '#') {
			rx->state = RX_CSUM1;
			return GDB_RX_NONE;
		}
		if (c == '$') { /* a new packet starts: the old one was truncated */
			rx->len = 0;
			rx->csum = 0;
			rx->overflow = false;
			return GDB_RX_NONE;
		}
		rx->csum += c;
		if (c == '}')
			rx->state = RX_ESCAPE;
		else if (c == '*' && rx->len > 0)
			rx->state = RX_RLE;
		else
			rx_put(rx, c);
		return GDB_RX_NONE;
	case RX_ESCAPE:
		rx->csum += c;
		rx_put(rx, c ^ 0x20);
		rx->state = RX_BODY;
		return GDB_RX_NONE;
	case RX_RLE: {
		/* "X*n": n - 29 more copies of X; GDB only sends counts 3..97. */
		uint8_t prev = rx->buf[rx->len - 1];
		int n = (int)c - 29;

		rx->csum += c;
		if (n < 0 || c < 32 || c > 126)
			rx->bad_digit = true;
		for (int i = 0; i < n; i++)
			rx_put(rx, prev);
		rx->state = RX_BODY;
		return GDB_RX_NONE;
	}
	case RX_CSUM1:
		d = gdb_hex_digit((char)c);
		if (d < 0)
			rx->bad_digit = true;
		rx->csum_rx = (uint8_t)((d < 0 ? 0 : d) << 4);
		rx->state = RX_CSUM2;
		return GDB_RX_NONE;
	case RX_CSUM2:
		d = gdb_hex_digit((char)c);
		if (d < 0)
			rx->bad_digit = true;
		rx->csum_rx |= (uint8_t)(d < 0 ? 0 : d);
		rx->state = RX_IDLE;
		rx->buf[rx->len < GDB_PACKET_MAX ? rx->len : GDB_PACKET_MAX] = 0;
		if (rx->bad_digit || rx->csum_rx != rx->csum)
			return GDB_RX_BAD_CHECKSUM;
		if (rx->overflow) {
			rx->len = 0;
			rx->buf[0] = 0;
			return GDB_RX_TOO_LONG;
		}
		return GDB_RX_PACKET;
	}
	rx->state = RX_IDLE;
	return GDB_RX_NONE;
}

size_t gdb_packet__frame(const void *data, size_t len, char *out, size_t outsz)
{
	const uint8_t *p = data;
	size_t o = 0;
	uint8_t csum = 0;
	static const char hex[] = "0123456789abcdef";

	if (outsz < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '$' || c == '#' || c == '}' || c == '*') {
			if (o + 2 > outsz - 3)
				return 0;
			out[o++] = '}';
			csum += '}';
			c ^= 0x20;
		} else if (o + 1 > outsz - 3) {
			return 0;
		}
		out[o++] = (char)c;
		csum += c;
	}
	out[o++] = '#';
	out[o++] = hex[csum >> 4];
	out[o++] = hex[csum & 15];
	return o;
}

bool gdb_parse_hex(const char **p, const char *end, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0, d;

	while (s < end && (d = gdb_hex_digit(*s)) >= 0) {
		if (++n > 16)
			return false;
		v = (v << 4) | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return false;
	*p = s;
	*val = v;
	return true;
}

bool gdb_hex_decode(const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = gdb_hex_digit(hex[2 * i]), lo = gdb_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void gdb_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
}
