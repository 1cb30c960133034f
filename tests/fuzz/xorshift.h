/* The plain fuzz drivers' random numbers: xorshift64, reproducible from its seed. */
#ifndef VMSCOPE_TESTS_FUZZ_XORSHIFT_H
#define VMSCOPE_TESTS_FUZZ_XORSHIFT_H

#include <stdint.h>

static uint64_t xorshift_state = 0x9e3779b97f4a7c15ULL; /* never 0 */

static inline uint64_t xorshift_next(void)
{
	xorshift_state ^= xorshift_state << 13;
	xorshift_state ^= xorshift_state >> 7;
	xorshift_state ^= xorshift_state << 17;
	return xorshift_state;
}

#endif
