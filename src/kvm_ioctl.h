/*
 * The KVM ioctls, named, as the KVM selftests' vm_ioctl and vcpu_ioctl:
 * each returns what the ioctl returns, or -errno (errno kept), and a
 * failure leaves "KVM_NAME: reason" for this thread's next message
 * (kvm_ioctl__why), so that no call site composes its own.
 */
#ifndef VMSCOPE_KVM_IOCTL_H
#define VMSCOPE_KVM_IOCTL_H

#include <stdint.h>

int kvm__ioctl(int fd, unsigned long request, void *arg, const char *name);

/* The last failed KVM ioctl of this thread: "KVM_SET_SREGS: Invalid argument". */
const char *kvm_ioctl__why(void);

#define kvm_ioctl(fd, request, arg) kvm__ioctl((fd), (request), (void *)(uintptr_t)(arg), #request)
#define vm_ioctl(vm, request, arg) kvm_ioctl((vm)->vm_fd, request, arg)
#define vcpu_ioctl(vcpu, request, arg) kvm_ioctl((vcpu)->fd, request, arg)

#endif
