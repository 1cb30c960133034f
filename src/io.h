/*
 * One trap API for port I/O and MMIO: a device registers an address range and
 * a handler; the vCPU loop looks the address up and never knows which device
 * it calls.  Registration happens before the vCPUs start, so lookups need no lock.
 */
#ifndef VMSCOPE_IO_H
#define VMSCOPE_IO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/*
 * Called for one access of len (1, 2, 4 or 8) bytes at offset bytes into the
 * registered range.  For a read the handler fills data; for a write it reads it.
 */
typedef void (*io_handler_fn)(void *opaque, struct vcpu *vcpu, uint64_t offset,
			      uint8_t *data, uint32_t len, bool is_write);

struct io_range {
	uint64_t base, len;
	io_handler_fn handler;
	void *opaque;
	const char *name;
};

#define IO_BUS_MAX_RANGES 32

struct io_bus {
	const char *name; /* "port" or "mmio", for messages */
	unsigned nr;
	struct io_range ranges[IO_BUS_MAX_RANGES];
};

/* Returns -EEXIST when the range overlaps one already registered, -ENOSPC when full. */
int io__register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_fn handler,
		 void *opaque, const char *name);

/* Finds the range holding [addr, addr + len); NULL when none does. */
const struct io_range *io__find(const struct io_bus *bus, uint64_t addr, uint32_t len);

/*
 * Performs one access.  An address no device claims reads as all-ones and
 * ignores writes; the first such access of each address is logged at debug level.
 */
void io__access(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, uint8_t *data,
		uint32_t len, bool is_write);

#endif
