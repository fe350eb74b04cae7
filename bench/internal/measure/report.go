package measure

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Table is rows as a plain-text table with aligned columns, the first row the header,
// underlined.
func Table(rows [][]string) string {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	for n, row := range rows {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			fmt.Fprintf(&b, "%-*s", width[i], c)
		}
		b.WriteString("\n")
		if n == 0 {
			for i, w := range width {
				if i > 0 {
					b.WriteString("  ")
				}
				b.WriteString(strings.Repeat("-", w))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Machine describes where a run happened: cores, memory, kernel, the file system of the
// inputs under tmp, tool versions and the commit of the module at src.
func Machine(tmp, src string) []string {
	var out []string
	model := procField("/proc/cpuinfo", "model name")
	out = append(out, fmt.Sprintf("CPU: %d cores (%s)", runtime.NumCPU(), model))
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		out = append(out, "memory: "+kb)
	}
	if v, err := Output("uname", "-sr"); err == nil {
		out = append(out, "kernel: "+strings.TrimSpace(v))
	}
	if v, err := Output("df", "--output=fstype", tmp); err == nil {
		if f := strings.Fields(v); len(f) == 2 {
			out = append(out, "file system of the inputs: "+f[1])
		}
	}
	if v, err := Output("nproc"); err == nil {
		out = append(out, "cores usable (nproc): "+strings.TrimSpace(v))
	}
	out = append(out, "Go: "+runtime.Version())
	for _, t := range [][]string{
		{"createrepo_c", "--version"},
		{"rpmbuild", "--version"},
		{"rpm", "--version"},
		{"dnf", "--version"},
		{"cp", "--version"},
	} {
		v, err := Output(t[0], t[1:]...)
		if err != nil {
			out = append(out, t[0]+": not found")
			continue
		}
		out = append(out, t[0]+": "+strings.TrimSpace(strings.SplitN(v, "\n", 2)[0]))
	}
	if v, err := Output("git", "-C", src, "rev-parse", "--short", "HEAD"); err == nil {
		rev := strings.TrimSpace(v)
		if st, err := Output("git", "-C", src, "status", "--porcelain", "--untracked-files=no"); err == nil && strings.TrimSpace(st) != "" {
			rev += " with uncommitted changes"
		}
		out = append(out, "hotchain: "+rev)
	}
	return out
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
