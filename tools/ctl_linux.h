/* vmscope-ctl's Linux views (ctl_linux.c). */
#ifndef VMSCOPE_CTL_LINUX_H
#define VMSCOPE_CTL_LINUX_H

#include "vmscope/vmscope.h"

/*
 * Runs one Linux command: argv[0] is the program name, then the options and
 * the command (see ctl_linux.c).  Returns the process exit status.
 */
int ctl_linux(int argc, char **argv);
/*
 * The live system-call tracer: argv[0] is "trace", argv[1] optional seconds.
 * hw: a debug-register breakpoint, guest memory untouched (also taken when
 * the host cannot intercept int3 but can stop on debug registers).
 */
int ctl_linux_trace(const char *socket_path, const struct vmscope_linux_opts *lo, int argc,
		    char **argv, int json, int hw);

#endif
