/* Puts the configured guest into a created VM: files, command line, boot state. */
#ifndef VMSCOPE_MACHINE_H
#define VMSCOPE_MACHINE_H

struct vm;

/*
 * Loads --kernel (or the embedded test guest), --initramfs and --cmdline into
 * vm and sets its entry.  Returns 0, or -1 after logging one line naming the
 * bad input (the caller exits with status 2).
 */
int machine__load(struct vm *vm);

#endif
