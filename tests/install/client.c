/*
 * A libvmscope client built the way a user builds one: against the installed
 * header and pkg-config file (install_test.sh).  It attaches to a guest held
 * at its start, prints what it sees, and lets the guest run.
 *   client SOCKET
 */
#include <inttypes.h>
#include <stdio.h>

#include <vmscope/vmscope.h>

int main(int argc, char **argv)
{
	struct vmscope_regs regs;
	vmscope_t *vm;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: client SOCKET\n");
		return 2;
	}
	vm = vmscope_attach(argv[1], &err);
	if (!vm) {
		fprintf(stderr, "client: attach: %s\n", vmscope_last_error(NULL));
		return 1;
	}
	if (vmscope_get_regs(vm, 0, &regs) < 0) {
		fprintf(stderr, "client: regs: %s\n", vmscope_last_error(vm));
		vmscope_close(vm);
		return 1;
	}
	printf("vcpus=%u paused=%d rip=0x%" PRIx64 "\n", vmscope_vcpu_count(vm),
	       !!(vmscope_attach_flags(vm) & VMSCOPE_ATTACH_PAUSED), regs.rip);
	vmscope_close(vm); /* detaching resumes the guest */
	return 0;
}
