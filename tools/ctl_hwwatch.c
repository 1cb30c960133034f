/*
 * vmscope-ctl watch ADDR LEN [w|rw]: a hardware watchpoint, and each hit
 * with the old and new value of the watched bytes.  The hit is a trap (the
 * access is done), and the subscription is synchronous, so the new value is
 * read while the vCPU that made it waits; it is read through the CR3 of that
 * vCPU, the address space that made the access.
 */
#include "ctl_hwwatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static struct {
	uint64_t gva;
	unsigned len;
	long max_hits, hits;
	bool json;
	uint64_t old;
	bool have_old;
} w;

static bool read_value(vmscope_t *vm, uint64_t cr3, uint64_t *out)
{
	*out = 0;
	return vmscope_read_va(vm, cr3, w.gva, out, w.len) == (int64_t)w.len;
}

static int on_hit(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		  void *opaque)
{
	uint64_t now;
	bool have = read_value(vm, ev->regs.cr3, &now);
	int width = (int)w.len * 2;

	(void)rsp;
	(void)opaque;
	if (w.json) {
		printf("{\"kind\":\"watch\",\"vcpu\":%u,\"rip\":%" PRIu64 ",\"addr\":%" PRIu64
		       ",\"slot\":%u,\"dr6\":%" PRIu64, ev->vcpu, ev->regs.rip, ev->u.hw_bp.addr,
		       ev->u.hw_bp.slot, ev->u.hw_bp.dr6);
		if (w.have_old)
			printf(",\"old\":%" PRIu64, w.old);
		if (have)
			printf(",\"new\":%" PRIu64, now);
		printf("}\n");
	} else {
		printf("vcpu %u rip 0x%" PRIx64 " watch 0x%" PRIx64 " (slot %u): ", ev->vcpu,
		       ev->regs.rip, ev->u.hw_bp.addr, ev->u.hw_bp.slot);
		if (w.have_old)
			printf("0x%0*" PRIx64, width, w.old);
		else
			printf("?");
		if (!have)
			printf(" -> (not mapped)\n");
		else if (w.have_old && now == w.old)
			printf(" (unchanged)\n");
		else
			printf(" -> 0x%0*" PRIx64 "\n", width, now);
	}
	fflush(stdout);
	w.old = now;
	w.have_old = have;
	w.hits++;
	return w.max_hits >= 0 && w.hits >= w.max_hits;
}

int ctl_hw_watch(vmscope_t *vm, uint64_t addr, bool virt, unsigned len, unsigned type,
		 long max_hits, bool json)
{
	struct vmscope_regs regs;
	const char *what = type == VMSCOPE_HWBP_RW ? "read/write" : "write";
	int r;

	w.gva = addr;
	w.len = len;
	w.max_hits = max_hits;
	w.json = json;
	r = vmscope_subscribe(vm, VMSCOPE_EV_HW_BREAKPOINT, 1, on_hit, NULL);
	if (r == 0)
		r = virt ? vmscope_set_hwbp(vm, addr, type, len, NULL)
			 : vmscope_set_hwbp_pa(vm, addr, type, len, &w.gva, NULL);
	if (r < 0) {
		fprintf(stderr, "vmscope-ctl: watch: %s\n", vmscope_last_error(vm));
		return 1;
	}
	if (vmscope_sample_regs(vm, 0, &regs) == 0)
		w.have_old = read_value(vm, regs.cr3, &w.old);
	fprintf(stderr, "vmscope-ctl: %s watch on %u byte(s) at 0x%" PRIx64 "%s\n", what, len, w.gva,
		w.have_old ? "" : " (not readable now)");
	return 0;
}
