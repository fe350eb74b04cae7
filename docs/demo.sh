#!/usr/bin/env bash
# The main job of hotchain on a sandbox: a host root under ./demo/host with shop 6.14.2
# installed, a chain of three hotfixes applied to it and rolled back. Everything stays inside
# ./demo; run it again at will.
set -euo pipefail
cd "$(dirname "$0")/.."
HC=$PWD/bin/hotchain
DEMO=$PWD/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
H=$DEMO/host
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A host with shop 6.14.2 and its hotfix settings"
mkdir -p "$H/etc/sysconfig" "$H/opt/shop/lib/Shop" "$H/var/opt/shop/Patches"
cat > "$H/etc/sysconfig/shop-hotfix" <<'CFG'
PRODUCT=shop
HOSTNAME=demohost
RANDOMWAIT=0
CFG
echo 6.14.2 > "$H/opt/shop/version.txt"
echo 'package Shop::Cart; # 6.14.2' > "$H/opt/shop/lib/Shop/Cart.pm"
echo 'package Shop::Core; # 6.14.2' > "$H/opt/shop/lib/Shop/Core.pm"
find "$H/opt" -type f | sort

say "The vendor's hotfix directories 6.14.2.1 to 6.14.2.3"
SRC=$DEMO/src
for n in 1 2 3; do
	d=$SRC/shop-hotfix-6.14.2.$n
	mkdir -p "$d/FileChanges/lib/Shop" "$d/Install"
	echo "6.14.2.$n" > "$d/version.txt"
	printf 'SHOP-%d0%d Cart total is wrong for hotfix %d\n' $n $n $n > "$d/fixed-bugs.txt"
	echo "package Shop::Cart; # 6.14.2.$n" > "$d/FileChanges/lib/Shop/Cart.pm"
	printf 'echo "  [%s] updating caches for $HOTFIX_VERSION"\n' "10-caches" > "$d/Install/10-caches.sh"
done
echo 'package Shop::Payment; # new in 6.14.2.2' > "$SRC/shop-hotfix-6.14.2.2/FileChanges/lib/Shop/Payment.pm"
find "$SRC" -type f | sort | sed "s|$DEMO/||"

say "Apply the chain in order (what each hotfix RPM's %post runs)"
for n in 1 2 3; do
	cp -a "$SRC/shop-hotfix-6.14.2.$n" "$H/var/opt/shop/Patches/"
	run "$HC" apply -root "$H" "$H/var/opt/shop/Patches/shop-hotfix-6.14.2.$n"
done

say "Hotfix 3 again, and out of order: refused"
run "$HC" apply -root "$H" "$H/var/opt/shop/Patches/shop-hotfix-6.14.2.3" || true

say "Status and verify"
run "$HC" status -root "$H"
run "$HC" verify -root "$H"

say "Roll the chain back, newest first"
for n in 3 2 1; do run "$HC" rollback -root "$H"; done
run "$HC" status -root "$H"
cat "$H/opt/shop/lib/Shop/Cart.pm"
