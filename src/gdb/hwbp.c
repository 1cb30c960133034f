/*
 * GDB's hardware breakpoints and watchpoints (Z1, Z2, Z4) on the core's four
 * debug-register slots, which the stub shares with an introspection client.
 * A watch on a range one slot cannot cover (longer than 8 bytes, or not
 * aligned to its length) takes one slot per aligned piece, as GDB's own
 * x86 code does natively; all pieces or none.
 */
#include <errno.h>

#include "gdb/stub_impl.h"
#include "host_debug.h"
#include "kvm_host.h"
#include "log.h"
#include "vm.h"
#include "vmi/vmi.h"

/* The largest piece (8, 4, 2 or 1 bytes) that starts aligned at addr and fits in len. */
static unsigned piece(uint64_t addr, uint64_t len)
{
	unsigned size = 8;

	while (size > 1 && ((addr & (size - 1)) || size > len))
		size /= 2;
	return size;
}

static unsigned core_type(enum gdb_bp_type type)
{
	return type == GDB_BP_HW ? VMSCOPE_HWBP_EXEC
	       : type == GDB_WP_WRITE ? VMSCOPE_HWBP_WRITE : VMSCOPE_HWBP_RW;
}

/* Removes the pieces of [addr, addr + len) from the core, up to (not including) stop. */
static void remove_pieces(struct gdb_stub *st, enum gdb_bp_type type, uint64_t addr,
			  uint64_t len, uint64_t stop)
{
	while (len && addr < stop) {
		unsigned n = piece(addr, len);

		vmi__hwbp_remove(st->vm, st->owner, addr, core_type(type), n);
		addr += n;
		len -= n;
	}
}

int gdb_hw__insert(struct gdb_stub *st, enum gdb_bp_type type, uint64_t addr, uint64_t len,
		   const char **why)
{
	const struct kvm_host *h = st->vm->host;
	uint64_t a = addr, left = len;

	if (type == GDB_BP_HW ? !host_debug__hw_bp_ok(&h->dbg) : !host_debug__hw_watch_ok(&h->dbg)) {
		*why = type == GDB_BP_HW
			       ? "hardware breakpoints are not available: this host's KVM does not "
				 "stop on debug-register breakpoints (probed at start; see 'monitor host')"
			       : "hardware watchpoints are not available: this host's KVM does not "
				 "stop on debug-register watchpoints (probed at start; kvm_pvm "
				 "emulates guest kernel mode and never checks them; see 'monitor host')";
		log_warn("gdb: refused a hardware %s at 0x%llx: %s on this host",
			 type == GDB_BP_HW ? "breakpoint" : "watchpoint", (unsigned long long)addr,
			 host_debug__name(type == GDB_BP_HW ? h->dbg.hw_bp : h->dbg.hw_watch));
		return -EOPNOTSUPP;
	}
	if (type == GDB_BP_HW)
		len = left = 1; /* Z1's kind is the instruction's, not a length */
	if (len == 0 || len > 8 * VMSCOPE_HWBP_SLOTS || st->nr_hw == VMSCOPE_HWBP_SLOTS) {
		*why = "more than the four debug-register slots would be needed";
		return -ENOSPC;
	}
	while (left) {
		unsigned n = piece(a, left);
		int r = vmi__hwbp_add(st->vm, st->owner, a, core_type(type), n, NULL);

		if (r < 0) {
			remove_pieces(st, type, addr, len, a);
			*why = r == -ENOSPC ? "all four debug-register slots are in use (by GDB or "
					      "an introspection client)"
					    : "the core refused this hardware breakpoint or watchpoint";
			return r;
		}
		a += n;
		left -= n;
	}
	st->hw[st->nr_hw++] = (struct gdb_hw){ .addr = addr, .len = len, .type = type };
	return 0;
}

int gdb_hw__remove(struct gdb_stub *st, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	if (type == GDB_BP_HW)
		len = 1;
	for (unsigned i = 0; i < st->nr_hw; i++) {
		struct gdb_hw *w = &st->hw[i];

		if (w->type != type || w->addr != addr || w->len != len)
			continue;
		remove_pieces(st, type, addr, len, addr + len);
		*w = st->hw[--st->nr_hw];
		return 0;
	}
	return -ENOENT;
}
