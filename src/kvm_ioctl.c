/* The named KVM ioctls (kvm_ioctl.h). */
#include "kvm_ioctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

static _Thread_local char why[128];

int kvm__ioctl(int fd, unsigned long request, void *arg, const char *name)
{
	int r = ioctl(fd, request, arg);
	int e = errno;

	if (r >= 0)
		return r;
	snprintf(why, sizeof(why), "%s: %s", name, strerror(e));
	errno = e;
	return -e;
}

const char *kvm_ioctl__why(void)
{
	return why[0] ? why : "no KVM ioctl has failed";
}
