/*
 * What the user asked for, as parsed from the command line (options.c) and
 * validated there.  Everything past option parsing reads this, never argv.
 */
#ifndef VMSCOPE_CONFIG_H
#define VMSCOPE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_NULL, SERIAL_OFF };

/* The virtio console (hvc0); CONSOLE_OFF is 0 so a zeroed config has none. */
enum console_mode { CONSOLE_OFF, CONSOLE_TTY, CONSOLE_FILE, CONSOLE_NULL };

/*
 * --seccomp true|false|log: the system-call filter of every thread
 * (src/seccomp_filter.c).  SECCOMP_ON is 0 so a zeroed config (the in-process
 * tests') has the filter too.
 */
enum seccomp_mode { SECCOMP_ON, SECCOMP_LOG, SECCOMP_OFF };

#define CONFIG_MAX_DISKS 8
#define CONFIG_MAX_NETS  4
#define CONFIG_PATH_MAX  4096

/* --disk path=PATH[,readonly=on|off]: a raw image behind a virtio-blk device. */
struct disk_config {
	char path[CONFIG_PATH_MAX];
	bool readonly;
};

/* --net tap=[NAME],mac=,ip=,mask=: a virtio-net device on a tap interface. */
struct net_config {
	char tap[16];          /* empty: create one and let the kernel name it */
	uint8_t mac[6];
	bool have_mac;         /* false: a random locally administered MAC */
	uint32_t ip, mask;     /* host side of the tap, network byte order; 0: unset */
};

struct vm_config {
	const char *kernel;      /* NULL: boot the embedded test guest */
	const char *initramfs;   /* NULL: none */
	const char *cmdline;     /* NULL: the loader's default */
	unsigned cpus_boot;      /* --cpus boot=N, default 1 */
	uint64_t memory_size;    /* --memory size=, bytes, default 512 MiB */
	enum serial_mode serial; /* --serial, default tty */
	const char *serial_path; /* --serial file=PATH */
	bool console_off;        /* --console off */
	enum console_mode console; /* --console, default tty */
	char console_path[CONFIG_PATH_MAX]; /* --console file=PATH */
	unsigned nr_disks;       /* --disk, repeatable */
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned nr_nets;        /* --net, repeatable */
	struct net_config nets[CONFIG_MAX_NETS];
	bool rng;                /* --rng [src=PATH] */
	char rng_src[CONFIG_PATH_MAX]; /* default /dev/urandom */
	int log_level;           /* enum log_level; -v raises it, --log-level sets it */
	bool host_quirks;        /* false after --no-host-quirks */
	/*
	 * --irqchip off: no in-kernel LAPIC, IOAPIC, PIC or PIT.  HLT then
	 * reaches user space (and introspection clients); the guest gets no
	 * interrupts, so no virtio device either.
	 */
	bool no_irqchip;
	const char *vmi_socket;  /* --vmi-socket PATH: introspection control socket */
	uint32_t vmi_timeout_ms; /* --vmi-timeout MS: how long a sync event may wait */
	char gdb_path[108];      /* --gdb path=SOCKET: GDB stub on a unix socket ("" = none) */
	uint32_t gdb_tcp_addr;   /* --gdb tcp=ADDR:PORT: IPv4 address, host byte order */
	uint16_t gdb_tcp_port;   /* 0: no TCP stub */
	bool gdb_wait;           /* --gdb ...,wait=on (default): vCPUs wait for GDB */
	bool gdb_allow_remote;   /* --gdb tcp=...,allow-remote=on: beyond loopback allowed */
	char api_socket_path[108]; /* --api-socket [path=]SOCKET: REST API ("" = none) */
	int api_socket_fd;       /* --api-socket fd=N: inherited listening socket; -1 = none */
	bool vmi_wait;           /* --vmi-wait: vCPUs start paused until a client resumes them */
	enum seccomp_mode seccomp; /* --seccomp, default true */
};

/*
 * True when --api-socket was given.  fd 0 to 2 are refused as its fd, so a
 * zeroed config (the in-process tests') has no API socket.
 */
static inline bool config__has_api_socket(const struct vm_config *cfg)
{
	return cfg->api_socket_path[0] || cfg->api_socket_fd > 2;
}

#endif
