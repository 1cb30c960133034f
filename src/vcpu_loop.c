/*
 * A vCPU's life and its loop: created with CPUID and entry registers, a
 * thread that runs KVM_RUN, shows each exit to the VM's hooks (vcpu_hooks.h)
 * and passes it to the device model (io.c) or ends the VM.
 *
 * The path of an exit: vcpu__thread (KVM_RUN; the exit's kind, exit_kind.h)
 * -> the hooks' exit() when its kind is watched (introspection:
 * src/vmi/exits.c) -> vcpu__dispatch_exit -> io__access (io.c) -> the
 * device's handler.  Nothing on the way calls back into the loop; the VM
 * object (vm.h) is asked only to stop.
 */
#include "vcpu_loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/longmode.h"
#include "exit_kind.h"
#include "exit_status.h"
#include "host_quirks.h"
#include "kvm_ioctl.h"
#include "log.h"
#include "seccomp_filter.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static int vcpu__set_cpuid(struct vcpu *vcpu)
{
	const int max = 256;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + max * sizeof(cpuid->entries[0]));
	int r;

	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = max;
	r = kvm_ioctl(vcpu->vm->host->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	if (r == 0) {
		for (unsigned i = 0; i < cpuid->nent; i++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

			/*
			 * Each vCPU's initial APIC ID is its index.  KVM leaves
			 * the hypervisor bit to user space: without it a guest
			 * never looks at KVM's leaves (0x40000000) and runs as on
			 * bare metal, with no kvm-clock and no paravirtual IPIs,
			 * TLB flushes or EOIs.
			 */
			if (e->function == 1) {
				e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);
				e->ecx |= CPUID_1_ECX_HYPERVISOR;
			}
			if (e->function == 0xb || e->function == 0x1f)
				e->edx = vcpu->id;
		}
		r = vcpu_ioctl(vcpu, KVM_SET_CPUID2, cpuid);
	}
	if (r < 0)
		r = -errno;
	free(cpuid);
	return r;
}

/* Puts the vCPU at the 64-bit entry chosen by the loader. */
static int vcpu__set_entry_state(struct vcpu *vcpu)
{
	const struct boot_entry *entry = &vcpu->vm->entry;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry->rip,
		.rsi = entry->rsi,
		.rdi = vcpu->id,
		.rdx = vcpu->vm->nr_vcpus,
		.rflags = 0x2,
	};
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	longmode__set_sregs(&sregs);
	if (vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || vcpu_ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	/* An AP under the in-kernel LAPIC waits for INIT/SIPI unless told otherwise. */
	if (vcpu->id != 0 && vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp) < 0)
		return -errno;
	return 0;
}

struct vcpu *vcpu__create(struct vm *vm, unsigned id)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int r;

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = vm_ioctl(vm, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		log_error("vCPU %u: %s", id, kvm_ioctl__why());
		free(vcpu);
		return NULL;
	}
	vcpu->run = mmap(NULL, vm->host->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		log_error("vCPU %u: cannot map kvm_run: %s", id, strerror(errno));
		close(vcpu->fd);
		free(vcpu);
		return NULL;
	}
	vcpu->exit_stats = vcpu->own_exit_stats;
	r = vm->hooks.ops && vm->hooks.ops->vcpu_init ? vm->hooks.ops->vcpu_init(vcpu) : 0;
	if (r < 0) {
		log_error("vCPU %u: setting up its hooks failed: %s", id, strerror(-r));
		vcpu__destroy(vcpu);
		return NULL;
	}
	r = vcpu__set_cpuid(vcpu);
	if (r == 0 && (id == 0 || vm->entry.aps_start_at_entry))
		r = vcpu__set_entry_state(vcpu);
	if (r < 0) {
		log_error("vCPU %u: setting up registers failed: %s", id, strerror(-r));
		vcpu__destroy(vcpu);
		return NULL;
	}
	return vcpu;
}

void vcpu__destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->vm->hooks.ops && vcpu->vm->hooks.ops->vcpu_destroy)
		vcpu->vm->hooks.ops->vcpu_destroy(vcpu);
	munmap(vcpu->run, vcpu->vm->host->vcpu_mmap_size);
	close(vcpu->fd);
	free(vcpu);
}

static void vcpu__handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t size = run->io.size, count = run->io.count;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	/* KVM fills these, but a bad offset would make us write past the run page. */
	if (!range_within(run->io.data_offset, size * count,
			  (uint64_t)vcpu->vm->host->vcpu_mmap_size)) {
		log_error("vCPU %u: KVM reported port I/O data outside the run page", vcpu->id);
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		return;
	}
	for (uint64_t i = 0; i < count; i++)
		io__access(&vcpu->vm->pio, vcpu, run->io.port, data + i * size, (uint32_t)size,
			   run->io.direction == KVM_EXIT_IO_OUT);
}

static void vcpu__handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->mmio.len > sizeof(run->mmio.data)) {
		log_error("vCPU %u: MMIO access of %u bytes", vcpu->id, run->mmio.len);
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		return;
	}
	io__access(&vcpu->vm->mmio, vcpu, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		   run->mmio.is_write);
}

static void vcpu__report_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char bytes[3 * sizeof(run->emulation_failure.insn_bytes) + 1] = "";
	bool emulation = run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION;

	/* The bytes are valid only when KVM says so in flags (and ndata covers them). */
	if (emulation && run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned len = run->emulation_failure.insn_size;

		if (len > sizeof(run->emulation_failure.insn_bytes))
			len = sizeof(run->emulation_failure.insn_bytes);
		for (unsigned i = 0; i < len; i++)
			snprintf(bytes + 3 * i, 4, " %02x", run->emulation_failure.insn_bytes[i]);
	}
	log_error("vCPU %u: KVM internal error, suberror %u%s at RIP 0x%llx, instruction bytes:%s",
		  vcpu->id, run->internal.suberror, emulation ? " (emulation failed)" : "",
		  (unsigned long long)vcpu__rip(vcpu), bytes[0] ? bytes : " unknown");
}

static void vcpu__handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		log_info("guest powered off");
		vm__stop(vcpu->vm, VM_STOP_POWEROFF, EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		log_info("guest asked for a reset; vmscope does not reboot guests, stopping");
		vm__stop(vcpu->vm, VM_STOP_REBOOT, EXIT_REBOOT);
		break;
	default:
		log_error("vCPU %u: guest crashed (system event %u)", vcpu->id,
			  vcpu->run->system_event.type);
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
	}
}

/*
 * KVM hands HLT to user space only without an in-kernel irqchip, and then
 * no device can raise an interrupt: the vCPU sleeps until the VM stops.
 * Once every vCPU sleeps the guest can never run again, so the VM stops.
 */
static void vcpu__halt(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	vcpu->halted = true;
	log_debug("vCPU %u: halted at RIP 0x%llx", vcpu->id, (unsigned long long)vcpu__rip(vcpu));
	if (atomic_fetch_add(&vm->nr_halted, 1) + 1 == vm->nr_vcpus) {
		log_warn("every vCPU has halted and nothing can wake them (--irqchip off)");
		vm__stop(vm, VM_STOP_HALTED, EXIT_HALTED);
	}
}

/*
 * One loop turn of a halted vCPU: sleep until kicked (a pause request, the
 * VM stopping).  The kick signal is blocked between the check of
 * immediate_exit and ppoll, which unblocks it atomically: no kick is lost.
 */
static void vcpu__sleep_halted(struct vcpu *vcpu)
{
	struct pollfd stop = { .fd = vcpu->vm->stop_efd, .events = POLLIN };
	sigset_t kick, running;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick, &running);
	if (!vcpu->run->immediate_exit && !vm__stopping(vcpu->vm))
		ppoll(&stop, 1, NULL, &running);
	pthread_sigmask(SIG_SETMASK, &running, NULL);
	vcpu->run->immediate_exit = 0;
}

/*
 * An exit that only a hook's doing causes, not shown to its exit() (watched
 * false): whether the hook handled it (vcpu_hooks.h).
 */
static bool vcpu__hook_claims(struct vcpu *vcpu, bool watched)
{
	const struct vcpu_hook_ops *ops = vcpu->vm->hooks.ops;

	return !watched && ops && ops->unclaimed && ops->unclaimed(vcpu);
}

/*
 * Passes one exit to whoever handles it (watched: a hook has seen it); anything
 * unexpected stops the VM.
 */
static void vcpu__dispatch_exit(struct vcpu *vcpu, bool watched)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu__handle_io(vcpu);
		break;
	case KVM_EXIT_MMIO:
		/* RAM exits as MMIO only where a hook made it read-only. */
		if (memmap__offset(&vcpu->vm->map, run->mmio.phys_addr, run->mmio.len) >= 0 &&
		    vcpu__hook_claims(vcpu, watched))
			break;
		vcpu__handle_mmio(vcpu);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_HLT:
		vcpu__halt(vcpu);
		break;
	case KVM_EXIT_SHUTDOWN:
		if (vcpu->vm->host->svm)
			log_error("vCPU %u: guest triple fault (where is unknown: on AMD SVM, KVM "
				  "resets the vCPU's registers on a triple fault)", vcpu->id);
		else
			log_error("vCPU %u: guest triple fault at RIP 0x%llx", vcpu->id,
				  (unsigned long long)vcpu__rip(vcpu));
		vm__stop(vcpu->vm, VM_STOP_TRIPLE_FAULT, EXIT_TRIPLE_FAULT);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu__handle_system_event(vcpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (vcpu__hook_claims(vcpu, watched) || host_quirks__complete_insn(vcpu))
			break;
		vcpu__report_internal_error(vcpu);
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: KVM could not enter the guest (hardware reason 0x%llx, CPU %u) at RIP 0x%llx",
			  vcpu->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			  run->fail_entry.cpu, (unsigned long long)vcpu__rip(vcpu));
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		break;
	case KVM_EXIT_DEBUG:
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (vcpu__hook_claims(vcpu, watched))
			break;
		/* fall through */
	default:
		log_error("vCPU %u: unexpected KVM exit reason %u at RIP 0x%llx", vcpu->id,
			  run->exit_reason, (unsigned long long)vcpu__rip(vcpu));
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
	}
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	const struct vcpu_hooks *hooks = &vcpu->vm->hooks;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (seccomp_filter__apply(SECCOMP_THREAD_VCPU, vcpu->vm->cfg->seccomp) < 0) {
		vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
		return NULL;
	}

	while (!vm__stopping(vcpu->vm)) {
		unsigned kind;
		bool watched;

		if (hooks->ops && hooks->ops->before_run)
			hooks->ops->before_run(vcpu); /* may park it: a client, GDB */
		if (vcpu->halted) {
			vcpu__sleep_halted(vcpu);
			continue;
		}
		if (vcpu_ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			log_error("vCPU %u: %s", vcpu->id, kvm_ioctl__why());
			vm__stop(vcpu->vm, VM_STOP_ERROR, EXIT_ERROR);
			break;
		}
		atomic_fetch_add_explicit(&vcpu->nr_exits, 1, memory_order_relaxed);
		kind = exit_kind(vcpu->run->exit_reason);
		vcpu->exit_stats[kind]++;
		/* The hooks: one load and one branch when nobody watches this kind. */
		watched = atomic_load_explicit(&hooks->watch_mask, memory_order_relaxed) & (1u << kind);
		if (unlikely(watched) && hooks->ops->exit(vcpu, kind) == VCPU_HANDLED)
			continue;
		vcpu__dispatch_exit(vcpu, watched);
	}
	vcpu__complete_exit(vcpu); /* its final registers, for a core dump or a client */
	if (hooks->ops && hooks->ops->vcpu_exit)
		hooks->ops->vcpu_exit(vcpu);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;
}

/* The kick signal must have a handler (not SIG_IGN) so that it interrupts KVM_RUN. */
static void install_kick_handler(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu__start(struct vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int r;

	pthread_once(&once, install_kick_handler);
	r = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);
	if (r != 0) {
		log_error("vCPU %u: cannot start its thread: %s", vcpu->id, strerror(r));
		return -r;
	}
	vcpu->thread_started = true;
	return 0;
}

