package sysconfig

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// The name checks are written out by hand (no regexp to compile at start-up); they must
// accept exactly what the patterns of SPEC section 1 and of the ledger's file names do.
func TestNameChecksMatchTheirPatterns(t *testing.T) {
	product := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	host := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	inputs := []string{"", "shop", "shop-2", "-shop", "Shop", "sh op", "shop.", "6shop", "a", "-", ".", "host.example.com", ".hidden", "_x", "a/b", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "az09AZ-._/ \x00é"
	for range 5000 {
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if got, want := ValidProduct(s), product.MatchString(s); got != want {
			t.Errorf("ValidProduct(%q) = %v, want %v", s, got, want)
		}
		if got, want := validHost(s), host.MatchString(s); got != want {
			t.Errorf("validHost(%q) = %v, want %v", s, got, want)
		}
	}
}
