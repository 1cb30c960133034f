/*
 * Boot benchmark: from exec to the test guest's first serial byte, from exec
 * to vmscope's exit, and vmscope's resident memory beyond guest RAM (RSS less
 * the shared memfd pages that are guest RAM), as medians of repeated runs.
 * QEMU (microvm, TCG) booting the same guest ELF through its PVH note is
 * measured in the same run as a peer, when it is installed.
 *
 *   bench_boot VMSCOPE GUEST_ELF [RUNS]
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TARGET_EXIT_MS 100.0
#define TARGET_RSS_KIB (5 * 1024)

struct sample {
	double first_byte_ms, exit_ms;
	long rss_beyond_ram_kib; /* -1 when the process ended before it could be read */
	int status;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* VmRSS - RssShmem from /proc/PID/status, in KiB; -1 if unreadable. */
static long rss_beyond_shmem(pid_t pid)
{
	char path[64], line[256];
	long rss = -1, shmem = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", &rss);
		sscanf(line, "RssShmem: %ld", &shmem);
	}
	fclose(f);
	return rss < 0 ? -1 : rss - shmem;
}

static int run_once(char *const argv[], struct sample *s)
{
	int out[2];
	double start;
	pid_t pid;
	bool seen = false;
	char buf[4096];

	if (pipe(out) < 0)
		return -1;
	start = now_ms();
	pid = fork();
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	s->rss_beyond_ram_kib = -1;
	for (;;) {
		ssize_t n = read(out[0], buf, sizeof(buf));

		if (n > 0 && !seen) {
			s->first_byte_ms = now_ms() - start;
			s->rss_beyond_ram_kib = rss_beyond_shmem(pid);
			seen = true;
		}
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	waitpid(pid, &s->status, 0);
	s->exit_ms = now_ms() - start;
	close(out[0]);
	if (!seen)
		s->first_byte_ms = s->exit_ms;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
	double first_byte_ms, exit_ms, rss_kib;
	int bad_status;
};

static struct result measure(char *const argv[], int runs, int ok_status)
{
	double *fb = calloc(runs, sizeof(double)), *ex = calloc(runs, sizeof(double));
	double *rss = calloc(runs, sizeof(double));
	struct result r = { 0 };
	int nrss = 0;

	for (int i = 0; i < runs; i++) {
		struct sample s;

		if (run_once(argv, &s) < 0) {
			perror("run");
			exit(1);
		}
		if (!WIFEXITED(s.status) || WEXITSTATUS(s.status) != ok_status)
			r.bad_status++;
		fb[i] = s.first_byte_ms;
		ex[i] = s.exit_ms;
		if (s.rss_beyond_ram_kib >= 0)
			rss[nrss++] = (double)s.rss_beyond_ram_kib;
	}
	r.first_byte_ms = median(fb, runs);
	r.exit_ms = median(ex, runs);
	r.rss_kib = nrss ? median(rss, nrss) : -1;
	free(fb);
	free(ex);
	free(rss);
	return r;
}

int main(int argc, char **argv)
{
	int runs = argc > 3 ? atoi(argv[3]) : 20;
	char *vmscope_argv[] = { argv[1], "--memory", "size=64M", NULL };
	char *qemu_argv[] = {
		"/usr/bin/qemu-system-x86_64", "-M", "microvm,x-option-roms=off,rtc=off", "-accel",
		"tcg", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
		"-m", "64M", "-device", "isa-debug-exit,iobase=0x501,iosize=4", "-kernel", argv[2],
		NULL,
	};
	struct result v, q;

	if (argc < 3 || runs < 1) {
		fprintf(stderr, "usage: bench_boot VMSCOPE GUEST_ELF [RUNS]\n");
		return 2;
	}
	v = measure(vmscope_argv, runs, 0);
	printf("vmscope, embedded test guest, medians of %d runs:\n", runs);
	printf("  exec to first serial byte  %8.2f ms\n", v.first_byte_ms);
	printf("  exec to exit               %8.2f ms   target < %.0f ms: %s\n", v.exit_ms,
	       TARGET_EXIT_MS, v.exit_ms < TARGET_EXIT_MS ? "met" : "NOT met");
	if (v.rss_kib >= 0)
		printf("  resident beyond guest RAM  %8.0f KiB  target < %d KiB: %s\n", v.rss_kib,
		       TARGET_RSS_KIB, v.rss_kib < TARGET_RSS_KIB ? "met" : "NOT met");
	else
		printf("  resident beyond guest RAM  not measured (vmscope exited first)\n");
	if (v.bad_status)
		printf("  WARNING: %d run(s) did not exit with status 0\n", v.bad_status);

	if (access(qemu_argv[0], X_OK) == 0) {
		/* isa-debug-exit turns the guest's 0 into (0 << 1) | 1. */
		q = measure(qemu_argv, runs, 1);
		printf("QEMU microvm (TCG), same guest ELF through its PVH note, medians of %d runs:\n",
		       runs);
		printf("  exec to first serial byte  %8.2f ms   vmscope/QEMU %.2f\n", q.first_byte_ms,
		       v.first_byte_ms / q.first_byte_ms);
		printf("  exec to exit               %8.2f ms   vmscope/QEMU %.2f\n", q.exit_ms,
		       v.exit_ms / q.exit_ms);
		if (q.rss_kib >= 0 && v.rss_kib >= 0)
			printf("  resident beyond guest RAM  %8.0f KiB  vmscope/QEMU %.2f\n", q.rss_kib,
			       v.rss_kib / q.rss_kib);
		if (q.bad_status)
			printf("  WARNING: %d QEMU run(s) did not exit with status 1\n", q.bad_status);
	} else {
		printf("QEMU not installed: no peer figures\n");
	}
	return 0;
}
