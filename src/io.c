#include "io.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "util.h"

int io__register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn handler,
		 void *opaque, const char *name)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	if (bus->nr == IO_BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->nr++] = (struct io_range){ base, len, handler, opaque, name };
	return 0;
}

const struct io_range *io__find(const struct io_bus *bus, uint64_t addr, uint32_t len)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (addr >= r->base && range_within(addr - r->base, len, r->len))
			return r;
	}
	return NULL;
}

/* Remembers a few unclaimed addresses so each is logged once, not once per access. */
static void log_unclaimed_once(const struct io_bus *bus, uint64_t addr)
{
	static _Atomic uint64_t seen[64];
	static atomic_uint nr_seen;
	unsigned n = atomic_load(&nr_seen);

	if (log_threshold < LOG_DEBUG)
		return;
	for (unsigned i = 0; i < n && i < ARRAY_SIZE(seen); i++)
		if (atomic_load(&seen[i]) == addr)
			return;
	n = atomic_fetch_add(&nr_seen, 1);
	if (n < ARRAY_SIZE(seen))
		atomic_store(&seen[n], addr);
	log_debug("unclaimed %s access at 0x%llx", bus->name, (unsigned long long)addr);
}

void io__access(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, uint8_t *data,
		uint32_t len, bool is_write)
{
	const struct io_range *r = io__find(bus, addr, len);

	if (r) {
		r->handler(r->opaque, vcpu, addr - r->base, data, len, is_write);
		return;
	}
	log_unclaimed_once(bus, addr);
	if (!is_write)
		memset(data, 0xff, len);
}
