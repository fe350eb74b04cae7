#!/usr/bin/env bash
# debian13-root.sh: make (once) a Debian 13 (trixie) root with rpm 4.20, dnf 4.23 and
# createrepo_c 1.2 for the second test lane, and print its path.
#
# The root is cached outside the work tree, in
# ${HOTCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotchain}/debian13-<hash>, where the hash
# covers the suite and the package list: CI runs in a fresh clone on the same machine and
# reuses it; a changed package list makes a new one. It is built in a temporary directory
# beside that and renamed when debootstrap has finished, so a killed build never leaves a
# half root that a later run would take for a cached one.
#
# The mirror is the one this machine's apt uses (DEBIAN13_MIRROR overrides it): the first
# URI of /etc/apt/sources.list or /etc/apt/sources.list.d/*.list|*.sources that serves the
# machine's own release. Needs root (debootstrap); installs debootstrap with apt if missing.
set -euo pipefail

suite=trixie
# What the real-tool tests call, plus a static busybox for the /bin/sh of dnf installroots.
packages=rpm,rpm2cpio,dnf,createrepo-c,busybox-static,cpio,gnupg,openssl,perl,xz-utils,zstd

die() { printf 'debian13-root: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root
hint: run make test as root, as CI does"

cache=${HOTCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotchain}
hash=$(printf '%s %s minbase\n' "$suite" "$packages" | sha256sum | cut -c1-12)
root=$cache/debian13-$hash
if [ -x "$root/usr/bin/rpm" ]; then
	echo "$root"
	exit 0
fi

# mirror prints the URI of the first enabled apt source for the machine's release
# (bookworm, not bookworm-security or another vendor's suite).
mirror() {
	local codename f
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || return 1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case $f in
		*.sources) # deb822 stanzas, separated by blank lines
			awk -v want="$codename" '
				function flush() {
					if (deb && enabled && uri != "" && (" " suites " ") ~ (" " want " ")) { print uri; exit }
					deb = 0; enabled = 1; uri = ""; suites = ""
				}
				BEGIN { enabled = 1 }
				/^[ \t]*$/ { flush(); next }
				tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
				tolower($1) == "uris:" { uri = $2 }
				tolower($1) == "suites:" { for (i = 2; i <= NF; i++) suites = suites " " $i }
				tolower($1) == "enabled:" && tolower($2) == "no" { enabled = 0 }
				END { flush() }
			' "$f" ;;
		*) # one-line style: deb [options] URI SUITE COMPONENTS
			awk -v want="$codename" '
				$1 == "deb" {
					i = 2
					if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
					if ($(i + 1) == want) { print $i; exit }
				}
			' "$f" ;;
		esac
	done | head -n1
}

url=${DEBIAN13_MIRROR:-$(mirror || true)}
[ -n "$url" ] || die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d
hint: set DEBIAN13_MIRROR to the URL of a Debian archive that serves $suite"

if ! command -v debootstrap >/dev/null 2>&1; then
	echo "debian13-root: installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mkdir -p "$cache"
# One build at a time; the second waits and then finds the root made.
exec 9>"$cache/debian13.lock"
flock 9
if [ -x "$root/usr/bin/rpm" ]; then
	echo "$root"
	exit 0
fi
# Leftovers of killed builds (the lock says none is running).
rm -rf "$cache"/debian13-*.partial.*

tmp=$(mktemp -d "$root.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$cache/debian13-$hash.log
echo "debian13-root: debootstrap $suite from $url into $root (first run only, one to five minutes; log $log)" >&2
start=$(date +%s)
# In a private mount namespace, so the /proc and /sys that debootstrap mounts inside the
# target go away with it even when it is killed.
if ! unshare -m --propagation private \
	debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$url" >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	die "debootstrap $suite from $url failed (log $log)
hint: DEBIAN13_MIRROR=URL make debian13-root takes another mirror"
fi
# The downloaded .debs are not needed any more.
rm -rf "$tmp"/var/cache/apt/archives/*.deb
for tool in rpm rpmbuild dnf createrepo_c busybox cpio rpm2cpio gpg openssl xz zstd; do
	chroot "$tmp" sh -c "command -v $tool" >/dev/null || die "$tool is missing in the new root (log $log)"
done
chmod 755 "$tmp"
mv -T "$tmp" "$root"
trap - EXIT
echo "debian13-root: made in $(($(date +%s) - start))s" >&2
# Roots of older package lists are not used any more (a few hundred MB each).
for old in "$cache"/debian13-*; do
	case $old in
	"$root" | "$root".log | *.lock) ;;
	*) rm -rf "$old" ;;
	esac
done
echo "$root"
