package packaging

import (
	"bytes"
	"os"
	"testing"
)

func TestZZDebug(t *testing.T) {
	for _, signed := range []bool{false, true} {
		o := BuildOptions{Time: sde}
		if signed {
			o.Signer = testSigner(t, RSA)
		}
		a := buildSample(t, sampleDir(t, nil), o)
		b := buildSample(t, sampleDir(t, nil), o)
		x, _ := os.ReadFile(a.RPM)
		y, _ := os.ReadFile(b.RPM)
		i := 0
		for i < len(x) && i < len(y) && x[i] == y[i] {
			i++
		}
		t.Logf("signed=%v equal=%v len %d %d firstdiff %d", signed, bytes.Equal(x, y), len(x), len(y), i)
	}
}
