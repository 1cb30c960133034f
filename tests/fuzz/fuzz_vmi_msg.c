/*
 * Fuzz target for the control-socket message parser (src/vmi/msg.c), a pure
 * function over a byte buffer.  Built two ways: with clang's libFuzzer
 * (-fsanitize=fuzzer, LLVMFuzzerTestOneInput is the entry), or as a plain
 * program (FUZZ_STANDALONE) that feeds mutated valid messages and random
 * bytes for a bounded time:  fuzz_vmi_msg [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memmap.h"
#include "vmi/msg.h"

static struct memmap map;

static void check(const struct vmi_msg *m, size_t len)
{
	/* Whatever the parser accepts must be safe to act on. */
	if (m->hdr.len != len || (long)(len - sizeof(m->hdr)) != vmi_msg__payload_size(m->hdr.type))
		abort();
	switch (m->hdr.type) {
	case VMSCOPE_MSG_SET_BP:
	case VMSCOPE_MSG_CLEAR_BP:
		if (memmap__offset(&map, m->u.gpa.gpa, 1) < 0)
			abort();
		break;
	case VMSCOPE_MSG_PROTECT:
	case VMSCOPE_MSG_UNPROTECT:
		if ((m->u.gpa.gpa & 4095) || memmap__offset(&map, m->u.gpa.gpa, 4096) < 0)
			abort();
		break;
	case VMSCOPE_MSG_GET_REGS:
	case VMSCOPE_MSG_SINGLESTEP:
		if (m->u.vcpu.vcpu >= 4)
			abort();
		break;
	case VMSCOPE_MSG_SET_REGS:
		if (m->u.regs.vcpu >= 4)
			abort();
		break;
	case VMSCOPE_MSG_SUBSCRIBE:
		if (m->u.subscribe.kind >= VMSCOPE_EV_NR)
			abort();
		break;
	case VMSCOPE_MSG_MSR_WATCH:
		if (m->u.msr_watch.nr > VMSCOPE_MAX_WATCHED_MSRS)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmi_msg_limits lim = { .nr_vcpus = 4, .map = &map };
	struct vmi_msg m;
	const char *why;

	if (map.ram_size == 0)
		memmap__init(&map, 64ULL << 20);
	if (vmi_msg__parse(data, size, &lim, &m, &why) == 0)
		check(&m, size);
	else if (!why || !why[0])
		abort(); /* every refusal says why */
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "xorshift.h"

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	uint8_t buf[VMSCOPE_MSG_MAX + 64];
	time_t end = time(NULL) + (time_t)secs;
	unsigned long runs = 0, accepted = 0;

	do {
		for (int i = 0; i < 10000; i++, runs++) {
			struct vmscope_msg_hdr h;
			uint32_t type = (uint32_t)(xorshift_next() % (VMSCOPE_MSG_TYPE_MAX + 2));
			long pl = vmi_msg__payload_size(type);
			size_t len = pl >= 0 ? sizeof(h) + (size_t)pl : xorshift_next() % sizeof(buf);
			struct vmi_msg_limits lim = { .nr_vcpus = 4, .map = &map };
			struct vmi_msg m;
			const char *why;

			if (xorshift_next() % 8 == 0)
				len = xorshift_next() % sizeof(buf);
			for (size_t k = 0; k < sizeof(buf); k += 8) {
				uint64_t r = xorshift_next();
				/* Mostly small numbers: they pass more checks. */
				if (r % 3 == 0)
					r &= 0xff;
				else if (r % 3 == 1)
					r &= 0x3ffffff000ULL;
				memcpy(buf + k, &r, 8);
			}
			h.type = type;
			h.len = (uint32_t)len;
			h.id = xorshift_next();
			if (xorshift_next() % 16 == 0)
				h.len = (uint32_t)xorshift_next();
			memcpy(buf, &h, sizeof(h));
			LLVMFuzzerTestOneInput(buf, len);
			if (map.ram_size && vmi_msg__parse(buf, len, &lim, &m, &why) == 0)
				accepted++;
		}
	} while (time(NULL) < end);
	printf("fuzz_vmi_msg: %lu inputs, %lu accepted, no finding\n", runs, accepted);
	return accepted ? 0 : 1;
}
#endif
