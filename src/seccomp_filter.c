/*
 * The system-call filter of each kind of thread (see seccomp.h), built with
 * libseccomp.  A list names what every thread needs (memory, locks, time,
 * its own exit, stderr); each kind adds its own calls.  ioctl is allowed to
 * the threads that run the VM only for the KVM and terminal requests they
 * make, by request number (the filter cannot see which fd an ioctl is on).
 */
#include "seccomp_filter.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char *const kind_names[SECCOMP_THREAD_COUNT] = {
	[SECCOMP_THREAD_VMM] = "vmm",
	[SECCOMP_THREAD_VCPU] = "vcpu",
	[SECCOMP_THREAD_VIRTIO] = "virtio",
	[SECCOMP_THREAD_VMI] = "vmi",
	[SECCOMP_THREAD_GDB] = "gdb",
};

/* Every thread. */
static const int calls_common[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield), SCMP_SYS(restart_syscall), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(getrandom), SCMP_SYS(fcntl),
	SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity), SCMP_SYS(prctl),
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	/* What the sanitizers' runtime calls while it reports (/proc/self/maps, its limits). */
	SCMP_SYS(openat), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(rt_sigaction),
#endif
};

/*
 * A vCPU: its exits' device emulation writes to files and eventfds, kicks
 * vCPUs, and drops an introspection client that let a synchronous event
 * time out (shutdown of its socket).
 */
static const int calls_vcpu[] = {
	SCMP_SYS(pwrite64), SCMP_SYS(tkill), SCMP_SYS(shutdown),
};

/* A virtio worker: the disk image, the tap device, the console, the rng source. */
static const int calls_virtio[] = {
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(fdatasync), SCMP_SYS(fsync), SCMP_SYS(fallocate), SCMP_SYS(fadvise64),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
};

/* The introspection control socket: one client, RAM's memfd passed to it. */
static const int calls_vmi[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(tkill), SCMP_SYS(getuid), /* a client must be root or vmscope's own user */
};

/* The GDB stub: one debugger on a socket. */
static const int calls_gdb[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(tkill),
};

/*
 * The VMM's main thread builds VMs (files, KVM, memfd, sockets, threads,
 * the tap device, dlopen of libmicrohttpd), serves the REST API and writes
 * core dumps: the widest list.  Still nothing that runs another program,
 * changes the file system's shape or other processes.
 */
static const int calls_vmm[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(ioctl), SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(memfd_create), SCMP_SYS(dup),
	SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(umask), SCMP_SYS(fchmod), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(getcwd), SCMP_SYS(getdents64), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(socket), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(connect), SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(shutdown),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime), SCMP_SYS(signalfd4), SCMP_SYS(rt_sigaction),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(tkill),
	SCMP_SYS(sched_setaffinity), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getpgrp), SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(wait4),
	SCMP_SYS(flock), SCMP_SYS(fadvise64), /* a disk image: locked, its access pattern told */
	SCMP_SYS(seccomp), /* the threads it starts add their own filters */
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer's check at exit stops the threads with a ptrace()ing helper. */
	SCMP_SYS(ptrace), SCMP_SYS(getppid), SCMP_SYS(getdents),
#endif
};

/* The ioctl requests of the threads that run a VM (not the VMM, which may make any). */
static const unsigned long runtime_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_FPU,
	KVM_SET_FPU, KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_SET_GUEST_DEBUG, KVM_TRANSLATE,
	KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING,
	KVM_IOEVENTFD, KVM_IRQFD, KVM_SET_USER_MEMORY_REGION, KVM_X86_SET_MSR_FILTER,
	KVM_CHECK_EXTENSION,
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO,
};

static const struct {
	const int *calls;
	size_t n;
} kind_calls[SECCOMP_THREAD_COUNT] = {
	[SECCOMP_THREAD_VMM] = { calls_vmm, ARRAY_SIZE(calls_vmm) },
	[SECCOMP_THREAD_VCPU] = { calls_vcpu, ARRAY_SIZE(calls_vcpu) },
	[SECCOMP_THREAD_VIRTIO] = { calls_virtio, ARRAY_SIZE(calls_virtio) },
	[SECCOMP_THREAD_VMI] = { calls_vmi, ARRAY_SIZE(calls_vmi) },
	[SECCOMP_THREAD_GDB] = { calls_gdb, ARRAY_SIZE(calls_gdb) },
};

/* For the SIGSYS handler, which may not allocate: the thread's kind, the calls' names. */
static _Thread_local const char *thread_kind = "vmscope";
#define MAX_SYSCALL_NR 512
static const char *syscall_names[MAX_SYSCALL_NR];

/* Appends s to line (of size LINE_MAX_LEN, one byte kept for the newline). */
#define LINE_MAX_LEN 320
static void put(char *line, size_t *len, const char *s)
{
	while (*s && *len < LINE_MAX_LEN - 1)
		line[(*len)++] = *s++;
}

/* 0: nobody reports yet; 1: a thread is writing its line; 2: written. */
static atomic_int reporting;

/*
 * A forbidden call: say which thread made which call, in one write, then die
 * of SIGSYS.  Two threads may get here at once: the second waits until the
 * first has written its line, so that vmscope does not die before it does.
 * To die, the call is made again with SIGSYS blocked (as it is in its own
 * handler): the kernel then kills the process with SIGSYS itself, and no
 * rt_sigaction, which most filters forbid, is needed.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char line[LINE_MAX_LEN], num[12];
	int nr = si->si_syscall, i = (int)sizeof(num) - 1, expected = 0;
	size_t len = 0;
	ssize_t w;

	(void)sig, (void)uctx;
	if (!atomic_compare_exchange_strong(&reporting, &expected, 1)) {
		while (atomic_load(&reporting) == 1)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		syscall(si->si_syscall);
		_exit(128 + SIGSYS); /* not reached */
	}
	num[i] = '\0';
	do
		num[--i] = (char)('0' + nr % 10);
	while ((nr /= 10) > 0 && i > 0);
	nr = si->si_syscall;
	put(line, &len, "vmscope: error: seccomp: the ");
	put(line, &len, thread_kind);
	put(line, &len, " thread made a system call its filter forbids: ");
	put(line, &len, nr >= 0 && nr < MAX_SYSCALL_NR && syscall_names[nr] ? syscall_names[nr]
									   : "#");
	put(line, &len, " (");
	put(line, &len, num + i);
	put(line, &len, "); --seccomp log runs on and lets the kernel log each such call");
	line[len++] = '\n';
	w = write(STDERR_FILENO, line, len);
	(void)w;
	atomic_store(&reporting, 2);
	syscall(si->si_syscall);
	_exit(128 + SIGSYS); /* not reached */
}

static int setup_error;

/* Once, before any filter: the handler and the names it prints. */
static void seccomp_filter__setup(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_sigsys,
		.sa_flags = SA_SIGINFO,
	};

	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		setup_error = -errno;
}

static int add_calls(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		/* A call this kernel's architecture lacks (open on some) is no error. */
		if (r < 0 && r != -EDOM && r != -EFAULT)
			return r;
	}
	return 0;
}

static int add_ioctls(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(runtime_ioctls); i++) {
		/* The request is an unsigned int in the kernel: compare the low 32 bits only. */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						 runtime_ioctls[i] & 0xffffffffu));

		if (r < 0)
			return r;
	}
	return 0;
}

int seccomp_filter__apply(enum seccomp_thread kind, enum seccomp_mode mode)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const char *selftest = getenv("VMSCOPE_SECCOMP_SELFTEST");
	scmp_filter_ctx ctx;
	int r;

	if (mode == SECCOMP_OFF)
		return 0;
	pthread_once(&once, seccomp_filter__setup);
	r = setup_error;
	ctx = r == 0 ? seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP) : NULL;
	if (!ctx) {
		log_error("seccomp: cannot set up the %s thread's filter: %s", kind_names[kind],
			  strerror(r < 0 ? -r : ENOMEM));
		return r < 0 ? r : -ENOMEM;
	}
	r = add_calls(ctx, calls_common, ARRAY_SIZE(calls_common));
	if (r == 0)
		r = add_calls(ctx, kind_calls[kind].calls, kind_calls[kind].n);
	if (r == 0 && kind != SECCOMP_THREAD_VMM)
		r = add_ioctls(ctx);
	thread_kind = kind_names[kind];
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		log_error("seccomp: cannot load the %s thread's filter: %s (--seccomp false runs "
			  "without one)", kind_names[kind], strerror(-r));
		return r;
	}
	if (selftest && strcmp(selftest, kind_names[kind]) == 0)
		syscall(SYS_getsid, 0);
	return 0;
}
