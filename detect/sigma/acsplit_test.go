package sigma

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestScanSplitAgrees checks that the two-halves scan of long values finds exactly the
// needles the in-order scan finds, with needles placed across the split point and the
// second half's overlap, and that a non-ASCII byte sends the value to the in-order scan.
func TestScanSplitAgrees(t *testing.T) {
	needles := []string{"a", "-enc", "powershell", "\\appdata\\", "invoke-expression", "iex(", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "/c", "x"}
	a := newACIndex(resolveField("CommandLine"))
	for i, n := range needles {
		a.add(n, int32(i))
	}
	a.build()
	words := (len(a.rules) + 63) / 64
	rng := rand.New(rand.NewPCG(1, 2))
	filler := "bcdfghjklmnpqrtuvwBCDFGH0123456789 .,;"
	checked, split := 0, 0
	for _, n := range []int{256, 257, 300, 511, 1024} {
		for _, needle := range needles {
			for pos := 0; pos+len(needle) <= n; pos++ {
				b := make([]byte, n)
				for i := range b {
					b[i] = filler[rng.IntN(len(filler))]
				}
				copy(b[pos:], strings.ToUpper(needle))
				if pos%97 == 0 {
					b[rng.IntN(n)] = 0xc3 // a stray non-ASCII byte: must fall back
				}
				s := string(b)
				got, want := make([]uint64, words), make([]uint64, words)
				asciiGot := a.scan(s, got)
				asciiWant := a.scanSeq(s, want)
				if !slices.Equal(got, want) || asciiGot != asciiWant {
					t.Fatalf("len %d needle %q at %d: split scan found %x ascii %v, in-order %x ascii %v", n, needle, pos, got, asciiGot, want, asciiWant)
				}
				checked++
				if len(s) >= 4*a.maxLen && asciiWant {
					split++
				}
			}
		}
	}
	if split == 0 {
		t.Fatalf("no value took the split path (of %d)", checked)
	}
}
