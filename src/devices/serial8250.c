/*
 * A 16550A UART at COM1 (port 0x3f8, IRQ 4): the guest's console.
 * Transmit is immediate, so the transmitter is always empty; received bytes
 * come from stdin when --serial tty, a terminal in raw mode meanwhile (tty.h).
 * String output (rep outsb) arrives as one exit carrying many bytes, which is
 * how the test guest prints cheaply.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "tty.h"
#include "vm.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ  4

#define UART_RBR_THR 0
#define UART_IER     1
#define UART_IIR_FCR 2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS_DSR_DCD 0xb0

#define RX_FIFO_SIZE 64

struct serial8250 {
	pthread_mutex_t lock;
	struct vm *vm;
	int out_fd;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	bool irq_level;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static uint8_t serial8250__iir(const struct serial8250 *s)
{
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/* Called with the lock held: drives IRQ 4 to match the pending interrupts. */
static void serial8250__update_irq(struct serial8250 *s)
{
	bool level = !(serial8250__iir(s) & IIR_NONE);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	vm__irq_line(s->vm, COM1_IRQ, level, "serial");
}

static void serial8250__transmit(struct serial8250 *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_count < RX_FIFO_SIZE)
			s->rx[(s->rx_head + s->rx_count++) % RX_FIFO_SIZE] = byte;
	} else if (s->out_fd >= 0 && write(s->out_fd, &byte, 1) < 0 && errno != EAGAIN) {
		log_warn("serial: output failed: %s; dropping further output", strerror(errno));
		s->out_fd = -1;
	}
	s->thri_pending = true;
}

static void serial8250__write(struct serial8250 *s, uint64_t reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			serial8250__transmit(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling the THR-empty interrupt fires at once: the THR is always empty. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		s->fcr = v;
		if (v & 0x02)
			s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t serial8250__read(struct serial8250 *s, uint64_t reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			return s->dll;
		if (!s->rx_count)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
		s->rx_count--;
		return v;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial8250__iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR:
		return MSR_CTS_DSR_DCD;
	default:
		return s->scr;
	}
}

static void serial8250__io(void *opaque, struct vcpu *vcpu, uint64_t offset, uint8_t *data,
			   uint32_t len, bool is_write)
{
	struct serial8250 *s = opaque;

	(void)vcpu;
	pthread_mutex_lock(&s->lock);
	/* Wider accesses touch consecutive registers, as on real hardware. */
	for (uint32_t i = 0; i < len && offset + i < 8; i++) {
		if (is_write)
			serial8250__write(s, offset + i, data[i]);
		else
			data[i] = serial8250__read(s, offset + i);
	}
	serial8250__update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

/* Console input: bytes from stdin go into the receive FIFO; what does not fit waits. */
static bool serial8250__input(struct vm *vm, int fd, void *opaque)
{
	struct serial8250 *s = opaque;
	uint8_t buf[RX_FIFO_SIZE];
	ssize_t n;

	(void)vm;
	pthread_mutex_lock(&s->lock);
	n = read(fd, buf, RX_FIFO_SIZE - s->rx_count);
	for (ssize_t i = 0; i < n; i++)
		s->rx[(s->rx_head + s->rx_count++) % RX_FIFO_SIZE] = buf[i];
	serial8250__update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n > 0 || (n < 0 && errno == EAGAIN);
}

static int serial8250__open_output(const struct vm_config *cfg)
{
	switch (cfg->serial) {
	case SERIAL_TTY:
		return dup(STDOUT_FILENO);
	case SERIAL_FILE:
		return open(cfg->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	default:
		return -1;
	}
}

static void serial8250__exit(struct vm *vm)
{
	struct serial8250 *s = vm->devices.serial;

	if (!s)
		return;
	vm->devices.serial = NULL;
	if (s->out_fd >= 0)
		close(s->out_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int serial8250__init(struct vm *vm)
{
	struct serial8250 *s;
	int r;

	if (vm->cfg->serial == SERIAL_OFF)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->out_fd = -1;
	if (vm->cfg->serial != SERIAL_NULL) {
		s->out_fd = serial8250__open_output(vm->cfg);
		if (s->out_fd < 0) {
			r = -errno;
			vm__config_error(vm);
			log_error("--serial: cannot open %s: %s",
				  vm->cfg->serial_path ? vm->cfg->serial_path : "stdout", strerror(errno));
			free(s);
			return r;
		}
	}
	vm->devices.serial = s;
	r = io__register(&vm->pio, COM1_PORT, 8, serial8250__io, s, "serial8250");
	if (r == 0 && vm->cfg->serial == SERIAL_TTY && isatty(STDIN_FILENO) &&
	    !tty__stdin_in_background()) {
		r = vm__register_pollfd(vm, STDIN_FILENO, serial8250__input, s);
		if (r == 0)
			r = tty__raw_stdin(vm);
	}
	return r;
}

DEVICE_INIT(DEVICE_LEVEL_PLATFORM, serial8250, serial8250__init, serial8250__exit);
