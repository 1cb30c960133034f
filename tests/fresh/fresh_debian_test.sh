#!/usr/bin/env bash
# The README's two commands on a truly fresh Debian 12: a minimal root built
# with mmdebstrap (variant minbase, plus git to clone with) in a temporary
# folder, /dev (with /dev/kvm), /proc and /sys bound in, the repository
# cloned into it, then, as a new user would:
#   scripts/demo.sh              must show the LSTAR write and system calls with their tasks, status 0
#   scripts/test.sh unit kvm     must pass (both builds, normal and ASan + UBSan)
# The root is new every run; only downloaded .deb files are kept between runs
# (in CACHE_DIR), to save time.  The root uses this machine's apt sources (the
# registry it reaches) and nothing else of the host's.
#   fresh_debian_test.sh SOURCE_DIR CACHE_DIR
set -u
SRC=$1 CACHE=$2
fail() { echo "FAIL: $*"; exit 1; }
cannot() { # a machine that cannot run this test: fatal in CI, a skip elsewhere
	[ "${VMSCOPE_REQUIRE_KVM:-}" = 1 ] && fail "$*"
	echo "SKIP: $*"; exit 77
}

[ "$(id -u)" = 0 ] || cannot "building a Debian root needs root"
command -v mmdebstrap >/dev/null || cannot "no mmdebstrap (scripts/deps.sh test installs it)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || cannot "no usable /dev/kvm"
git -C "$SRC" rev-parse HEAD >/dev/null 2>&1 || fail "$SRC is not a git checkout"

# Everything below runs in a mount namespace of its own: every bind mount
# goes away with it, however the test ends.
if [ -z "${FRESH_IN_NS:-}" ]; then
	FRESH_IN_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

mkdir -p "$CACHE" || fail "cannot create the package cache $CACHE"
root=$(mktemp -d /var/tmp/vmscope-fresh.XXXXXX) || fail "mktemp"
# Every mount under the root, deepest first, lazily (a mount still busy is
# detached all the same), so that rm never reaches the package cache or the
# repository through one.  (umount -R would need the root itself mounted.)
cleanup() {
	awk -v r="$root/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT

sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || fail "this machine has no apt sources to build a root from"

echo "== mmdebstrap minbase bookworm into $root"
t0=$SECONDS
mmdebstrap --variant=minbase --include=git,ca-certificates --skip=essential/unlink \
	--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
	--setup-hook="sync-in $CACHE /var/cache/apt/archives/" \
	--customize-hook="sync-out /var/cache/apt/archives $CACHE" \
	bookworm "$root" "${sources[@]}" >"$root.mmdebstrap.log" 2>&1 ||
	{ tail -n 20 "$root.mmdebstrap.log"; rm -f "$root.mmdebstrap.log"; fail "mmdebstrap"; }
rm -f "$root.mmdebstrap.log"
echo "root ready in $((SECONDS - t0)) s: $(chroot "$root" dpkg-query -W | wc -l) packages"

cp /etc/resolv.conf "$root/etc/resolv.conf"
mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" &&
	mount --bind "$CACHE" "$root/var/cache/apt/archives" || fail "bind mounts into the root"
mkdir -p "$root/mnt/origin" && mount --bind -o ro "$SRC" "$root/mnt/origin" || fail "binding the repository"

# A clean environment, as on a new machine's root shell.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		VMSCOPE_REQUIRE_KVM="${VMSCOPE_REQUIRE_KVM:-}" bash -c "$1"
}

in_root 'git clone -q /mnt/origin /root/vmscope' || fail "git clone"
echo "== testing commit $(in_root 'git -C /root/vmscope log -1 --format="%h %s"')"

echo "== the README's first command: scripts/demo.sh"
t0=$SECONDS
demo_status=0
in_root 'cd /root/vmscope && scripts/demo.sh' >"$root/demo.out" 2>&1 || demo_status=$?
cat "$root/demo.out"
echo "(demo: status $demo_status in $((SECONDS - t0)) s)"
[ "$demo_status" = 0 ] || fail "scripts/demo.sh exited with $demo_status"
grep -Eq '^watch: vCPU [0-9]+ wrote LSTAR = 0x[0-9a-f]+' "$root/demo.out" || fail "the demo did not show the LSTAR write"
grep -Eq '^watch: vCPU [0-9]+ task [0-9]+ \([a-z]+\): write\(' "$root/demo.out" ||
	fail "the demo did not show a write system call with its task"
grep -Eq '^watch: [0-9]+ system call\(s\) seen, 4 task exit\(s\)' "$root/demo.out" || fail "the demo did not count the tasks' exits"
grep -q '^vmscope exited with status 0$' "$root/demo.out" || fail "the demo did not report status 0"

echo "== the README's test command: scripts/test.sh unit kvm"
t0=$SECONDS
test_status=0
in_root 'cd /root/vmscope && scripts/test.sh unit kvm' >"$root/test.out" 2>&1 || test_status=$?
grep -E '^ *[0-9]+/[0-9]+ |^vmscope:|FAIL|passed, ' "$root/test.out"
echo "(tests: status $test_status in $((SECONDS - t0)) s)"
[ "$test_status" = 0 ] || { tail -n 60 "$root/test.out"; fail "scripts/test.sh unit kvm exited with $test_status"; }
grep -Eq '^[0-9]+ passed, 0 failed' "$root/test.out" || fail "no closing line with 0 failed"
echo ok
