package sysconfig

import (
	"reflect"
	"testing"

	"github.com/hotchain/hotchain/sysconfig/shellword"
)

// FuzzParse feeds arbitrary settings text to the parser. It must never panic, and
// whatever parses must survive being written back: the assignments re-render and
// re-parse to the same keys and values, a Config written back as a file loads as the
// same Config, and words split, re-quoted and split again stay the same words.
func FuzzParse(f *testing.F) {
	f.Add(string(Template("shop", nil)))
	for _, seed := range []string{
		"PRODUCT=shop\n",
		"export PRODUCT='shop' # comment\nYUM_PARAMETER=\"--disablerepo '*' --enablerepo shop-hotfix\"\n",
		"PRODUCT=shop\nPRODUCT_ROOT=/srv/$PRODUCT\nCHANGE_TREES=\"FileChanges=$PRODUCT_ROOT S=${PRODUCT_ROOT}/s\"\n",
		"PRODUCT=shop\nMAILTO=\"a\\\"b\\\\c\\$d\\`e\" \r\nDAYS_OF_WEEK=0128\n",
		"PRODUCT=shop\nPATCHES_DIR='$PRODUCT_ROOT'\\$PRODUCT\"$PRODUCT\"\n",
		"PRODUCT=a\nRANDOMWAIT=+0\nSERVICE_WAIT_TIME=007\nSECONDARY_HOSTS=,a,,b\nSMTP_SERVER=[::1]:25\n",
		"\uFEFFPRODUCT=x\nHOSTNAME=h\nHOST_ROLE=alpha\nPRODUCT_VERSION_CMD='v #'\n",
		"A='unterminated\nB=\"x\nC=a\\\n",
		"PRODUCT=shop\nYUM_PARAMETER=\"'' a\\\\ b\"\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		as, _, err := parse("fuzz", []byte(src))
		if err == nil {
			again, _, err := parse("fuzz", render(as))
			if err != nil {
				t.Fatalf("rendered assignments do not parse: %v\nrendered:\n%s", err, render(as))
			}
			if !sameAssignments(as, again) {
				t.Fatalf("assignments changed:\n%+v\n%+v\nrendered:\n%s", as, again, render(as))
			}
		}

		if c, err := fromBytes("fuzz", []byte(src), nil); err == nil {
			text := settingsText(c)
			c2, err := fromBytes("fuzz", text, nil)
			if err != nil {
				t.Fatalf("config written back does not load: %v\n%s", err, text)
			}
			if c.Warnings, c2.Warnings = nil, nil; !reflect.DeepEqual(c, c2) {
				t.Fatalf("config changed:\n%+v\n%+v\n%s", c, c2, text)
			}
		}

		if words, err := Split(src); err == nil {
			again, err := Split(shellword.Join(words))
			if err != nil || !reflect.DeepEqual(words, again) {
				t.Fatalf("words changed: %q -> %q, %v", words, again, err)
			}
		}
	})
}

func sameAssignments(a, b []assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].value != b[i].value {
			return false
		}
	}
	return true
}
