/*
 * A libvmscope client that runs while GDB debugs the same guest (issue 4,
 * point 4): it plants its own breakpoint at a guest-physical address, counts
 * the breakpoint events it gets, and checks that each one is its own.  With
 * "hw", the breakpoint is a debug register at that (identity-mapped) address.
 *
 *   gdb_coexist VMI_SOCKET BP_GPA SECONDS [hw]
 * Prints "client: N events, M foreign" and exits 0 when M == 0 and N > 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/vmscope.h"

static uint64_t bp_gpa;
static unsigned events, foreign;
static int hw;

static int on_bp(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		 void *opaque)
{
	(void)vm;
	(void)rsp;
	(void)opaque;
	uint64_t at = hw ? ev->u.hw_bp.addr : ev->u.bp.gpa;

	events++;
	if (at != bp_gpa) {
		foreign++;
		printf("client: event for 0x%llx, not ours\n", (unsigned long long)at);
	}
	return 0;
}

int main(int argc, char **argv)
{
	vmscope_t *vm;
	int err = 0, r;

	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "hw") == 0)) {
		fprintf(stderr, "usage: %s VMI_SOCKET BP_GPA SECONDS [hw]\n", argv[0]);
		return 2;
	}
	hw = argc == 5;
	bp_gpa = strtoull(argv[2], NULL, 0);
	vm = vmscope_attach(argv[1], &err);
	if (!vm) {
		fprintf(stderr, "client: attach: %s\n", strerror(-err));
		return 1;
	}
	if ((r = vmscope_subscribe(vm, hw ? VMSCOPE_EV_HW_BREAKPOINT : VMSCOPE_EV_BREAKPOINT, 0,
				   on_bp, NULL)) < 0 ||
	    (r = hw ? vmscope_set_hwbp(vm, bp_gpa, VMSCOPE_HWBP_EXEC, 1, NULL)
		    : vmscope_set_bp_pa(vm, bp_gpa)) < 0 ||
	    (r = vmscope_resume(vm, VMSCOPE_ALL_VCPUS)) < 0) {
		fprintf(stderr, "client: setup: %s\n", strerror(-r));
		return 1;
	}
	printf("client: breakpoint at 0x%llx, guest resumed\n", (unsigned long long)bp_gpa);
	fflush(stdout);
	r = vmscope_event_loop(vm, atoi(argv[3]) * 1000);
	printf("client: %u events, %u foreign (loop: %d)\n", events, foreign, r);
	vmscope_close(vm);
	return events > 0 && foreign == 0 ? 0 : 1;
}
