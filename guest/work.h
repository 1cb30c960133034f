/*
 * The test guest's user-mode workload: a pure, freestanding function, built
 * into the guest and also linked into host tests to compute expected results.
 */
#ifndef TG_WORK_H
#define TG_WORK_H

#include <stdint.h>

#define TG_WORK_BUF_SIZE 4096
#define TG_WORK_ROUNDS   1024   /* BUF_SIZE * ROUNDS = 4M hash steps */

/* A 64-bit hash over a buffer generated from task_id. */
uint64_t tg_work(uint32_t task_id);

#endif
