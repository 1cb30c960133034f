/*
 * Tests that need /dev/kvm call kvm_required() first.  Without KVM they skip
 * (exit 77, which meson reports as SKIP) unless VMSCOPE_REQUIRE_KVM=1, when
 * they fail: CI sets it, so a CI machine without KVM cannot pass silently.
 */
#ifndef VMSCOPE_TESTS_KVM_REQUIRED_H
#define VMSCOPE_TESTS_KVM_REQUIRED_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_EXIT_SKIP 77

static inline void kvm_required(void)
{
	const char *require = getenv("VMSCOPE_REQUIRE_KVM");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (require && strcmp(require, "1") == 0) {
		fprintf(stderr, "FAIL: /dev/kvm is not usable and VMSCOPE_REQUIRE_KVM=1\n");
		exit(1);
	}
	fprintf(stderr, "SKIP: /dev/kvm is not usable (set VMSCOPE_REQUIRE_KVM=1 to fail instead)\n");
	exit(TEST_EXIT_SKIP);
}

#endif
