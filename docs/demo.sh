#!/usr/bin/env bash
# hotchain's main job on a sandbox: the vendor builds a signed hotfix chain for shop 6.14.2,
# publishes it as a yum/dnf repository with `hotchain serve`, and a host (an installroot
# under ./demo/host with the product installed) takes it in with the agent: -check,
# -console, then a cron run for the next hotfix, and dnf remove to roll one back.
# Everything stays in ./demo; run it again at will. Needs root (installroots), dnf, rpm and a
# static busybox (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."
HC=$PWD/bin/hotchain
DEMO=$PWD/demo
H=$DEMO/host
rm -rf "$DEMO"
mkdir -p "$DEMO"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
code() { set +e; "$@"; rc=$?; set -e; echo "(exit $rc)"; }

say "Vendor: a signing key and hotfix directories 6.14.2.1 to 6.14.2.4"
run "$HC" keygen -name "Shop Hotfixes" -email hotfixes@shop.example -out "$DEMO/vendor" >/dev/null
hotfix() { # N: a hotfix that fixes the cart and adds a module
	local d=$DEMO/src/shop-hotfix-6.14.2.$1
	mkdir -p "$d/FileChanges/lib/Shop" "$d/Install"
	echo "6.14.2.$1" > "$d/version.txt"
	printf 'SHOP-%d Cart total is wrong in case %d\n' $((100 + $1)) "$1" > "$d/fixed-bugs.txt"
	echo "package Shop::Cart; # 6.14.2.$1" > "$d/FileChanges/lib/Shop/Cart.pm"
	echo "package Shop::Fix$1; 1;" > "$d/FileChanges/lib/Shop/Fix$1.pm"
	echo 'echo "  [Install/10-caches.sh] clearing caches for $HOTFIX_VERSION"' > "$d/Install/10-caches.sh"
}
for n in 1 2 3 4; do hotfix $n; done
find "$DEMO/src/shop-hotfix-6.14.2.1" -type f | sort | sed "s|$DEMO/||"

say "Vendor: publish 6.14.2.1-3 and the base RPM, signed, served on 127.0.0.1"
mkdir -p "$DEMO/repos/6.14.2"
"$HC" serve -dir "$DEMO/repos" -listen 127.0.0.1:0 > "$DEMO/serve.out" 2> "$DEMO/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q http "$DEMO/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$DEMO/serve.out" | sed 's|/$||')
for n in 1 2 3; do
	run "$HC" build -product shop -sign-key "$DEMO/vendor.asc" -tarball-key "$DEMO/vendor.pem" \
		-out "$DEMO/repos/6.14.2" "$DEMO/src/shop-hotfix-6.14.2.$n"
done
run "$HC" build-base -product shop -base-version 6.14.2 -repo-url "$URL" -sign-key "$DEMO/vendor.asc" \
	-tarball-key "$DEMO/vendor.pem" -binary "$HC" -out "$DEMO/repos/6.14.2"
run "$HC" repo -sign-key "$DEMO/vendor.asc" -base-url "$URL" "$DEMO/repos/6.14.2"
ls "$DEMO/repos/6.14.2" "$DEMO/repos/6.14.2/repodata"

say "Host: shop 6.14.2 in an installroot; hotfixes enabled with the base RPM"
mkdir -p "$H/bin" "$H/tmp" "$H/var/tmp" "$H/opt/shop/lib/Shop" "$H/etc/yum.repos.d" "$H/etc/pki/rpm-gpg"
cp "$(command -v busybox)" "$H/bin/busybox"
for a in sh cat echo mkdir rm; do ln -sf busybox "$H/bin/$a"; done
echo 6.14.2 > "$H/opt/shop/version.txt"
echo 'package Shop::Cart; # 6.14.2' > "$H/opt/shop/lib/Shop/Cart.pm"
cp "$DEMO/repos/6.14.2/shop-hotfix.repo" "$H/etc/yum.repos.d/"
cp "$DEMO/repos/6.14.2/RPM-GPG-KEY-shop-hotfix" "$H/etc/pki/rpm-gpg/"
DNF=(dnf -q -y --installroot="$H" --releasever=1
	--setopt=shop-hotfix.gpgkey=file://$H/etc/pki/rpm-gpg/RPM-GPG-KEY-shop-hotfix)
run "${DNF[@]}" install shop-hotfix-base
# The host's settings: no random wait for the demo, and the release version that an
# installroot without a system-release package needs.
cat >> "$H/etc/sysconfig/shop-hotfix" <<'CFG'
HOSTNAME=demohost
RANDOMWAIT=0
YUM_PARAMETER="--disablerepo '*' --enablerepo shop-hotfix --releasever=1"
CFG
A=("$HC" agent -root "$H")

say "Host: what is pending?"
code run "${A[@]}" -check

say "Host: install on the console (dnf installs 1, 2, 3 in one transaction; each %post applies)"
run "${A[@]}" -console
run "$HC" status -root "$H"
run "$HC" verify -root "$H"
cat "$H/opt/shop/lib/Shop/Cart.pm"

say "Vendor: publish 6.14.2.4"
run "$HC" build -product shop -sign-key "$DEMO/vendor.asc" -out "$DEMO/repos/6.14.2" "$DEMO/src/shop-hotfix-6.14.2.4"
run "$HC" repo -sign-key "$DEMO/vendor.asc" -base-url "$URL" "$DEMO/repos/6.14.2"

say "Host: the nightly cron run (/etc/cron.daily/shop-hotfix) installs it and reports"
cat "$H/etc/cron.daily/shop-hotfix"
run "${A[@]}"
run "$HC" status -root "$H"

say "Host: dnf remove shop-hotfix-6_14_2_3 rolls back 4, then 3 (%preun)"
run "${DNF[@]}" remove --setopt=clean_requirements_on_remove=False shop-hotfix-6_14_2_3
cat "$H/opt/shop/lib/Shop/Cart.pm"
run "$HC" status -root "$H"
