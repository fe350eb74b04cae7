package mailer

import (
	"fmt"
	"log/syslog"
)

// dialSyslog connects to the local syslog daemon; tests point it at a socket of their own.
var dialSyslog = func(p syslog.Priority, tag string) (*syslog.Writer, error) {
	return syslog.New(p, tag)
}

// Syslog writes one summary line to syslog under tag ("<product>-hotfix"), at LOG_ERR when the
// run failed, else LOG_INFO, with the user facility that logger(1) uses, so filters written for
// the original script keep matching. Without a syslog daemon (no /dev/log, as in containers) it
// returns an error that the caller logs to stderr and otherwise ignores.
func Syslog(tag, line string, failed bool) error {
	sev := syslog.LOG_INFO
	if failed {
		sev = syslog.LOG_ERR
	}
	w, err := dialSyslog(syslog.LOG_USER|sev, tag)
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	defer w.Close()
	line = oneLine(line)
	if failed {
		err = w.Err(line)
	} else {
		err = w.Info(line)
	}
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
}
