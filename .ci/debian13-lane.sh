#!/usr/bin/env bash
# debian13-lane.sh: the real-tool integration tests against Debian 13's rpm 4.20
# (rpm-sequoia), dnf 4.23 and createrepo_c 1.2.
#
# Builds the test binaries of the packages whose tests call rpm, dnf and createrepo_c, and a
# static hotchain, all with CGO_ENABLED=0 so they need nothing from the root, and runs them
# chrooted into the cached root of debian13-root.sh. The root is the lower layer of an
# overlay in a private mount namespace (unshare -m) with /proc, /dev, /sys and a tmpfs /tmp:
# the cached root stays as it was, nothing is mounted on the host, and every mount goes
# away with the namespace when the lane ends. Go is not needed inside the root.
#
# Prints, per package, the result of every test; the whole verbose log of a failing one.
# DEBIAN13_RUN=REGEXP runs only the tests it matches (go test -run); DEBIAN13_LOGS=DIR keeps
# the verbose logs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages whose tests use the real tools, as go test -c builds them.
pkgs=(internal/sign packaging repo repo/dnf cmd/hotchain)
# Tests that need the Go toolchain itself, or systemd (not in the root); the Debian 12 lane
# runs them.
skip='^(TestGoVet|TestGoModTidy|TestImportLayers|TestRecoverUnitVerifies)$'

root=$(bash .ci/debian13-root.sh)
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/hotchain-debian13.XXXXXX")
trap 'rm -rf "$work"' EXIT
lane=$work/lane
mkdir -p "$lane/test" "$lane/bin" "$lane/src" "$lane/log" "$work/upper" "$work/ovl" "$work/mnt"

export CGO_ENABLED=0
go build -trimpath -o "$lane/bin/hotchain" ./cmd/hotchain
for p in "${pkgs[@]}"; do
	go test -c -o "$lane/test/${p//\//_}.test" "./$p"
done
# The tests read their testdata relative to their package directory.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$lane/src" 2>/dev/null || true
else
	tar --exclude=./.git --exclude=./bin --exclude=./demo -cf - . | tar -xf - -C "$lane/src"
fi
cp .ci/debian13-run.sh "$lane/run.sh"
built=$(date +%s)

rc=0
unshare -m --propagation private bash -euc '
	root=$1 work=$2
	mnt=$work/mnt
	mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl" "$mnt"
	mount -t proc proc "$mnt/proc"
	mount --rbind /dev "$mnt/dev"
	mount --rbind /sys "$mnt/sys"
	mount -t tmpfs -o mode=1777 tmpfs "$mnt/tmp"
	mkdir -p "$mnt/lane"
	mount --bind "$work/lane" "$mnt/lane"
	cp /etc/resolv.conf "$mnt/etc/resolv.conf" 2>/dev/null || true
	exec chroot "$mnt" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TMPDIR=/tmp CI=1 HOTCHAIN_LANE=debian13 HOTCHAIN_BIN=/lane/bin/hotchain \
		SKIP="$3" RUN="$4" bash /lane/run.sh "${@:5}"
' lane "$root" "$work" "$skip" "${DEBIAN13_RUN:-}" "${pkgs[@]}" || rc=$?

if [ -n "${DEBIAN13_LOGS:-}" ]; then
	mkdir -p "$DEBIAN13_LOGS" && cp "$lane"/log/*.log "$DEBIAN13_LOGS"/
fi
echo "debian13 lane: root $root; build $((built - start))s, tests $(($(date +%s) - built))s"
exit $rc
