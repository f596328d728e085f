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

// FuzzScanSplit: the two-halves scan finds what the in-order scan finds, for any ASCII
// needles ('|'-separated) and any value.
func FuzzScanSplit(f *testing.F) {
	f.Add("powershell|-enc|iex(", strings.Repeat("cmd /c PowerShell -ENC aQBlAHgA iex( ", 12))
	f.Add("ab|ba|aaa", strings.Repeat("ab", 200)+"\u212A"+strings.Repeat("ba", 100))
	f.Add("k|kelvin", strings.Repeat("x", 300)+"\u212Aelvin")
	f.Fuzz(func(t *testing.T, ns, s string) {
		if len(s) > 4096 || len(ns) > 512 {
			return
		}
		a := newACIndex(resolveField("CommandLine"))
		n := 0
		for _, needle := range strings.Split(ns, "|") {
			if needle == "" || len(needle) > 64 || !isASCII(needle) {
				continue
			}
			a.add(needle, int32(n))
			n++
		}
		if n == 0 {
			return
		}
		a.build()
		words := (len(a.rules) + 63) / 64
		got, want := make([]uint64, words), make([]uint64, words)
		asciiGot, asciiWant := a.scan(s, got), a.scanSeq(s, want)
		if !slices.Equal(got, want) || asciiGot != asciiWant {
			t.Errorf("needles %q value %q: split scan %x ascii %v, in-order %x ascii %v", ns, s, got, asciiGot, want, asciiWant)
		}
	})
}
