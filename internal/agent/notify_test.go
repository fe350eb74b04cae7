package agent

import (
	"io"
	"testing"

	"github.com/hotchain/hotchain/hotfix"
	"github.com/hotchain/hotchain/internal/agent/report"
	"github.com/hotchain/hotchain/internal/testutil"
	"github.com/hotchain/hotchain/repo/dnf"
)

func TestNotificationGolden(t *testing.T) {
	h := newAgentHost(t, "HOST_ROLE=alpha", "SECONDARY_HOSTS=host2")
	h.write("etc/opt/shop/hotfix/host1.txt", "6.14.2.1\n")
	h.write("etc/opt/shop/hotfix/version.txt", "6.14.2.1\n")
	h.load()
	o := h.options(ModeCron)
	o.FillDefaults()
	r := newAgentRun(&o, h.environ)
	v := func(s string) hotfix.Version {
		x, err := hotfix.ParseHotfixVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, s := range []string{"6.14.2.2", "6.14.2.3", "6.14.2.4"} {
		r.Pending = append(r.Pending, dnf.Package{Name: "shop-hotfix-" + s, Hotfix: v(s)})
	}
	r.Installed = []hotfix.Version{v("6.14.2.2")}
	r.ApplyFailed, r.ApplyErr = v("6.14.2.3"), io.ErrUnexpectedEOF
	r.Fail("hotfix 6.14.2.3 is installed but not applied: its apply failed")
	r.Held = []report.Held{{Version: v("6.14.2.4"), Reason: "halted by the vendor", Policy: true}}
	r.Output.Write([]byte("==> applying 6.14.2.2\nComplete!\n"))
	doc, err := r.Notification().Encode()
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/notification.golden", doc)
}
