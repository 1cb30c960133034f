#!/bin/sh
# run_fuzz_linux.sh MAKE_DUMP DUMPDIR FUZZER SECONDS: makes the linux suite's
# dumps when missing (exit 77, "skipped", without QEMU), then fuzzes the
# KASLR one for SECONDS.
make_dump=$1 dir=$2 fuzzer=$3 secs=$4
python3 "$make_dump" "$dir" || exit $?
exec "$fuzzer" "$dir/kaslr.core" "$secs"
