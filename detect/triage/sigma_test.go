package triage

import (
	"errors"
	"github.com/vigil-soc/vigil/detect/sigma"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleEntries(t testing.TB) []AllowEntry {
	return []AllowEntry{
		{
			ID: "al-01j0000000000000", RuleID: "5b9b2d65-0000-4000-8000-000000000001",
			Image:       mustPattern(t, `C:\Windows\System32\cmd.exe`),
			ParentImage: mustPattern(t, `*\dns.exe`),
			CommandLine: mustPattern(t, `re:^cmd /c "?C:\\backup\\run\.bat"?$`),
			User:        mustPattern(t, `cased:CORP\svc_backup`),
			Host:        mustPattern(t, `dc0?`),
			Expires:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
			Reason:      "nightly backup: runs cmd under dns.exe\nsee ticket 42",
			Author:      "alice", Created: time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC),
			Hits: 17, LastHit: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		},
		{
			ID: "al-01j0000000000001", Image: mustPattern(t, `exact:C:\odd\*name?.exe`),
			CommandLine: mustPattern(t, `cased:*\\server\share\*`),
			Reason:      "weird literal", Author: "bob", Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		},
		{ID: "al-01j0000000000002", RuleID: "rule-only", Reason: "mute rule", Author: "carol", Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
}

func entriesEqual(t *testing.T, got, want []AllowEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		for j, f := range g.fields() {
			wp := *w.fields()[j].p
			gp := *f.p
			if (gp == nil) != (wp == nil) || (gp != nil && (gp.Kind != wp.Kind || gp.Text != wp.Text || gp.CaseSensitive != wp.CaseSensitive)) {
				t.Errorf("entry %d %s: got %+v, want %+v", i, f.name, gp, wp)
			}
		}
		g.Image, g.ParentImage, g.CommandLine, g.User, g.Host = nil, nil, nil, nil, nil
		w.Image, w.ParentImage, w.CommandLine, w.User, w.Host = nil, nil, nil, nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestSigmaRoundTrip(t *testing.T) {
	want := sampleEntries(t)
	data, err := ExportSigma(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"condition: not selection", "category: process_creation", "product: windows",
		`CommandLine|re|i: ^cmd /c "?C:\\backup\\run\.bat"?$`, `ParentImage: '*\dns.exe'`,
		`User|cased: CORP\svc_backup`, `Computer: dc0?`, `Image: C:\odd\\\*name\?.exe`,
		`CommandLine|cased: '*\\\server\share\\*'`, "- rule-only", "rules: any",
	} {
		if !strings.Contains(string(data), s) {
			t.Errorf("export lacks %q:\n%s", s, data)
		}
	}
	got, err := ImportSigma(data)
	if err != nil {
		t.Fatalf("import of our own export: %v\n%s", err, data)
	}
	entriesEqual(t, got, want)
	// The escaped literal still matches only itself.
	if !got[1].Image.Match(`c:\odd\*NAME?.exe`) || got[1].Image.Match(`C:\odd\xname1.exe`) {
		t.Error("escaped literal does not match as a literal")
	}
}

func TestImportPlainSigmaFilter(t *testing.T) {
	const doc = `title: Filter backup tool
id: 7b9b2d65-0000-4000-8000-000000000009
description: The backup tool starts cmd
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
    filter_backup:
        ParentImage|endswith: '\backup.exe'
        CommandLine|contains: 'nightly*run'
        Image|startswith: 'C:\Tools\'
    condition: not filter_backup
`
	got, err := ImportSigma([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d entries", len(got))
	}
	e := got[0]
	if e.RuleID != "6f3e2987-db24-4c78-a860-b4f4095a7095" || e.Reason != "The backup tool starts cmd" {
		t.Errorf("entry %+v", e)
	}
	for p, want := range map[*Pattern]string{e.ParentImage: `*\backup.exe`, e.CommandLine: `*nightly*run*`, e.Image: `C:\Tools\*`} {
		if p == nil || p.Kind != PatternGlob || p.Text != want {
			t.Errorf("pattern %+v, want glob %q", p, want)
		}
	}
}

func TestImportSigmaRefuses(t *testing.T) {
	head := "title: t\nlogsource:\n    category: process_creation\n    product: windows\nfilter:\n    rules: [r1]\n"
	for _, tc := range []struct {
		name, doc string
		line      int
		want      string
	}{
		{"list of values", head + "    selection:\n        Image:\n            - a.exe\n            - b.exe\n    condition: not selection\n", 9, "list of values"},
		{"unknown field", head + "    selection:\n        Hashes: abc\n    condition: not selection\n", 8, `field "Hashes"`},
		{"unsupported modifier", head + "    selection:\n        CommandLine|base64offset|contains: abc\n    condition: not selection\n", 8, "base64offset"},
		{"other condition", head + "    selection:\n        Image: a.exe\n    condition: selection\n", 9, "only 'not selection'"},
		{"two selections", head + "    sel1:\n        Image: a.exe\n    sel2:\n        User: x\n    condition: not sel1\n", 9, "more than one selection"},
		{"many rules", "title: t\nfilter:\n    rules: [r1, r2]\n    selection:\n        Image: a\n    condition: not selection\n", 3, "split it"},
		{"empty rules", "title: t\nfilter:\n    rules:\n    selection: {Image: a}\n    condition: not selection\n", 3, "empty rules"},
		{"empty rule list", "title: t\nfilter:\n    rules: []\n    selection: {Image: a}\n    condition: not selection\n", 3, "empty rules"},
		{"linux", "title: t\nlogsource:\n    product: linux\n    category: process_creation\nfilter:\n    rules: [r]\n    selection: {Image: a}\n    condition: not selection\n", 3, "only windows"},
		{"detection rule", "title: t\ndetection:\n    sel: {Image: a}\n    condition: sel\n", 2, "a detection rule"},
		{"no filter", "title: t\n", 1, "no 'filter'"},
		{"bad regex", head + "    selection:\n        Image|re: '(x'\n    condition: not selection\n", 8, "bad regex"},
		{"alias", head + "    selection:\n        Image: &a x\n        User: *a\n    condition: not selection\n", 9, "aliases"},
		{"bad vigil time", head + "    selection: {Image: a}\n    condition: not selection\nvigil:\n    expires: tomorrow\n", 10, "RFC 3339"},
		{"second doc", head + "    selection: {Image: a}\n    condition: not selection\n---\ntitle: u\n", 10, "no 'filter'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImportSigma([]byte(tc.doc))
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *ImportError", err)
			}
			if ie.Line != tc.line || !strings.Contains(ie.Reason, tc.want) {
				t.Errorf("err = %q, want line %d and %q", err, tc.line, tc.want)
			}
		})
	}
	if _, err := ImportSigma([]byte("title: [unclosed\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad YAML: %v, want a line number", err)
	}
}

func TestEscapeSigma(t *testing.T) {
	for _, tc := range []struct {
		lit      string
		literal  bool
		want     string
		wantBack string
	}{
		{`C:\Windows\cmd.exe`, true, `C:\Windows\cmd.exe`, `C:\Windows\cmd.exe`},
		{`a*b?c`, true, `a\*b\?c`, `a*b?c`},
		{`a\*`, true, `a\\\*`, `a\*`},
		{`\\server\share`, true, `\\\server\share`, `\\server\share`},
		{`C:\Windows\*`, false, `C:\Windows\\*`, ``},
	} {
		got := escapeSigma(tc.lit, tc.literal)
		if got != tc.want {
			t.Errorf("escapeSigma(%q, %v) = %q, want %q", tc.lit, tc.literal, got, tc.want)
		}
		if tc.literal {
			p := tokensPattern(sigma.SplitValue(got))
			if p.Kind != PatternExact || p.Text != tc.wantBack {
				t.Errorf("unescape(%q) = %+v, want exact %q", got, p, tc.wantBack)
			}
		}
	}
}

func FuzzImportSigma(f *testing.F) {
	data, err := ExportSigma(sampleEntries(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("title: t\nfilter:\n    rules: [r]\n    selection: {Image|endswith: '\\x.exe'}\n    condition: not selection\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		entries, err := ImportSigma(in)
		if err != nil {
			return
		}
		// Whatever imports must export and import again to the same entries.
		out, err := ExportSigma(entries)
		if err != nil {
			t.Fatalf("export of imported entries: %v", err)
		}
		again, err := ImportSigma(out)
		if err != nil {
			t.Fatalf("re-import: %v\n%s", err, out)
		}
		if len(again) != len(entries) {
			t.Fatalf("re-import: %d entries, want %d", len(again), len(entries))
		}
		for i := range entries {
			a, b := entries[i], again[i]
			for j, fa := range a.fields() {
				pa, pb := *fa.p, *b.fields()[j].p
				if (pa == nil) != (pb == nil) || (pa != nil && (pa.Kind != pb.Kind || pa.Text != pb.Text || pa.CaseSensitive != pb.CaseSensitive)) {
					t.Fatalf("entry %d %s: %+v became %+v", i, fa.name, pa, pb)
				}
			}
			if a.RuleID != b.RuleID || a.ID != b.ID || a.Hits != b.Hits || !a.Expires.Equal(b.Expires) {
				t.Fatalf("entry %d: %+v became %+v", i, a, b)
			}
		}
	})
}

func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{`C:\x\*.exe`, `re:^a+$`, `cased:exact:a*`, `?`, `cased:re:(?i)x`} {
		f.Add(s, "C:\\x\\y.exe")
	}
	f.Fuzz(func(t *testing.T, s, v string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		back, err := ParsePattern(p.String())
		if err != nil {
			t.Fatalf("ParsePattern(%q.String() = %q): %v", s, p.String(), err)
		}
		if back.Match(v) != p.Match(v) {
			t.Fatalf("%q and its rendering %q disagree on %q", s, p.String(), v)
		}
	})
}
