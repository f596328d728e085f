package sigma

import (
	"strings"
	"testing"
)

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(dnsRule))
	f.Add([]byte(ruleWith(`        CommandLine|wide|base64offset|contains: 'cmd'`)))
	f.Add([]byte("action: global\ntitle: x\n---\nlogsource: {}\ndetection: {a: [x, y], condition: 1 of them}\n"))
	f.Add([]byte("title: f\nlogsource: {}\nfilter: {rules: [x], s: {User: y}, condition: s}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	ev := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\x\cmd.exe`, "CommandLine", "cmd /c whoami")
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, refused := ParseRules(data, "fuzz.yml", &Config{Placeholders: map[string][]string{"p": {"x*"}}})
		for _, r := range refused {
			if r.Reason == "" {
				t.Fatalf("refusal without a reason: %+v", r)
			}
		}
		set, ref := NewSet(rules)
		for _, r := range ref {
			if r.Reason == "" {
				t.Fatalf("set refusal without a reason: %+v", r)
			}
		}
		set.Match(ev, nil)
	})
}

func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not b", "1 of sel_* or (all of them)", "((a)", "not not not a", "all of", "a | count() > 3"} {
		f.Add(s)
	}
	names := []string{"a", "b", "sel_1", "sel_2", "_x"}
	d := &detection{names: names, sels: make([]selection, len(names))}
	ev := procStart("Image", "x")
	f.Fuzz(func(t *testing.T, cond string) {
		n, err := parseCondition(cond, names)
		if err != nil {
			if err.Error() == "" || !strings.HasPrefix(err.Error(), "condition") {
				t.Fatalf("error %q does not name the condition", err)
			}
			return
		}
		d.cond = n
		d.match(ev)
	})
}

// FuzzStarMatch: the left-to-right substring matcher for '*'-only globs agrees with the
// backtracking rune matcher on every pattern and value.
func FuzzStarMatch(f *testing.F) {
	f.Add("*cmd.exe /c * > *\\temp\\* 2>&1*", `cmd.exe /C x > C:\TEMP\y 2>&1`, false)
	f.Add("a*\u212Aelvin*z", "AxxKELVINz", false)
	f.Add("*ab*ab", "abab", true)
	f.Add("ſ*s", "SSS", false)
	f.Add("*\xff*", "a\xffb", false)
	f.Fuzz(func(t *testing.T, pat, s string, cased bool) {
		if len(pat) > 64 || len(s) > 256 {
			return
		}
		m := buildMatcher(parseSigmaString(pat), cased)
		if m.op != vGlob || m.star == nil {
			return
		}
		lead, trail := m.glob[0].k == '*', m.glob[len(m.glob)-1].k == '*'
		if got, want := starMatch(m.star, lead, trail, s, m.cased), globMatch(m.glob, s, m.cased); got != want {
			t.Errorf("pattern %q on %q (cased %v): starMatch %v, globMatch %v", pat, s, cased, got, want)
		}
	})
}

// FuzzContainsFold: the byte-jumping search for needles with an ASCII first byte finds
// what trying every position finds.
func FuzzContainsFold(f *testing.F) {
	f.Add("cmd.exe /c WHOAMI", "whoami")
	f.Add("\u212Aernel32 ſc", "kernel32")
	f.Add("xSſs", "sS")
	f.Add("ab\xffAB", "ab\xff")
	f.Fuzz(func(t *testing.T, s, p string) {
		if p == "" || p[0] >= 0x80 || len(s) > 512 || len(p) > 32 {
			return
		}
		want := false
		for i := 0; i <= len(s) && !want; i++ {
			want = hasPrefixFold(s[i:], p)
		}
		if got := containsFold(s, p); got != want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", s, p, got, want)
		}
	})
}
