/*
 * What the user asked for, as parsed from the command line (options.c) and
 * validated there.  Everything past option parsing reads this, never argv.
 */
#ifndef VMSCOPE_CONFIG_H
#define VMSCOPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_NULL, SERIAL_OFF };

struct vm_config {
	const char *kernel;      /* NULL: boot the embedded test guest */
	const char *initramfs;   /* NULL: none */
	const char *cmdline;     /* NULL: the loader's default */
	unsigned cpus_boot;      /* --cpus boot=N, default 1 */
	uint64_t memory_size;    /* --memory size=, bytes, default 512 MiB */
	enum serial_mode serial; /* --serial, default tty */
	const char *serial_path; /* --serial file=PATH */
	bool console_off;        /* --console off (the only value accepted for now) */
	int log_level;           /* enum log_level; -v raises it, --log-level sets it */
	bool host_quirks;        /* false after --no-host-quirks */
	const char *vmi_socket;  /* --vmi-socket PATH: introspection control socket */
	uint32_t vmi_timeout_ms; /* --vmi-timeout MS: how long a sync event may wait */
};

#endif
