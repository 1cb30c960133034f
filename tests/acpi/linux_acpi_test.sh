#!/usr/bin/env bash
# Boots the Debian vmlinux under vmscope with 2 vCPUs until Linux has parsed
# the ACPI tables and counted the CPUs from the MADT (about 40 s on an
# emulating host), then stops it.  Checks what Linux itself reports:
# the RSDP where src/acpi/acpi.h puts it, every table (checksums are verified
# by Linux when it maps them), the PM timer port, both interrupt source
# overrides, and "Allowing 2 CPUs" from the MADT.
#
# usage: linux_acpi_test.sh VMSCOPE FIXTURES_DIR   (make_linux_fixtures.sh output)
# Environment: LINUX_ACPI_TIMEOUT (seconds, default 150).
set -uo pipefail

vmscope=$1 fixtures=$2
timeout=${LINUX_ACPI_TIMEOUT:-150}
[ -r /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
if [ ! -s "$fixtures/vmlinux" ]; then
	echo "FAIL: $fixtures/vmlinux is missing (tests/integration/make_linux_fixtures.sh)"
	exit 1
fi

. "$(dirname "$0")/../integration/linux_serial.sh"
boot_until "smpboot: Allowing" "$timeout" "$vmscope" --kernel "$fixtures/vmlinux" --cpus boot=2 \
	--memory size=256M --cmdline "console=ttyS0 earlyprintk=ttyS0"

want "ACPI: RSDP 0x00000000000E0000 000024 \(v02 VMSCOP\)"
want "ACPI: XSDT 0x00000000000E"
want "ACPI: FACP 0x00000000000E[0-9A-F]{4} 000114 \(v06 VMSCOP"
want "ACPI: DSDT 0x00000000000E"
want "ACPI: FACS 0x00000000000E"
want "ACPI: APIC 0x00000000000E"
want "ACPI: PM-Timer IO Port: 0x608"
want "ACPI: INT_SRC_OVR \(bus 0 bus_irq 0 global_irq 2 dfl dfl\)"
want "ACPI: INT_SRC_OVR \(bus 0 bus_irq 9 global_irq 9 high level\)"
want "ACPI: LAPIC_NMI \(acpi_id\[0xff\] dfl dfl lint\[0x1\]\)"
want "Using ACPI \(MADT\) for SMP configuration"
want "smpboot: Allowing 2 CPUs, 0 hotplug CPUs"
if grep -aiE "ACPI (BIOS )?(Error|Warning)|checksum.*(incorrect|invalid)|Invalid.*table" "$log"; then
	echo "FAIL: Linux complained about the tables (above)"
	failures=$((failures + 1))
fi
if [ $failures -ne 0 ]; then
	echo "--- serial log (ACPI lines) ---"
	grep -a "ACPI" "$log" | head -40
	sed 's/^/vmscope: /' "$vm_log" | tail -5
	exit 1
fi
echo "Linux accepted the ACPI tables"
