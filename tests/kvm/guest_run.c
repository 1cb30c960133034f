#include "guest_run.h"

#include <pthread.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/longmode.h"
#include "kvm_host.h"
#include "log.h"
#include "machine.h"
#include "vcpu.h"
#include "vm.h"
#include "vm_lifecycle.h"

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

/* Creates a VM, lets load() put a guest in it, runs it to the end. */
static int run_vm(const struct vm_config *cfg, int (*load)(struct vm *vm, const void *arg),
		  const void *arg, struct guest_run *out)
{
	struct kvm_host host;
	struct vm *vm;

	memset(out, 0, sizeof(*out));
	if (kvm_host__open(&host) < 0)
		return -1;
	vm = vm__create(&host, cfg, NULL);
	if (!vm || load(vm, arg) < 0) {
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

static int load_configured(struct vm *vm, const void *arg)
{
	(void)arg;
	return machine__load(vm);
}

struct code {
	const uint8_t *bytes;
	size_t len;
};

static int load_code(struct vm *vm, const void *arg)
{
	const struct code *c = arg;
	void *dst = vm__gpa_ptr(vm, BOOT_KERNEL_DEFAULT, c->len);

	if (!dst || longmode__write_tables(&vm->map, vm->ram) < 0)
		return -1;
	memcpy(dst, c->bytes, c->len);
	vm->entry = (struct boot_entry){ .rip = BOOT_KERNEL_DEFAULT };
	return 0;
}

int code_run(const uint8_t *code, size_t len, struct guest_run *out)
{
	struct vm_config cfg = {
		.cpus_boot = 1,
		.memory_size = 16 << 20,
		.serial = SERIAL_NULL,
		.log_level = LOG_ERROR,
		.host_quirks = true, /* as vmscope runs by default */
	};
	struct code c = { code, len };

	return run_vm(&cfg, load_code, &c, out);
}

bool kvm_host_is_emulated(void)
{
	struct kvm_host host;
	bool emulated;

	if (kvm_host__open(&host) < 0)
		return false;
	emulated = host.emulated;
	kvm_host__close(&host);
	return emulated;
}

int guest_run(unsigned cpus, unsigned mem_mib, struct guest_run *out)
{
	return guest_run_with_disk(cpus, mem_mib, NULL, out);
}

int guest_run_with_disk(unsigned cpus, unsigned mem_mib, const char *disk_path,
			struct guest_run *out)
{
	struct vm_config cfg = {
		.cpus_boot = cpus,
		.memory_size = (uint64_t)mem_mib << 20,
		.serial = SERIAL_NULL,
		.log_level = LOG_WARN,
		.host_quirks = true,
	};

	if (disk_path) {
		if (strlen(disk_path) >= sizeof(cfg.disks[0].path))
			return -1;
		strcpy(cfg.disks[0].path, disk_path);
		cfg.nr_disks = 1;
	}
	return run_vm(&cfg, load_configured, NULL, out);
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
