/*
 * The host terminal in raw mode while the guest reads it, as Cloud Hypervisor
 * does: every key, Ctrl-C included, goes to the guest, unechoed and unbuffered.
 */
#ifndef VMSCOPE_TTY_H
#define VMSCOPE_TTY_H

#include <stdbool.h>

struct vm;

/*
 * For a device that reads stdin for the guest: when stdin is a terminal,
 * puts it in raw mode and registers (vm__on_destroy) the restoring of its
 * original settings, which every way out of vmscope passes through: guest
 * power-off, errors, and SIGINT/SIGTERM (handled by the VM's main loop).
 * Returns 0 (also when stdin is no terminal) or -errno after logging why.
 */
int tty__raw_stdin(struct vm *vm);

/*
 * True when stdin is a terminal and vmscope is not in its foreground (started
 * with & from an interactive shell): reading it or changing its settings
 * would stop vmscope (SIGTTIN, SIGTTOU), so the guest gets no input from it.
 * Logs that once.
 */
bool tty__stdin_in_background(void);

#endif
