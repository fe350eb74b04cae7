#!/usr/bin/env bash
# debian13-run.sh: runs inside the Debian 13 root (debian13-lane.sh copies it to /lane):
# every test binary in /lane/test, each in its package directory under /lane/src.
# Arguments: the package directories. SKIP: tests not to run; RUN: only these (go test -run).
set -uo pipefail

echo "debian13 lane: $(. /etc/os-release && echo "$PRETTY_NAME"), $(rpm --version), dnf $(dnf --version 2>/dev/null | head -n1), createrepo_c $(createrepo_c --version | sed 's/^Version: //')"
rc=0
for p in "$@"; do
	bin=/lane/test/${p//\//_}.test
	log=/lane/log/${p//\//_}.log
	t0=$(date +%s)
	(cd "/lane/src/$p" && "$bin" -test.v -test.count=1 -test.timeout=15m -test.skip="$SKIP" ${RUN:+-test.run="$RUN"}) >"$log" 2>&1
	code=$?
	grep -E '^ *--- (PASS|FAIL|SKIP)' "$log" | sed "s|^|$p: |"
	if [ $code -ne 0 ]; then
		rc=1
		echo "FAIL $p ($(($(date +%s) - t0))s): the whole log follows"
		cat "$log"
	else
		echo "ok   $p ($(($(date +%s) - t0))s)"
	fi
done
exit $rc
