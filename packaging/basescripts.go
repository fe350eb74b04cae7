package packaging

import "fmt"

// The files and scriptlets of the base RPM that run hotchain on a host. Each passes -config
// explicitly, so a host with several products never guesses.

// cronScript is /etc/cron.daily/shop-hotfix: the agent with the original command line, so
// `/etc/cron.daily/shop-hotfix -check` works as it always did.
func cronScript(product string) string {
	return fmt.Sprintf("#!/bin/sh\nexec %s agent -config %s \"$@\"\n", HotchainPath, ConfigPath(product))
}

// initScript is /etc/init.d/shop-hotfix: the service switch that enables or disables the
// nightly runs, as `service shop-hotfix stop` always did. Its start first runs `hotchain
// recover`, which finishes or undoes a hotfix apply that a crash or a power loss interrupted:
// at boot on hosts without systemd, it starts at 11, after the network (10) that a resumed
// apply's Install scripts and health check may need, and before the product's services
// (which start later); a failed recovery does not keep the nightly runs off, but start then
// exits with its status.
func initScript(product string) string {
	id := product + "-hotfix"
	return fmt.Sprintf(`#!/bin/sh
#
# %[1]s	Enables or disables the nightly %[2]s hotfix runs; at start, finishes
#		or undoes a hotfix apply that a crash interrupted.
#
# chkconfig: 345 11 01
# description: Enables or disables the nightly %[2]s hotfix runs (hotchain agent).
#
### BEGIN INIT INFO
# Provides: %[1]s
# Required-Start: $local_fs
# Required-Stop: $local_fs
# Default-Start: 3 4 5
# Default-Stop: 0 1 6
# Short-Description: Enables or disables the nightly %[2]s hotfix runs
### END INIT INFO

case "$1" in
start)
    %[3]s recover -config %[4]s
    rc=$?
    %[3]s service start -config %[4]s || exit $?
    exit $rc
    ;;
stop|status)
    exec %[3]s service "$1" -config %[4]s
    ;;
restart|force-reload)
    %[3]s service stop -config %[4]s || exit $?
    exec %[3]s service start -config %[4]s
    ;;
*)
    echo "usage: $0 start|stop|status|restart" >&2
    exit 2
    ;;
esac
`, id, product, HotchainPath, ConfigPath(product))
}

// systemdService runs the agent once, as the cron job does.
func systemdService(product string) string {
	return fmt.Sprintf(`[Unit]
Description=%[1]s hotfix agent: installs pending %[1]s hotfixes
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=%[2]s agent -config %[3]s
`, product, HotchainPath, ConfigPath(product))
}

// RecoverUnit is the name of the base RPM's systemd unit that runs `hotchain recover` at boot.
func RecoverUnit(product string) string { return product + "-hotfix-recover.service" }

// systemdRecover runs `hotchain recover` at boot: a hotfix apply or rollback that a crash or a
// power loss interrupted is finished or undone before the product starts. It comes after the
// network because a resumed apply runs the rest of its Install scripts and its health check,
// which may need it; before the nightly agent unit. The product's own units are not known
// here: they wait for it with After=%[1]s-hotfix-recover.service (a drop-in; see the
// README). Type=oneshot has no start timeout: a timeout would kill an apply halfway.
func systemdRecover(product string) string {
	return fmt.Sprintf(`# Finishes or undoes %[1]s hotfix applies and rollbacks that a crash or a power loss
# interrupted (hotchain recover). The product's services should start after it: give them
# After=%[2]s in a drop-in.
[Unit]
Description=Finish or undo interrupted %[1]s hotfix applies
Wants=network-online.target
After=local-fs.target network-online.target
Before=%[1]s-hotfix.service

[Service]
Type=oneshot
ExecStart=%[3]s recover -config %[4]s

[Install]
WantedBy=multi-user.target
`, product, RecoverUnit(product), HotchainPath, ConfigPath(product))
}

// systemdTimer is the alternative to the cron job, for hosts without crond. It is not
// enabled by the package: a host runs one of the two.
func systemdTimer(product string) string {
	return fmt.Sprintf(`# The daily %[1]s hotfix run for hosts without crond, instead of
# /etc/cron.daily/%[1]s-hotfix: systemctl enable --now %[1]s-hotfix.timer
[Unit]
Description=Daily %[1]s hotfix agent run

[Timer]
OnCalendar=daily
Persistent=true

[Install]
WantedBy=timers.target
`, product)
}

// basePost enables the nightly runs and the boot recovery unit on the first install; an
// upgrade keeps the admin's choice (a host stopped on purpose stays stopped). systemctl
// enable works without a running systemd (in an image build, an installroot); a host
// without systemctl runs the init script's start instead.
func basePost(product string) string {
	return fmt.Sprintf(`# Enable nightly hotfix runs and the recovery at boot on first install; an upgrade keeps
# the current choice.
if [ "$1" = 1 ]; then
    %[1]s service start -config %[2]s || :
    if command -v systemctl >/dev/null 2>&1; then
        systemctl enable %[3]s >/dev/null 2>&1 || :
    fi
fi
`, HotchainPath, ConfigPath(product), RecoverUnit(product))
}

// basePreun disables the nightly runs on erase, waiting for a running install as
// SERVICE_WAITS says, and the boot recovery unit.
func basePreun(product string) string {
	return fmt.Sprintf(`# Disable nightly hotfix runs on erase, after a running install has finished.
if [ "$1" = 0 ]; then
    %[1]s service stop -config %[2]s || :
    if command -v systemctl >/dev/null 2>&1; then
        systemctl disable %[3]s >/dev/null 2>&1 || :
    fi
fi
`, HotchainPath, ConfigPath(product), RecoverUnit(product))
}
