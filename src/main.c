/* vmscope: boot a guest on KVM with introspection built in. */
#include <pthread.h>
#include <signal.h>

#include "exit_status.h"
#include "log.h"
#include "options.h"
#include "vmm.h"

int main(int argc, char **argv)
{
	struct vm_config cfg;
	char err[512];
	sigset_t stop_signals;

	/*
	 * Block the stop signals before anything else, so that every thread
	 * inherits the mask and a signal that comes early waits for the main
	 * loop's signalfd instead of being lost or killing us half set up.
	 */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	switch (options__parse(argc, argv, &cfg, err, sizeof(err))) {
	case OPTIONS_EXIT:
		return 0;
	case OPTIONS_ERROR:
		log_error("%s", err);
		return EXIT_USAGE;
	case OPTIONS_OK:
		break;
	}
	log_threshold = cfg.log_level;

	return vmm__main(&cfg);
}
