/*
 * virtio-console (--console tty|file=PATH|null|off): the guest's hvc0, one
 * port, no multiport.  Output goes to stdout or the file; with tty, input
 * comes from stdin unless the serial port already reads it (--serial tty),
 * and a terminal on stdin is in raw mode meanwhile (tty.h).
 * The emergency-write register prints one byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "tty.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vm.h"

#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define CONSOLE_QUEUE_SIZE 128
#define CONSOLE_RX 0
#define CONSOLE_TX 1
#define CONSOLE_EMERG_WR 8 /* config offset */

struct virtio_console {
	int out_fd; /* -1: output discarded */
	int in_fd;  /* -1: no input */
	bool in_eof;
	struct virtq_chain chain;
};

static void console__write(struct virtio_console *con, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n && con->out_fd >= 0; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			ssize_t w = write(con->out_fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				log_warn("virtio-console: output failed: %s; dropping further output",
					 w < 0 ? strerror(errno) : "nothing written");
				con->out_fd = -1;
				break;
			}
			p += w;
			left -= (size_t)w;
		}
	}
}

static void console__tx(struct virtio_dev *dev)
{
	struct virtio_console *con = dev->priv;
	struct virtq *vq = &dev->vq[CONSOLE_TX];
	bool used = false;
	int r;

	while ((r = virtq__pop(dev->vm, vq, &con->chain)) > 0) {
		console__write(con, con->chain.iov, con->chain.nr_out);
		virtq__push(vq, con->chain.head, 0);
		used = true;
	}
	if (r < 0)
		virtio__needs_reset(dev, "malformed descriptor chain");
	if (used)
		virtio__signal_queue(dev, CONSOLE_TX);
}

/* Input: moves what stdin has into one receive buffer at a time. */
static void console__rx(struct virtio_dev *dev)
{
	struct virtio_console *con = dev->priv;
	struct virtq *vq = &dev->vq[CONSOLE_RX];
	ssize_t got;
	int r;

	if (con->in_fd < 0 || con->in_eof)
		return;
	if (!virtio__queue_live(dev, CONSOLE_RX)) {
		dev->fd_wanted[0] = false; /* until the driver sets the queue up */
		return;
	}
	r = virtq__pop(dev->vm, vq, &con->chain);
	if (r < 0) {
		virtio__needs_reset(dev, "malformed descriptor chain");
		return;
	}
	if (r == 0 || con->chain.in_len == 0) {
		if (r > 0)
			virtq__push(vq, con->chain.head, 0);
		dev->fd_wanted[0] = false; /* wait for buffers */
		return;
	}
	got = readv(con->in_fd, con->chain.iov + con->chain.nr_out,
		    (int)(con->chain.nr_in > IOV_MAX ? IOV_MAX : con->chain.nr_in));
	if (got <= 0) {
		virtq__unpop(vq);
		if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
			con->in_eof = true;
			dev->fd_wanted[0] = false;
		}
		return;
	}
	virtq__push(vq, con->chain.head, (uint32_t)got);
	virtio__signal_queue(dev, CONSOLE_RX);
}

static void console__notify(struct virtio_dev *dev, unsigned q)
{
	struct virtio_console *con = dev->priv;

	if (q == CONSOLE_TX) {
		console__tx(dev);
	} else if (con->in_fd >= 0 && !con->in_eof) {
		dev->fd_wanted[0] = true; /* new receive buffers: read input again */
	}
}

static void console__fd_ready(struct virtio_dev *dev, unsigned idx)
{
	(void)idx;
	console__rx(dev);
}

static void console__config_write(struct virtio_dev *dev, uint32_t off, uint32_t len)
{
	struct virtio_console *con = dev->priv;

	if (off == CONSOLE_EMERG_WR && len >= 1 && (dev->driver_features &
						    (1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE))) {
		struct iovec iov = { dev->config + CONSOLE_EMERG_WR, 1 };

		console__write(con, &iov, 1);
	}
	memset(dev->config + CONSOLE_EMERG_WR, 0, 4);
}

static void console__reset(struct virtio_dev *dev)
{
	struct virtio_console *con = dev->priv;

	if (con && con->in_fd >= 0 && !con->in_eof)
		dev->fd_wanted[0] = true;
}

static void console__free(struct virtio_dev *dev)
{
	struct virtio_console *con = dev->priv;

	if (!con)
		return;
	if (con->out_fd >= 0)
		close(con->out_fd);
	if (con->in_fd >= 0)
		close(con->in_fd);
	free(con);
}

static const struct virtio_ops console_ops = {
	.name = "virtio-console",
	.type = VIRTIO_ID_CONSOLE,
	.class_code = 0x078000,
	.nr_queues = 2,
	.queue_max = CONSOLE_QUEUE_SIZE,
	.features = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE,
	.config_size = 12,
	.queue_notify = console__notify,
	.fd_ready = console__fd_ready,
	.config_write = console__config_write,
	.reset = console__reset,
	.free = console__free,
};

static int console__init(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct virtio_console *con;
	struct virtio_dev *dev;
	uint16_t cols = 80, rows = 25;
	uint32_t ports = 1;
	int r;

	if (cfg->console == CONSOLE_OFF || cfg->console_off)
		return 0;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->out_fd = -1;
	con->in_fd = -1;
	if (cfg->console == CONSOLE_FILE) {
		con->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (con->out_fd < 0) {
			r = -errno;
			log_error("--console: cannot open '%s': %s", cfg->console_path, strerror(errno));
			vm__config_error(vm);
			free(con);
			return r;
		}
	} else if (cfg->console == CONSOLE_TTY) {
		con->out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
		/* One reader of stdin: the serial port has it when it is a tty too. */
		if (cfg->serial != SERIAL_TTY && !tty__stdin_in_background()) {
			/* Read only when poll says so: stdin is left blocking, as the shell set it. */
			con->in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
		}
	}
	dev = virtio__create(vm, &console_ops, con);
	if (!dev)
		return -EIO;
	memcpy(dev->config + 0, &cols, 2);
	memcpy(dev->config + 2, &rows, 2);
	memcpy(dev->config + 4, &ports, 4);
	if (con->in_fd >= 0) {
		dev->fds[0] = con->in_fd;
		dev->nr_fds = 1;
		dev->fd_wanted[0] = false; /* until the driver gives receive buffers */
		r = tty__raw_stdin(vm);
		if (r < 0)
			return r;
	}
	return virtio__start(dev);
}

static void console__exit(struct vm *vm)
{
	virtio__free_type(vm, VIRTIO_ID_CONSOLE);
}

DEVICE_INIT(DEVICE_LEVEL_VIRTIO, virtio_console, console__init, console__exit);
