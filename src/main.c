/* vmscope: boot a guest on KVM with introspection built in. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "api/api.h"
#include "exit_status.h"
#include "gdb/stub.h"
#include "kvm_host.h"
#include "log.h"
#include "machine.h"
#include "options.h"
#include "vm.h"

/* Checks what only the host can judge: vCPU count and memory size. */
static bool config_fits_host(const struct vm_config *cfg, const struct kvm_host *host)
{
	unsigned long long host_ram =
		(unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);

	if (cfg->cpus_boot > (unsigned)host->max_vcpus) {
		log_error("--cpus: boot=%u is more than this host's KVM allows (%d)", cfg->cpus_boot,
			  host->max_vcpus);
		return false;
	}
	if (cfg->memory_size > host_ram) {
		log_error("--memory: size=%lluM is more than this host's %lluM of RAM",
			  (unsigned long long)(cfg->memory_size >> 20), host_ram >> 20);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct kvm_host host;
	struct vm *vm;
	struct api *api;
	char err[512];
	int status, r;
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

	if (kvm_host__open(&host) < 0)
		return EXIT_ERROR;
	if (!config_fits_host(&cfg, &host)) {
		kvm_host__close(&host);
		return EXIT_USAGE;
	}
	vm = vm__create(&host, &cfg, &status);
	if (!vm) {
		kvm_host__close(&host);
		return status;
	}
	if (machine__load(vm) < 0) {
		vm__destroy(vm);
		kvm_host__close(&host);
		return EXIT_USAGE;
	}
	if ((cfg.gdb_path[0] || cfg.gdb_tcp_port) && gdb_stub__start(vm) < 0) {
		vm__destroy(vm);
		kvm_host__close(&host);
		return EXIT_ERROR;
	}
	api = api__start(vm, &r);
	if (!api && r < 0) {
		vm__destroy(vm);
		kvm_host__close(&host);
		return EXIT_ERROR;
	}
	status = vm__run(vm);
	api__stop(api); /* before vm__destroy: a request may be using the vCPUs */
	vm__destroy(vm);
	kvm_host__close(&host);
	return status;
}
