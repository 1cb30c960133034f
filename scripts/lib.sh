# Shared by the scripts in this folder (sourced, not run): every way they can
# fail ends in one line that says what failed and what to do about it.

# die MESSAGE...: one line on stderr, exit status 1.
die() {
	echo "vmscope: $*" >&2
	exit 1
}

# configure DIR [MESON-OPTIONS...]: meson setup, quietly when it works.  A
# directory that an earlier failed setup left half-configured (meson's files
# but no build.ninja) is set up afresh instead of failing again; a configured
# one is reconfigured, so options and newly installed packages are seen.
# On failure: meson's own ERROR line, and where its whole output is.
configure() {
	local dir=$1; shift
	local log="$dir.setup.log" mode=()

	if [ -f "$dir/build.ninja" ]; then
		mode=(--reconfigure)
	elif [ -d "$dir/meson-private" ]; then
		mode=(--wipe)
	fi
	if ! meson setup "${mode[@]}" "$dir" "$@" >"$log" 2>&1; then
		# --wipe needs the options of a setup that got far enough to save them.
		if [ "${mode[*]}" = --wipe ] && rm -rf "$dir" && meson setup "$dir" "$@" >"$log" 2>&1; then
			rm -f "$log"
			return 0
		fi
		local why
		why=$(grep -m1 -E '^(ERROR|meson\.build:[0-9]+:[0-9]+: ERROR)' "$log" || tail -n1 "$log")
		die "meson setup $dir failed: ${why:-no output} (all of meson's output: $log)"
	fi
	rm -f "$log"
}

# build DIR: ninja, quietly when it works; on failure the compiler's errors,
# then one line naming the directory.
build() { # dir [target...]: all of it, or only the targets named
	local dir=$1 log="$1.build.log"

	shift
	if ! ninja -C "$dir" "$@" >"$log" 2>&1; then
		grep -E -m20 'error|FAILED' "$log" >&2 || tail -n20 "$log" >&2
		die "building in $dir failed (all of ninja's output: $log)"
	fi
	rm -f "$log"
}
