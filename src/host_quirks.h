/*
 * Work-arounds for KVM without hardware virtualization (HOST-NOTES): its
 * emulator refuses some instructions that Linux uses when CPUID offers them,
 * and CPUID cannot be changed there, so the kernel command line must say so.
 * It also refuses int3 in kernel mode, which vmscope then performs itself.
 */
#ifndef VMSCOPE_HOST_QUIRKS_H
#define VMSCOPE_HOST_QUIRKS_H

#include <stdbool.h>

struct vcpu;

#define HOST_QUIRKS_LINUX_CMDLINE \
	"noxsave clearcpuid=cx16,xsave,avx,avx2,avx512f,smap,smep,umip nosmap nosmep"

/*
 * The command line a Linux guest gets: cmdline, followed by the quirk options
 * when apply is true.  Returns a malloc'd string (NULL when out of memory).
 */
char *host_quirks__linux_cmdline(const char *cmdline, bool apply);

/*
 * For an emulation failure on an int3 that is the guest's own (not a
 * breakpoint of vmscope's: the introspection hook has seen it first): does
 * what the CPU would, a #BP trap with RIP past the int3, and returns true.
 * Returns false, changing nothing, for any other failure.
 */
bool host_quirks__complete_int3(struct vcpu *vcpu);

#endif
