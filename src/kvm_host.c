#include "kvm_host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_ioctl.h"
#include "log.h"

static int check_extension(int fd, long cap)
{
	int r = kvm_ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/*
 * Which virtualization the CPU offers KVM: "vmx", "svm", or NULL for neither
 * (the kvm_pvm module, or a CPU whose flags show neither: guest kernel-mode
 * code is then emulated).
 */
static const char *host_virt_flag(void)
{
	const char *flag = NULL;
	char line[4096];
	FILE *f;

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return NULL;
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		flag = strstr(line, " vmx") ? "vmx" : strstr(line, " svm") ? "svm" : NULL;
		break;
	}
	fclose(f);
	return flag;
}

int kvm_host__open(struct kvm_host *host)
{
	const char *virt;
	int fd, version;

	memset(host, 0, sizeof(*host));
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		log_error("cannot open /dev/kvm: %s", strerror(e));
		return -e;
	}
	version = kvm_ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_error("/dev/kvm speaks API version %d, vmscope needs %d", version,
			  KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	host->kvm_fd = fd;
	host->vcpu_mmap_size = kvm_ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (host->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		if (host->vcpu_mmap_size < 0)
			log_error("%s", kvm_ioctl__why());
		else
			log_error("KVM_GET_VCPU_MMAP_SIZE: smaller than struct kvm_run");
		close(fd);
		return -ENOTSUP;
	}
	host->max_vcpus = check_extension(fd, KVM_CAP_MAX_VCPUS);
	if (host->max_vcpus == 0)
		host->max_vcpus = check_extension(fd, KVM_CAP_NR_VCPUS);
	if (host->max_vcpus == 0)
		host->max_vcpus = 4;
	host->cap_guest_debug = check_extension(fd, KVM_CAP_SET_GUEST_DEBUG) > 0;
	host->cap_guest_debug_hw_bps = check_extension(fd, KVM_CAP_GUEST_DEBUG_HW_BPS);
	host->cap_readonly_mem = check_extension(fd, KVM_CAP_READONLY_MEM) > 0;
	host->cap_msr_filter = check_extension(fd, KVM_CAP_X86_MSR_FILTER) > 0;
	host->cap_user_space_msr = check_extension(fd, KVM_CAP_X86_USER_SPACE_MSR) > 0;
	host->cap_immediate_exit = check_extension(fd, KVM_CAP_IMMEDIATE_EXIT) > 0;
	virt = host_virt_flag();
	host->emulated = !virt;
	host->svm = virt && strcmp(virt, "svm") == 0;
	if (!host->cap_immediate_exit) {
		log_error("this KVM lacks KVM_CAP_IMMEDIATE_EXIT, which vmscope needs to stop vCPUs");
		close(fd);
		return -ENOTSUP;
	}
	host_debug__probe(fd, host->vcpu_mmap_size, host->cap_guest_debug, &host->dbg);
	return 0;
}

void kvm_host__close(struct kvm_host *host)
{
	if (host->kvm_fd > 0)
		close(host->kvm_fd);
	host->kvm_fd = -1;
}
