package repoconf

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	const file = "# vendor repository\n" +
		"key=outside any section\n" +
		"[shop-hotfix]\n" +
		"name = Shop hotfixes 6.14.2\n" +
		"baseurl=http://a/6.14.2/\n" +
		"  http://b/6.14.2/ \n" +
		"\thttp://c/6.14.2/\r\n" +
		"# a comment ends the value\n" +
		"  not a continuation\n" +
		"gpgkey = file:///etc/pki/k1,\n" +
		"    file:///etc/pki/k2\n" +
		"[other]\n" +
		"gpgkey=\n" +
		"; last line without newline"
	f := Parse([]byte(file))
	if string(f.Bytes()) != file {
		t.Fatalf("Bytes() does not give the file back:\n%q", f.Bytes())
	}
	type kv struct{ section, key, value string }
	var got []kv
	for _, e := range f.Entries {
		got = append(got, kv{e.Section, e.Key, f.Value(e)})
	}
	want := []kv{
		{"shop-hotfix", "name", "Shop hotfixes 6.14.2"},
		{"shop-hotfix", "baseurl", "http://a/6.14.2/ http://b/6.14.2/ http://c/6.14.2/"},
		{"shop-hotfix", "gpgkey", "file:///etc/pki/k1, file:///etc/pki/k2"},
		{"other", "gpgkey", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries\n%q\nwant\n%q", got, want)
	}
	if w := Words(f.Value(f.Lookup("gpgkey")[0])); !reflect.DeepEqual(w, []string{"file:///etc/pki/k1", "file:///etc/pki/k2"}) {
		t.Errorf("Words = %q", w)
	}
	// Replacing a span rewrites that value only, the rest byte for byte.
	b := f.Lookup("baseurl")[0]
	f.Replace(b.Spans[1], "http://b/6.15.0/")
	if want := "  http://b/6.15.0/ \n"; f.Lines[5] != want {
		t.Errorf("line 6 = %q, want %q", f.Lines[5], want)
	}
}
