/*
 * User-mode workload of the test guest (runs at CPL3, native speed under
 * kvm_pvm).  Pure: no globals, no library calls, same result on the host.
 */
#include "work.h"

uint64_t tg_work(uint32_t task_id)
{
	uint8_t buf[TG_WORK_BUF_SIZE];
	uint64_t x = 0x9e3779b97f4a7c15ULL * ((uint64_t)task_id + 1);
	uint64_t h = 0xcbf29ce484222325ULL ^ task_id;

	for (uint32_t i = 0; i < TG_WORK_BUF_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)(x >> 24);
	}
	for (uint32_t r = 0; r < TG_WORK_ROUNDS; r++) {
		for (uint32_t i = 0; i < TG_WORK_BUF_SIZE; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
		h ^= h >> 29;
		buf[r % TG_WORK_BUF_SIZE] ^= (uint8_t)h;
	}
	return h;
}
