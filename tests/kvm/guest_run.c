#include "guest_run.h"

#include <pthread.h>
#include <string.h>

#include "kvm_host.h"
#include "log.h"
#include "machine.h"
#include "vcpu.h"
#include "vm.h"

static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;

static void record_ucall(struct vm *vm, struct vcpu *vcpu, const struct tg_ucall *uc, void *opaque)
{
	struct guest_run *r = opaque;

	(void)vm;
	pthread_mutex_lock(&record_lock);
	if (r->nr_ucalls < GUEST_RUN_MAX_UCALLS) {
		r->ucall_vcpu[r->nr_ucalls] = vcpu->id;
		r->ucalls[r->nr_ucalls++] = *uc;
	}
	pthread_mutex_unlock(&record_lock);
}

int guest_run(unsigned cpus, unsigned mem_mib, struct guest_run *out)
{
	struct vm_config cfg = {
		.cpus_boot = cpus,
		.memory_size = (uint64_t)mem_mib << 20,
		.serial = SERIAL_NULL,
		.log_level = LOG_WARN,
		.host_quirks = true,
	};
	struct kvm_host host;
	struct vm *vm;

	memset(out, 0, sizeof(*out));
	if (kvm_host__open(&host) < 0)
		return -1;
	vm = vm__create(&host, &cfg);
	if (!vm || machine__load(vm) < 0) {
		vm__destroy(vm);
		kvm_host__close(&host);
		return -1;
	}
	vm->ucall_fn = record_ucall;
	vm->ucall_opaque = out;
	out->status = vm__run(vm);
	out->stop_reason = atomic_load(&vm->stop_reason);
	vm__destroy(vm);
	kvm_host__close(&host);
	return 0;
}

const struct tg_ucall *guest_run__find(const struct guest_run *r, uint32_t kind, unsigned *from)
{
	for (unsigned i = *from; i < r->nr_ucalls; i++) {
		if (r->ucalls[i].kind == kind) {
			*from = i + 1;
			return &r->ucalls[i];
		}
	}
	return NULL;
}
