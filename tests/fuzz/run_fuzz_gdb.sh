#!/bin/sh
# Fuzzes the GDB stub's packet parser for a bounded time.
#   run_fuzz_gdb.sh PLAIN_DRIVER SOURCE_ROOT SECONDS
# With clang: builds a libFuzzer target (with ASan and UBSan) and runs it for
# SECONDS; without clang, or when that build fails, runs the plain driver
# (built by meson with the project's flags, sanitizers included when asked).
set -u
driver=$1 src=$2 secs=${3:-10}
clang=$(command -v clang || true)
if [ -n "$clang" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT INT TERM
	if "$clang" -g -O1 -std=c17 -D_GNU_SOURCE -DVMSCOPE_LIBFUZZER \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I"$src/include" -I"$src/src" \
		"$src/tests/fuzz/fuzz_gdb_packet.c" "$src/src/gdb/packet.c" \
		"$src/src/gdb/commands.c" "$src/src/gdb/exec.c" "$src/src/gdb/query.c" \
		"$src/src/gdb/regs_mem.c" "$src/src/gdb/reply.c" "$src/src/gdb/threads.c" \
		"$src/src/gdb/target_xml.c" \
		-o "$tmp/fuzz" 2>"$tmp/build.log"; then
		mkdir "$tmp/corpus"
		for s in '?' g 'm1000,10' 'M10,2:abcd' 'Z0,10,1' 'vCont;s:1;c' \
			'qXfer:features:read:target.xml:0,fff' 'qSupported:swbreak+'; do
			printf '\000%s' "$s" >"$tmp/corpus/$(echo "$s" | md5sum | cut -c1-8)"
		done
		echo "fuzz_gdb_packet: libFuzzer (clang), $secs s"
		(cd "$tmp" && "$tmp/fuzz" -max_total_time="$secs" -max_len=20000 \
			-print_final_stats=1 "$tmp/corpus")
		exit $?
	fi
	echo "clang could not build the libFuzzer target; falling back to the plain driver:"
	cat "$tmp/build.log"
fi
exec "$driver" "$secs"
