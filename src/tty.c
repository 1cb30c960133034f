/* stdin in raw mode while the guest reads it; see tty.h. */
#include "tty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

static void tty__restore(void *opaque)
{
	struct termios *saved = opaque;

	if (tcsetattr(STDIN_FILENO, TCSADRAIN, saved) < 0)
		log_warn("cannot restore the terminal's settings: %s (try 'stty sane')",
			 strerror(errno));
	free(saved);
}

bool tty__stdin_in_background(void)
{
	static bool said;
	bool background = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) != getpgrp();

	if (background && !said) {
		log_info("vmscope runs in the background of its terminal: no guest input from it");
		said = true;
	}
	return background;
}

int tty__raw_stdin(struct vm *vm)
{
	struct termios raw, *saved;
	int r;

	if (!isatty(STDIN_FILENO))
		return 0;
	saved = malloc(sizeof(*saved));
	if (!saved)
		return -ENOMEM;
	if (tcgetattr(STDIN_FILENO, saved) < 0) {
		r = -errno;
		log_error("cannot read the terminal's settings: %s", strerror(errno));
		free(saved);
		return r;
	}
	/* Registered first, so that even a failed switch below is undone. */
	r = vm__on_destroy(vm, tty__restore, saved);
	if (r < 0) {
		free(saved);
		return r;
	}
	/*
	 * Input as the guest's own line discipline wants it: no echo, no line
	 * editing, no signal, flow-control or CR/NL translation on the host.
	 * Output processing stays on, so vmscope's log lines on the same
	 * terminal still start at the left margin.
	 */
	raw = *saved;
	raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
		r = -errno;
		log_error("cannot put the terminal in raw mode: %s", strerror(errno));
		return r;
	}
	return 0;
}
