package shellword

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`--disablerepo '*' --enablerepo shop-hotfix`, []string{"--disablerepo", "*", "--enablerepo", "shop-hotfix"}},
		{``, nil},
		{"  \t\n ", nil},
		{`a  b`, []string{"a", "b"}},
		{`'' b`, []string{"", "b"}},
		{`"a b" 'c d'`, []string{"a b", "c d"}},
		{`"a\b" "a\"b" "\$x" "\\"`, []string{`a\b`, `a"b`, `$x`, `\`}},
		{`a\ b \'c`, []string{"a b", "'c"}},
		{`$HOME ${X} *.rpm`, []string{"$HOME", "${X}", "*.rpm"}},
		{"a #comment\nb", []string{"a", "b"}},
		{`a#b`, []string{"a#b"}},
		{"'multi\nline'", []string{"multi\nline"}},
		{"a\\\nb", []string{"ab"}},
		{"x\xffy", []string{"x\xffy"}},
		{`--setopt=exclude='a b'`, []string{"--setopt=exclude=a b"}},
	} {
		got, err := Split(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`--disablerepo '*`, "unterminated single quote"},
		{`"abc`, "unterminated double quote"},
		{`abc\`, "backslash at the end"},
		{`stop && start`, `unquoted "&"`},
		{`a|b`, `unquoted "|"`},
		{`a > log`, `unquoted ">"`},
		{`$(date)`, `unquoted "("`},
		{"a\x00b", "NUL byte"},
	} {
		_, err := Split(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Split(%q) error = %v, want one containing %q", tc.in, err, tc.want)
		}
	}
}

func TestJoinWords(t *testing.T) {
	for _, words := range [][]string{
		{"--disablerepo", "*", "--enablerepo", "shop-hotfix"},
		{"", "it's", `a"b`, "$x", "#c", "a b", "\t", "\n"},
	} {
		got, err := Split(Join(words))
		if err != nil || !reflect.DeepEqual(got, words) {
			t.Errorf("Split(Join(%q)) = %q, %v", words, got, err)
		}
	}
	if got := Join([]string{"--disablerepo", "*", "--enablerepo", "shop-hotfix"}); got != `--disablerepo '*' --enablerepo shop-hotfix` {
		t.Errorf("Join = %s", got)
	}
}
