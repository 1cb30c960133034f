/*
 * Cloud Hypervisor's VmConfig JSON (the body of PUT vm.create) turned into a
 * struct vm_config.  Each field becomes the command-line option that means
 * the same, applied through options__set (src/options.c): the JSON and the
 * command line are validated by the same code and cannot disagree.
 *
 *   payload.kernel, .initramfs, .cmdline      --kernel, --initramfs, --cmdline
 *   cpus.boot_vcpus, .max_vcpus               --cpus boot=,max=
 *   memory.size, .shared                      --memory size=,shared=
 *   disks[].path, .readonly, .direct, .id     --disk (one per element)
 *   net[].tap, .mac, .ip, .mask, .id          --net (one per element)
 *   rng.src                                   --rng src=
 *   serial, console .mode (Off, Null, Tty,    --serial, --console
 *     File) and .file
 *   vmscope.vmi_socket, .vmi_wait,            vmscope's own: --vmi-socket,
 *     .vmi_timeout_ms, .irqchip,                --vmi-wait, --vmi-timeout,
 *     .host_quirks, .gdb.path, .gdb.tcp,        --irqchip, --no-host-quirks,
 *     .gdb.wait, .gdb.allow_remote              --gdb
 *
 * Every other field is refused with its name: Cloud Hypervisor's fields that
 * vmscope lacks as "not supported yet" (null, false or [] for them is
 * accepted: that is what vmscope does anyway), anything else as unknown.
 */
#ifndef VMSCOPE_API_VMCONFIG_H
#define VMSCOPE_API_VMCONFIG_H

#include <json-c/json.h>
#include <stddef.h>

#include "config.h"

#define VMCONFIG_MAX_STRINGS 64

/* A VM's configuration with the strings its pointers lead into. */
struct vm_spec {
	struct vm_config cfg;
	json_object *json;  /* the VmConfig as given (vm.info returns it) */
	unsigned nr_strings;
	char *strings[VMCONFIG_MAX_STRINGS];
};

/*
 * Parses a VmConfig JSON text of len bytes (a complete object, nothing after
 * it but white space).  Returns a new spec, or NULL with one line in err
 * that names the field at fault (or says that memory ran out).
 */
struct vm_spec *vmconfig__parse(const char *text, size_t len, char *err, size_t errlen);

void vm_spec__free(struct vm_spec *spec);

#endif
