package mailer

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Sendmail pipes the message to a local mail binary. Two kinds are known by Path's base name:
//   - mail, mailx, s-nail: the body goes to `Path Args... -s SUBJECT TO...` (mail writes the
//     headers itself);
//   - anything else is sendmail-compatible: the formatted message goes to `Path Args...`, Args
//     defaulting to -t -i (recipients from the headers, a lone dot is not the end).
type Sendmail struct {
	Path string
	Args []string
}

// maxStderr bounds how much of the binary's complaint goes into an error.
const maxStderr = 2048

// Send runs the binary, bounded by DefaultTimeout when ctx has no deadline.
func (s Sendmail) Send(ctx context.Context, m Message) error {
	if err := check(m, false); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	args := append([]string(nil), s.Args...)
	var stdin []byte
	if s.mailStyle() {
		args = append(args, "-s", oneLine(m.Subject))
		for _, a := range m.To {
			args = append(args, strings.TrimSpace(a))
		}
		stdin = []byte(plainBody(m.Body))
	} else {
		if len(args) == 0 {
			args = []string{"-t", "-i"}
		}
		// sendmail reads local text: lines end in LF (it would keep a CR as part of the line).
		stdin = bytes.ReplaceAll(Format(m, time.Now()), []byte("\r\n"), []byte("\n"))
	}

	cmd := exec.CommandContext(ctx, s.Path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr // what a failing sendmail prints on either stream explains the failure
	cmd.Stderr = &stderr
	// A sendmail that forks a daemon keeping our pipes open must not hold the run after a kill.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > maxStderr {
			msg = msg[:maxStderr] + "..."
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", err, ctx.Err())
		}
		if msg != "" {
			return fmt.Errorf("send mail with %s: %w: %s", s.Path, err, msg)
		}
		return fmt.Errorf("send mail with %s: %w", s.Path, err)
	}
	return nil
}

func (s Sendmail) mailStyle() bool {
	switch filepath.Base(s.Path) {
	case "mail", "mailx", "s-nail", "Mail":
		return true
	}
	return false
}

// plainBody is the body as mail wants it on stdin: valid UTF-8, LF line ends, a final newline.
func plainBody(body string) string {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return body
}
