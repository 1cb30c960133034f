/*
 * Work-arounds for KVM without hardware virtualization (HOST-NOTES): its
 * emulator refuses some instructions that Linux uses when CPUID offers them,
 * and CPUID cannot be changed there, so the kernel command line must say so.
 * It also refuses a few instructions in kernel mode (int3, fwait) that
 * vmscope then performs itself.
 */
#ifndef VMSCOPE_HOST_QUIRKS_H
#define VMSCOPE_HOST_QUIRKS_H

#include <stdbool.h>

struct vcpu;

#define HOST_QUIRKS_LINUX_CMDLINE \
	"noxsave clearcpuid=cx16,xsave,avx,avx2,avx512f,smap,smep,umip,popcnt nosmap nosmep"

/*
 * The command line a Linux guest gets: cmdline, followed by the quirk options
 * when apply is true.  Returns a malloc'd string (NULL when out of memory).
 */
char *host_quirks__linux_cmdline(const char *cmdline, bool apply);

/*
 * For an emulation failure on an instruction this KVM refuses in kernel mode
 * and vmscope can do in its place: does what the CPU would and returns true.
 * int3 (the guest's own: the introspection hook sees vmscope's breakpoints
 * first) becomes a #BP trap with RIP past it; fwait moves on, or raises #MF
 * when the x87 unit has an unmasked exception pending.  Returns false,
 * changing nothing, for any other failure, or with --no-host-quirks.
 */
bool host_quirks__complete_insn(struct vcpu *vcpu);

#endif
