package triage

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzGlobMatch checks the allocation-free glob matcher against the regex it is
// equivalent to.
func FuzzGlobMatch(f *testing.F) {
	for _, s := range [][2]string{
		{`*\dns.exe`, `C:\Windows\System32\dns.exe`}, {`a*b?c*`, `aXXbYcZ`}, {`*a*a*a*b`, strings.Repeat("a", 40)},
		{`ÄB?`, `äbç`}, {`?`, "\xff"}, {`**`, ``},
	} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, pat, name string, fold bool) {
		if len(pat) > 64 || len(name) > 256 {
			return
		}
		expr := globToRegex(pat)
		if fold {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("globToRegex(%q) = %q does not compile: %v", pat, expr, err)
		}
		if !utf8Clean(pat) || !utf8Clean(name) {
			return // the regex engine and the matcher treat invalid bytes differently; ParsePattern refuses them
		}
		if got, want := globMatch(pat, name, fold), re.MatchString(name); got != want {
			t.Fatalf("globMatch(%q, %q, fold=%v) = %v, regex says %v", pat, name, fold, got, want)
		}
	})
}

func utf8Clean(s string) bool { return strings.ToValidUTF8(s, "") == s }
