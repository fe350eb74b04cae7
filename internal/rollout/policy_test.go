package rollout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotchain/hotchain/hotfix"
)

const goodPolicy = `{
  "schema": "hotchain-rollout/1",
  "revision": 3,
  "issued": "2026-11-20T00:00:00Z",
  "expires": "2026-12-04T00:00:00Z",
  "hotfixes": {
    "6.14.2.1": {"share": 100, "halted": false, "published": "2026-11-01T00:00:00Z"},
    "6.14.2.2": {"share": 50, "halted": true, "withdrawn": "corrupts the cache", "published": "2026-11-10T00:00:00Z"}
  }
}
`

func TestParseGood(t *testing.T) {
	p, err := Parse([]byte(goodPolicy), "rollout.json")
	if err != nil {
		t.Fatal(err)
	}
	v := hotfix.Version{6, 14, 2, 2}
	e := p.Entry(v)
	if p.Revision != 3 || e == nil || e.Share != 50 || !e.Halted || e.Withdrawn != "corrupts the cache" ||
		!e.Published.Equal(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)) || p.Entry(hotfix.Version{6, 14, 2, 3}) != nil {
		t.Errorf("parsed %+v, entry %+v", p, e)
	}
	// Marshal and Parse agree.
	data, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	q, err := Parse(data, "again")
	if err != nil || q.Revision != p.Revision || *q.Entry(v) != *e {
		t.Errorf("round trip: %v, %+v", err, q)
	}
}

// Every field with a bad value is refused with the file, the field and what is wrong.
func TestParseBadFields(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"schema", `"hotchain-rollout/1"`, `"hotchain-rollout/2"`, `schema: "hotchain-rollout/2" is not "hotchain-rollout/1"`},
		{"revision zero", `"revision": 3`, `"revision": 0`, "revision: 0: want a whole number from 1 up"},
		{"revision string", `"revision": 3`, `"revision": "3"`, "line 3, column 18: revision: want int64, got JSON string"},
		{"revision fraction", `"revision": 3`, `"revision": 3.5`, "revision: want int64, got JSON number 3.5"},
		{"issued missing", `"issued": "2026-11-20T00:00:00Z",`, ``, "issued: missing"},
		{"issued not a time", `"2026-11-20T00:00:00Z"`, `"yesterday"`, `cannot parse "yesterday"`},
		{"expires missing", `"expires": "2026-12-04T00:00:00Z",`, ``, "expires: missing"},
		{"expires before issued", `"2026-12-04T00:00:00Z"`, `"2026-11-19T00:00:00Z"`, "expires: 2026-11-19T00:00:00Z is not after issued (2026-11-20T00:00:00Z)"},
		{"version", `"6.14.2.1":`, `"6.14.2.x":`, `hotfixes["6.14.2.x"]: not a hotfix version`},
		{"version leading zero", `"6.14.2.1":`, `"6.14.2.01":`, `hotfixes["6.14.2.01"]: not a hotfix version`},
		{"share over 100", `"share": 100`, `"share": 101`, `hotfixes["6.14.2.1"].share: 101 is not a percentage from 0 to 100`},
		{"share negative", `"share": 50`, `"share": -1`, `hotfixes["6.14.2.2"].share: -1 is not a percentage`},
		{"share missing", `"share": 100, `, ``, `hotfixes["6.14.2.1"].share: missing`},
		{"share string", `"share": 100`, `"share": "100%"`, "hotfixes.share: want int, got JSON string"},
		{"halted string", `"halted": true`, `"halted": "yes"`, "hotfixes.halted: want bool"},
		{"published missing", `, "published": "2026-11-01T00:00:00Z"`, ``, `hotfixes["6.14.2.1"].published: missing`},
		{"withdrawn control character", `"corrupts the cache"`, `"corrupts\nthe cache"`, `hotfixes["6.14.2.2"].withdrawn: the reason "corrupts\nthe cache" holds a control character`},
		{"withdrawn too long", `"corrupts the cache"`, `"` + strings.Repeat("x", 501) + `"`, "more than 500"},
		{"entry null", `{"share": 100, "halted": false, "published": "2026-11-01T00:00:00Z"}`, `null`, `hotfixes["6.14.2.1"]: null`},
		{"unknown field", `"revision": 3,`, `"revision": 3, "phase": 2,`, `unknown field "phase"`},
		{"syntax", `"revision": 3,`, `"revision": 3,,`, "line 3, column 18: not JSON"},
		{"trailing data", "}\n}\n", "}\n}\n{}", "data after the JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(goodPolicy, tc.old, tc.new, 1)
			if src == goodPolicy {
				t.Fatalf("%q is not in the policy", tc.old)
			}
			_, err := Parse([]byte(src), "/srv/repo/6.14.2/rollout.json")
			if err == nil || !strings.Contains(err.Error(), "rollout policy /srv/repo/6.14.2/rollout.json: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to name the file and say %q", err, tc.want)
			}
		})
	}
}

func TestParseRefusesTooLarge(t *testing.T) {
	if _, err := Parse(make([]byte, MaxSize+1), "big"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("error %v", err)
	}
}

// Shares over 200 machine ids: none at 0 %, all at 100 %, about half at 50 %, and the same
// host answers the same way every time.
func TestShares(t *testing.T) {
	v := hotfix.Version{6, 14, 2, 3}
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i*7919+1)
	}
	count := func(share int) int {
		n := 0
		for _, id := range ids {
			if InShare(v, id, share) {
				n++
			}
		}
		return n
	}
	if n := count(0); n != 0 {
		t.Errorf("share 0: %d hosts in", n)
	}
	if n := count(100); n != 200 {
		t.Errorf("share 100: %d hosts in", n)
	}
	half := count(50)
	if half < 80 || half > 120 {
		t.Errorf("share 50: %d of 200 hosts in, want about half", half)
	}
	if again := count(50); again != half {
		t.Errorf("share 50 counted twice: %d, then %d", half, again)
	}
	// Growing a share keeps the hosts that were in.
	for _, id := range ids {
		if InShare(v, id, 20) && !InShare(v, id, 50) {
			t.Errorf("host %s is in at 20%% but not at 50%%", id)
		}
	}
	// Another version gives other hosts: phasing is not always the same early hosts.
	same := 0
	for _, id := range ids {
		if InShare(v, id, 50) == InShare(hotfix.Version{6, 14, 2, 4}, id, 50) {
			same++
		}
	}
	if same == 200 {
		t.Error("two versions put every host on the same side")
	}
}
