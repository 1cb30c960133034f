/* The host-side virtio-pci driver of the tests (vdrv.h). */
#include "vdrv.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

void vdrv__default_config(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus_boot = 1;
	cfg->memory_size = 64ULL << 20;
	cfg->serial = SERIAL_NULL;
	cfg->log_level = LOG_WARN;
	cfg->host_quirks = true;
}

int vdrv__vm_create(struct vdrv_vm *v, const struct vm_config *cfg)
{
	memset(v, 0, sizeof(*v));
	if (kvm_host__open(&v->host) < 0)
		return -1;
	v->vm = vm__create(&v->host, cfg, NULL);
	if (!v->vm) {
		kvm_host__close(&v->host);
		return -1;
	}
	return 0;
}

void vdrv__vm_destroy(struct vdrv_vm *v)
{
	vm__destroy(v->vm);
	kvm_host__close(&v->host);
}

static void pio(struct vm *vm, uint16_t port, unsigned len, uint32_t *val, bool write)
{
	io__access(&vm->pio, NULL, port, (uint8_t *)val, len, write);
}

uint32_t vdrv__cfg_read(struct vm *vm, unsigned devfn, unsigned off, unsigned len)
{
	uint32_t addr = 0x80000000u | (devfn << 8) | (off & 0xfc), v = 0;

	pio(vm, 0xcf8, 4, &addr, true);
	pio(vm, (uint16_t)(0xcfc + (off & 3)), len, &v, false);
	return len == 4 ? v : v & ((1u << (8 * len)) - 1);
}

void vdrv__cfg_write(struct vm *vm, unsigned devfn, unsigned off, unsigned len, uint32_t val)
{
	uint32_t addr = 0x80000000u | (devfn << 8) | (off & 0xfc);

	pio(vm, 0xcf8, 4, &addr, true);
	pio(vm, (uint16_t)(0xcfc + (off & 3)), len, &val, true);
}

uint64_t vdrv__rd(struct vm *vm, uint64_t addr, unsigned len)
{
	uint64_t v = 0;

	io__access(&vm->mmio, NULL, addr, (uint8_t *)&v, len, false);
	return v;
}

void vdrv__wr(struct vm *vm, uint64_t addr, unsigned len, uint64_t val)
{
	io__access(&vm->mmio, NULL, addr, (uint8_t *)&val, len, true);
}

void *vdrv__ptr(struct vdrv *d, uint64_t gpa, uint64_t len)
{
	return vm__gpa_ptr(d->vm, gpa, len);
}

int vdrv__open(struct vdrv *d, struct vm *vm, uint16_t device_id, unsigned index)
{
	unsigned found = 0;

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	for (unsigned devfn = 0; devfn < 256; devfn += 8) {
		uint32_t id = vdrv__cfg_read(vm, devfn, 0, 4);
		unsigned cap;

		if (id != (0x1af4u | ((uint32_t)device_id << 16)) || found++ != index)
			continue;
		d->devfn = devfn;
		vdrv__cfg_write(vm, devfn, 0x04, 2, 0x6); /* memory, bus master */
		d->bar = vdrv__cfg_read(vm, devfn, 0x10, 4) & ~0xfu;
		cap = vdrv__cfg_read(vm, devfn, 0x34, 1);
		for (unsigned guard = 0; cap && guard < 48; guard++) {
			unsigned id8 = vdrv__cfg_read(vm, devfn, cap, 1);

			if (id8 == 0x11) {
				d->msix_cap = cap;
				d->msix_table = d->bar + (vdrv__cfg_read(vm, devfn, cap + 4, 4) & ~7u);
			} else if (id8 == 0x09) {
				unsigned type = vdrv__cfg_read(vm, devfn, cap + 3, 1);
				uint64_t a = d->bar + vdrv__cfg_read(vm, devfn, cap + 8, 4);

				if (type == 1)
					d->common = a;
				else if (type == 2) {
					d->notify = a;
					d->notify_mult = vdrv__cfg_read(vm, devfn, cap + 16, 4);
				} else if (type == 3)
					d->isr = a;
				else if (type == 4)
					d->device = a;
			}
			cap = vdrv__cfg_read(vm, devfn, cap + 1, 1);
		}
		d->dev = virtio__find(vm, (uint16_t)(device_id - 0x1040), index);
		return d->common && d->notify && d->isr && d->msix_cap && d->dev ? 0 : -1;
	}
	return -1;
}

#define C(d, off) ((d)->common + (off))

uint8_t vdrv__status(struct vdrv *d)
{
	return (uint8_t)vdrv__rd(d->vm, C(d, VIRTIO_PCI_STATUS), 1);
}

uint64_t vdrv__device_features(struct vdrv *d)
{
	uint64_t f;

	vdrv__wr(d->vm, C(d, VIRTIO_PCI_DFSELECT), 4, 0);
	f = vdrv__rd(d->vm, C(d, VIRTIO_PCI_DF), 4);
	vdrv__wr(d->vm, C(d, VIRTIO_PCI_DFSELECT), 4, 1);
	return f | (vdrv__rd(d->vm, C(d, VIRTIO_PCI_DF), 4) << 32);
}

int vdrv__init(struct vdrv *d, uint64_t want, unsigned nr_queues, uint16_t qsize)
{
	struct vm *vm = d->vm;
	uint64_t feat;

	vdrv__wr(vm, C(d, VIRTIO_PCI_STATUS), 1, 0);
	if (vdrv__status(d) != 0)
		return -1;
	vdrv__wr(vm, C(d, VIRTIO_PCI_STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv__wr(vm, C(d, VIRTIO_PCI_STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	feat = vdrv__device_features(d) & (want | (1ULL << VIRTIO_F_VERSION_1));
	vdrv__wr(vm, C(d, VIRTIO_PCI_GFSELECT), 4, 0);
	vdrv__wr(vm, C(d, VIRTIO_PCI_GF), 4, (uint32_t)feat);
	vdrv__wr(vm, C(d, VIRTIO_PCI_GFSELECT), 4, 1);
	vdrv__wr(vm, C(d, VIRTIO_PCI_GF), 4, feat >> 32);
	vdrv__wr(vm, C(d, VIRTIO_PCI_STATUS), 1, 0xb);
	if (!(vdrv__status(d) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	d->features = feat;

	/* MSI-X: vector v to the LAPIC with vector 0x40 + v, unmasked, then enabled. */
	for (unsigned v = 0; v <= nr_queues; v++) {
		uint64_t e = d->msix_table + 16 * v;

		vdrv__wr(vm, e, 4, 0xfee00000);
		vdrv__wr(vm, e + 4, 4, 0);
		vdrv__wr(vm, e + 8, 4, 0x40 + v);
		vdrv__wr(vm, e + 12, 4, 0);
	}
	vdrv__cfg_write(vm, d->devfn, d->msix_cap + 2, 2, 0x8000);
	vdrv__wr(vm, C(d, VIRTIO_PCI_MSIX_CONFIG), 2, 0);
	if (vdrv__rd(vm, C(d, VIRTIO_PCI_MSIX_CONFIG), 2) != 0)
		return -1;

	if (nr_queues > 4)
		return -1;
	for (unsigned q = 0; q < nr_queues; q++) {
		struct vdrv_queue *vq = &d->q[q];
		/*
		 * Rings of their own per PCI slot: two devices of one VM must not
		 * share them, or one device's worker may run the other's requests.
		 */
		uint64_t base = VDRV_RING_BASE + (((d->devfn >> 3) % 8) * 4 + q) * 0x10000ULL;

		vq->size = qsize;
		vq->desc = base;
		vq->avail = base + 0x4000;
		vq->used = base + 0x8000;
		vq->avail_idx = vq->last_used = 0;
		memset(vdrv__ptr(d, base, 0x10000), 0, 0x10000);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_SELECT), 2, q);
		if (vdrv__rd(vm, C(d, VIRTIO_PCI_Q_SIZE), 2) < qsize)
			return -1;
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_SIZE), 2, qsize);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_MSIX), 2, q + 1);
		if (vdrv__rd(vm, C(d, VIRTIO_PCI_Q_MSIX), 2) != q + 1)
			return -1;
		/* 64-bit fields as two 32-bit writes, as Linux does. */
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_DESC), 4, (uint32_t)vq->desc);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_DESC) + 4, 4, vq->desc >> 32);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_AVAIL), 4, (uint32_t)vq->avail);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_AVAIL) + 4, 4, vq->avail >> 32);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_USED), 4, (uint32_t)vq->used);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_USED) + 4, 4, vq->used >> 32);
		vdrv__wr(vm, C(d, VIRTIO_PCI_Q_ENABLE), 2, 1);
		if (vdrv__rd(vm, C(d, VIRTIO_PCI_Q_ENABLE), 2) != 1)
			return -1;
	}
	vdrv__wr(vm, C(d, VIRTIO_PCI_STATUS), 1, 0xf);
	for (unsigned v = 0; v <= VIRTIO_MAX_VECTORS; v++)
		d->irq_seen[v] = atomic_load(&d->dev->irq_count[v]);
	return vdrv__status(d) == 0xf ? 0 : -1;
}

struct virtq_desc *vdrv__desc(struct vdrv *d, unsigned q)
{
	return vdrv__ptr(d, d->q[q].desc, 16ULL * d->q[q].size);
}

void vdrv__notify(struct vdrv *d, unsigned q)
{
	vdrv__wr(d->vm, d->notify + (uint64_t)q * d->notify_mult, 2, q);
}

void vdrv__make_available(struct vdrv *d, unsigned q, uint16_t head)
{
	struct vdrv_queue *vq = &d->q[q];
	struct virtq_avail *avail = vdrv__ptr(d, vq->avail, 6 + 2ULL * vq->size);

	avail->ring[vq->avail_idx % vq->size] = head;
	vq->avail_idx++;
	__atomic_store_n(&avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vdrv__notify(d, q);
}

void vdrv__submit(struct vdrv *d, unsigned q, uint16_t head, const struct vdrv_buf *bufs,
		  unsigned n, uint64_t indirect_table_gpa)
{
	struct virtq_desc *desc = vdrv__desc(d, q);
	struct virtq_desc *t = desc;
	uint16_t first = head;

	if (indirect_table_gpa) {
		t = vdrv__ptr(d, indirect_table_gpa, 16ULL * n);
		first = 0;
		desc[head] = (struct virtq_desc){ .addr = indirect_table_gpa, .len = 16 * n,
						  .flags = VIRTQ_DESC_F_INDIRECT };
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((first + i) % (indirect_table_gpa ? n : d->q[q].size));

		t[idx] = (struct virtq_desc){
			.addr = bufs[i].gpa, .len = bufs[i].len,
			.flags = (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			.next = (uint16_t)((idx + 1) % (indirect_table_gpa ? n : d->q[q].size)),
		};
	}
	vdrv__make_available(d, q, head);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int vdrv__wait_used(struct vdrv *d, unsigned q, int timeout_ms, uint32_t *id, uint32_t *len)
{
	struct vdrv_queue *vq = &d->q[q];
	struct virtq_used *used = vdrv__ptr(d, vq->used, 6 + 8ULL * vq->size);
	double end = now_ms() + timeout_ms;
	unsigned spins = 0;

	while (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == vq->last_used) {
		if (now_ms() > end)
			return -1;
		if (++spins > 1000)
			usleep(50);
	}
	if (id)
		*id = used->ring[vq->last_used % vq->size].id;
	if (len)
		*len = used->ring[vq->last_used % vq->size].len;
	vq->last_used++;
	if ((d->features & (1ULL << VIRTIO_F_EVENT_IDX)) && !d->manual_used_event)
		__atomic_store_n(vdrv__used_event(d, q), vq->last_used, __ATOMIC_SEQ_CST);
	return 0;
}

uint16_t *vdrv__used_event(struct vdrv *d, unsigned q)
{
	struct vdrv_queue *vq = &d->q[q];

	return vdrv__ptr(d, vq->avail + 4 + 2ULL * vq->size, 2);
}

uint16_t *vdrv__avail_event(struct vdrv *d, unsigned q)
{
	struct vdrv_queue *vq = &d->q[q];

	return vdrv__ptr(d, vq->used + 4 + 8ULL * vq->size, 2);
}

bool vdrv__wait_irq(struct vdrv *d, unsigned v, int timeout_ms)
{
	return virtio__wait_irq(d->dev, v, &d->irq_seen[v], timeout_ms);
}

bool vdrv__wait_status(struct vdrv *d, uint8_t bit, int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	while (!(vdrv__status(d) & bit)) {
		if (now_ms() > end)
			return false;
		usleep(100);
	}
	return true;
}
