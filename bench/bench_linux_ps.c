/*
 * bench_linux_ps DUMP: how long listing the processes of a Linux memory dump
 * takes, against the lower limit of reading the same dump once with a plain
 * sequential scan.
 *   open:  vmscope_linux_open (finds BTF, kallsyms, KASLR in guest memory)
 *   ps:    vmscope_linux_tasks on an open handle (median of runs)
 *   scan:  every byte of guest RAM read once through vmscope_read_pa
 */
#include <inttypes.h>

#include "bench_common.h"

#define RUNS 9

int main(int argc, char **argv)
{
	double t_open[RUNS], t_ps[RUNS], t_scan[3];
	struct vmscope_linux_task *tasks = calloc(4096, sizeof(*tasks));
	static uint8_t buf[1 << 20];
	uint64_t ram = 0, sum = 0;
	int err = 0, n = 0;
	vmscope_t *vm;

	if (argc != 2 || !tasks) {
		fprintf(stderr, "usage: bench_linux_ps DUMP (an ELF core of a Linux guest)\n");
		return 2;
	}
	vm = vmscope_open_core(argv[1], &err);
	if (!vm) {
		fprintf(stderr, "bench_linux_ps: %s: %s\n", argv[1], vmscope_last_error(NULL));
		return 1;
	}
	for (unsigned r = 0; r < 3; r++) {
		double t0 = now_sec();

		ram = 0;
		for (uint64_t pa = 0; pa < (1ULL << 40);) {
			int64_t got = vmscope_read_pa(vm, pa, buf, sizeof(buf));

			if (got <= 0) {
				if (pa >= vmscope_ram_size(vm) + (4ULL << 30))
					break;
				pa += 4096; /* a hole */
				continue;
			}
			for (int64_t i = 0; i < got; i += 64)
				sum += buf[i];
			ram += (uint64_t)got;
			pa += (uint64_t)got;
		}
		t_scan[r] = now_sec() - t0;
	}
	for (unsigned r = 0; r < RUNS; r++) {
		double t0 = now_sec(), t1;
		vmscope_linux_t *lx = vmscope_linux_open(vm, NULL, &err);

		if (!lx) {
			fprintf(stderr, "bench_linux_ps: %s\n", vmscope_last_error(vm));
			return 1;
		}
		t1 = now_sec();
		t_open[r] = t1 - t0;
		vmscope_flush_tlb(vm);
		t0 = now_sec();
		n = vmscope_linux_tasks(lx, tasks, 4096);
		t_ps[r] = now_sec() - t0;
		vmscope_linux_close(lx);
	}
	printf("dump: %s, %" PRIu64 " MiB of RAM, %d processes (checksum %" PRIu64 ")\n", argv[1],
	       ram >> 20, n, sum & 0xff);
	printf("sequential scan of all RAM (lower limit): %8.1f ms\n", median(t_scan, 3) * 1e3);
	printf("vmscope_linux_open (BTF+kallsyms+KASLR): %8.1f ms\n", median(t_open, RUNS) * 1e3);
	printf("vmscope_linux_tasks (list processes):    %8.3f ms\n", median(t_ps, RUNS) * 1e3);
	printf("open + ps vs one sequential scan:        %8.2f x\n",
	       (median(t_open, RUNS) + median(t_ps, RUNS)) / median(t_scan, 3));
	vmscope_close(vm);
	free(tasks);
	return 0;
}
