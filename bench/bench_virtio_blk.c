/*
 * virtio-blk sequential throughput, driven from the host side exactly as a
 * guest driver would (tests/virtio/vdrv.c: PCI and BAR accesses through the
 * trap table, descriptors in guest RAM, a notify per batch, an MSI-X
 * interrupt per batch), against dd on the same image file, page cache in the
 * same state for both.
 *
 *   bench_virtio_blk [DIR [MIB]]   image in DIR (default /var/tmp), MIB MiB (default 256)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vdrv.h"

#define REQ_BYTES (512u << 10) /* Linux's usual largest request is 512K-1280K */
#define DEPTH 16               /* requests in flight */
#define QSIZE 128
#define HDRS  (VDRV_DATA_BASE)               /* 16-byte header + status per slot, 64 bytes apart */
#define DATA  (VDRV_DATA_BASE + 0x100000ULL) /* REQ_BYTES per slot */
#define RUNS 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void slot_write(struct vdrv *d, unsigned slot, uint32_t type, uint64_t sector)
{
	struct virtq_desc *desc = vdrv__desc(d, 0);
	uint64_t hdr = HDRS + slot * 64ULL, data = DATA + (uint64_t)slot * REQ_BYTES;
	uint32_t h[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
	uint16_t i = (uint16_t)(slot * 3);

	memcpy(vdrv__ptr(d, hdr, 16), h, 16);
	desc[i] = (struct virtq_desc){ hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1) };
	desc[i + 1] = (struct virtq_desc){ data, REQ_BYTES,
					   (uint16_t)(VIRTQ_DESC_F_NEXT | (type == 0 ? VIRTQ_DESC_F_WRITE : 0)),
					   (uint16_t)(i + 2) };
	desc[i + 2] = (struct virtq_desc){ hdr + 16, 1, VIRTQ_DESC_F_WRITE, 0 };
}

static void avail_push(struct vdrv *d, uint16_t head)
{
	struct vdrv_queue *q = &d->q[0];
	struct virtq_avail *avail = vdrv__ptr(d, q->avail, 6 + 2ULL * q->size);

	avail->ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	__atomic_store_n(&avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

/*
 * Asks for an interrupt at the next used entry and says whether none came
 * in meanwhile, as Linux re-enables callbacks: with EVENT_IDX the device
 * interrupts only for the entry named in used_event.
 */
static bool arm_and_idle(struct vdrv *d, const struct virtq_used *used)
{
	struct vdrv_queue *q = &d->q[0];

	if (d->features & (1ULL << VIRTIO_F_EVENT_IDX))
		__atomic_store_n(vdrv__used_event(d, 0), q->last_used, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&used->idx, __ATOMIC_SEQ_CST) == q->last_used;
}

/* Moves total bytes sequentially with DEPTH requests in flight; returns seconds. */
static double run_virtio(struct vdrv *d, uint32_t type, uint64_t total)
{
	struct vdrv_queue *q = &d->q[0];
	struct virtq_used *used = vdrv__ptr(d, q->used, 6 + 8ULL * q->size);
	uint64_t next = 0, done = 0, nreq = total / REQ_BYTES;
	double t0 = now_s();

	for (unsigned s = 0; s < DEPTH && next < nreq; s++, next++) {
		slot_write(d, s, type, next * (REQ_BYTES / 512));
		avail_push(d, (uint16_t)(s * 3));
	}
	vdrv__notify(d, 0);
	while (done < nreq) {
		bool more = false;

		while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != q->last_used) {
			struct virtq_used_elem e = used->ring[q->last_used % q->size];
			unsigned slot = e.id / 3;

			q->last_used++;
			done++;
			if (*(uint8_t *)vdrv__ptr(d, HDRS + slot * 64ULL + 16, 1) != 0) {
				fprintf(stderr, "request failed\n");
				exit(1);
			}
			if (next < nreq) {
				slot_write(d, slot, type, next++ * (REQ_BYTES / 512));
				avail_push(d, (uint16_t)e.id);
				more = true;
			}
		}
		if (more)
			vdrv__notify(d, 0);
		else if (done < nreq && arm_and_idle(d, used) && !vdrv__wait_irq(d, 1, 2000)) {
			fprintf(stderr, "no interrupt for 2 s with %llu requests in flight\n",
				(unsigned long long)(next - done));
			exit(1);
		}
	}
	if (type == 1) { /* a write counts once it is flushed */
		uint32_t h[4] = { 4, 0, 0, 0 };
		struct virtq_desc *desc = vdrv__desc(d, 0);

		memcpy(vdrv__ptr(d, HDRS, 16), h, 16);
		desc[0] = (struct virtq_desc){ HDRS, 16, VIRTQ_DESC_F_NEXT, 2 };
		desc[2] = (struct virtq_desc){ HDRS + 16, 1, VIRTQ_DESC_F_WRITE, 0 };
		avail_push(d, 0);
		vdrv__notify(d, 0);
		while (arm_and_idle(d, used))
			vdrv__wait_irq(d, 1, 1000);
		q->last_used++;
	}
	return now_s() - t0;
}

static double run_dd(const char *img, bool write, uint64_t total)
{
	char of[512], count[64];
	double t0 = now_s();
	pid_t pid;
	int status;

	snprintf(count, sizeof(count), "count=%llu", (unsigned long long)(total / REQ_BYTES));
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDERR_FILENO);
		if (write) {
			snprintf(of, sizeof(of), "of=%s", img);
			execlp("dd", "dd", "if=/dev/zero", of, "bs=512K", count,
			       "conv=notrunc,fdatasync", (char *)NULL);
		} else {
			snprintf(of, sizeof(of), "if=%s", img);
			execlp("dd", "dd", of, "of=/dev/null", "bs=512K", count, (char *)NULL);
		}
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "dd failed\n");
		exit(1);
	}
	return now_s() - t0;
}

static void drop_cache(const char *img)
{
	int fd = open(img, O_RDONLY);

	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 256, total = mib << 20;
	char img[512];
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	double vw[RUNS], vr[RUNS], vrc[RUNS], dw[RUNS], dr[RUNS], drc[RUNS];
	int fd;

	if (access("/dev/kvm", R_OK | W_OK) < 0) {
		printf("virtio-blk: skipped, /dev/kvm is not usable\n");
		return 0;
	}
	log_threshold = LOG_ERROR;
	snprintf(img, sizeof(img), "%s/bench-virtio-blk-%d.img", dir, getpid());
	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)total) < 0) {
		fprintf(stderr, "cannot create %s: %s\n", img, strerror(errno));
		return 1;
	}
	close(fd);

	vdrv__default_config(&cfg);
	cfg.memory_size = 64ULL << 20;
	cfg.nr_disks = 1;
	snprintf(cfg.disks[0].path, sizeof(cfg.disks[0].path), "%s", img);
	if (vdrv__vm_create(&v, &cfg) < 0 || vdrv__open(&d, v.vm, 0x1042, 0) < 0 ||
	    vdrv__init(&d, ~0ULL, 1, QSIZE) < 0) {
		fprintf(stderr, "cannot set up the VM and its virtio-blk device\n");
		unlink(img);
		return 1;
	}
	memset(vdrv__ptr(&d, DATA, (uint64_t)DEPTH * REQ_BYTES), 0x5a, (size_t)DEPTH * REQ_BYTES);

	/* Alternate the two so that neither always runs on a warmer system. */
	for (int r = 0; r < RUNS; r++) {
		vw[r] = run_virtio(&d, 1, total);
		dw[r] = run_dd(img, true, total);
		vr[r] = run_virtio(&d, 0, total); /* page cache warm */
		dr[r] = run_dd(img, false, total);
		drop_cache(img);
		vrc[r] = run_virtio(&d, 0, total); /* page cache dropped */
		drop_cache(img);
		drc[r] = run_dd(img, false, total);
	}
	printf("virtio-blk sequential, %llu MiB, %u KiB requests, %u in flight, median of %d\n",
	       (unsigned long long)mib, REQ_BYTES >> 10, DEPTH, RUNS);
	printf("  %-28s %12s %12s %8s\n", "MB/s", "virtio-blk", "dd", "ratio");
#define ROW(name, a, b) do { double x = mib / median(a), y = mib / median(b); \
	printf("  %-28s %12.0f %12.0f %8.2f\n", name, x * 1.048576, y * 1.048576, x / y); } while (0)
	ROW("write + flush", vw, dw);
	ROW("read, page cache warm", vr, dr);
	ROW("read, page cache dropped", vrc, drc);
	vdrv__vm_destroy(&v);
	unlink(img);
	return 0;
}
