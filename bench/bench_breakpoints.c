/*
 * Breakpoint hits through libvmscope with a synchronous client, in one run
 * (medians of 5 repetitions): hits per second and microseconds per hit, for
 * a software breakpoint (int3) and a hardware one (a debug register), each
 * with its ratio to a bare KVM exit (our own KVM_RUN loop on `out`, no
 * vmscope) measured alongside.  A kind the host cannot intercept (its
 * start-up probe says so) is reported as such.  Published anchors, printed
 * beside: DRAKVUF and SmartVMI on Xen, median about 15 us per breakpoint
 * (Beierlieb et al. 2025); SmartVMI about 81 us on older hardware.
 *   bench_breakpoints [HITS]
 */
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_vm.h"
#include "boot/longmode.h"
#include "host_debug.h"
#include "kvm_host.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

#define REPS 5
#define CODE 0x100000ULL
#define BP_AT (CODE + 9) /* the nop the loop runs through */

enum kind { BARE, SOFTWARE, HARDWARE };

/* CPL0 guest: n times `nop` (or `out 0x80` for the bare loop), then exit with 0. */
static void put_code(struct vm *vm, uint32_t n, bool out)
{
	uint8_t code[] = {
		0xb9, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24),
		0x66, 0xba, 0x80, 0x00,       /* mov dx, 0x80 */
		out ? 0xee : 0x90,            /* L: out dx, al | nop */
		0xff, 0xc9,                   /* dec ecx */
		0x75, 0xfb,                   /* jnz L */
		0x66, 0xba, 0x01, 0x05,       /* mov dx, 0x501 */
		0x31, 0xc0, 0xef, 0xf4,       /* xor eax,eax; out dx,eax; hlt */
	};

	longmode__write_tables(&vm->map, vm->ram);
	memcpy(vm->ram + CODE, code, sizeof(code));
	vm->entry.rip = CODE;
	vm->entry.aps_start_at_entry = false;
}

/* Our own KVM_RUN loop: n port writes to 0x80. */
static double bare_rate(struct kvm_host *host, uint32_t n)
{
	struct vm_config cfg = bench_vm__config();
	struct vm *vm = vm__create(host, &cfg, NULL);

	put_code(vm, n, true);
	return bench_vm__bare_rate(vm);
}

static int on_hit(vmscope_t *vm, const struct vmscope_event *ev, struct vmscope_response *rsp,
		  void *opaque)
{
	(void)vm; (void)ev; (void)rsp;
	(*(uint64_t *)opaque)++;
	return 0;
}

/* Hits per second of one kind, through a synchronous client; *hits counts them. */
static double hit_rate(struct kvm_host *host, uint32_t n, enum kind kind, uint64_t *hits)
{
	struct vm_config cfg = bench_vm__config();
	struct bench_run r = { 0 };
	vmscope_t *cl = NULL;
	char path[64];
	pthread_t th;
	double t0;
	int err, rc;

	snprintf(path, sizeof(path), "/tmp/bench-bp-%d.sock", getpid());
	cfg.vmi_socket = path;
	cfg.vmi_wait = true;
	r.vm = vm__create(host, &cfg, NULL);
	put_code(r.vm, n, false);
	*hits = 0;
	pthread_create(&th, NULL, bench_vm__run, &r);
	for (int i = 0; i < 500 && !(cl = vmscope_attach(path, &err)); i++)
		usleep(2000);
	if (!cl) {
		fprintf(stderr, "attach: %s\n", vmscope_last_error(NULL));
		exit(1);
	}
	rc = vmscope_subscribe(cl, kind == SOFTWARE ? VMSCOPE_EV_BREAKPOINT
						    : VMSCOPE_EV_HW_BREAKPOINT, 1, on_hit, hits);
	if (rc == 0)
		rc = kind == SOFTWARE ? vmscope_set_bp_pa(cl, BP_AT)
				      : vmscope_set_hwbp(cl, BP_AT, VMSCOPE_HWBP_EXEC, 1, NULL);
	if (rc < 0) {
		fprintf(stderr, "breakpoint: %s\n", vmscope_last_error(cl));
		exit(1);
	}
	t0 = bench_vm__now();
	vmscope_resume(cl, VMSCOPE_ALL_VCPUS);
	while (vmscope_event_loop(cl, 200) >= 0 && !vm__stopping(r.vm))
		;
	pthread_join(th, NULL);
	vmscope_close(cl);
	vm__destroy(r.vm);
	return *hits / (r.end - t0);
}

static void report(const char *name, double rate, double bare, uint64_t hits, uint32_t n)
{
	printf("  %-22s %10.0f hits/s  %6.2f us/hit  %6.2fx a bare exit  (%llu of %u hits seen)\n",
	       name, rate, 1e6 / rate, bare / rate, (unsigned long long)hits, n);
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 20000;
	double bare[REPS], sw[REPS], hw[REPS];
	uint64_t sw_hits = 0, hw_hits = 0;
	struct kvm_host host;
	bool sw_ok, hw_ok;

	log_threshold = LOG_ERROR;
	if (kvm_host__open(&host) < 0)
		return 77;
	sw_ok = host_debug__sw_bp_ok(&host.dbg);
	hw_ok = host_debug__hw_bp_ok(&host.dbg);
	for (int i = 0; i < REPS; i++) {
		bare[i] = bare_rate(&host, n);
		sw[i] = sw_ok ? hit_rate(&host, n, SOFTWARE, &sw_hits) : 0;
		hw[i] = hw_ok ? hit_rate(&host, n, HARDWARE, &hw_hits) : 0;
	}
	double b = median(bare, REPS), s = median(sw, REPS), h = median(hw, REPS);

	printf("breakpoint hits, synchronous libvmscope client (%u hits, median of %d; host KVM: %s):\n",
	       n, REPS, host.emulated ? "kvm_pvm, guest kernel mode emulated" : "hardware-assisted");
	printf("  %-22s %10.0f exits/s %6.2f us/exit\n", "bare KVM exit (out)", b, 1e6 / b);
	if (sw_ok)
		report("software (int3)", s, b, sw_hits, n);
	else
		printf("  software (int3)        not available: int3 %s\n", host_debug__name(host.dbg.sw_bp));
	if (hw_ok)
		report("hardware (DR0-3)", h, b, hw_hits, n);
	else
		printf("  hardware (DR0-3)       not available: debug registers %s\n",
		       host_debug__name(host.dbg.hw_bp));
	printf("published, per breakpoint: DRAKVUF and SmartVMI on Xen about 15 us (median, "
	       "Beierlieb et al. 2025); SmartVMI about 81 us on older hardware\n");
	if (sw_ok)
		printf("  software: %.2fx the 15 us anchor (below 1: faster)\n", 1e6 / s / 15.0);
	if (hw_ok)
		printf("  hardware: %.2fx the 15 us anchor (below 1: faster)\n", 1e6 / h / 15.0);
	kvm_host__close(&host);
	return 0;
}
