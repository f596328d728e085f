package triage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// loadEvents reads the OTRF flat-JSON fixture into Events, mapping Sysmon 1 and
// Security 4688 names as the decoder does (the decoder belongs to another package).
func loadEvents(t testing.TB) []source.Event {
	t.Helper()
	f, err := os.Open("testdata/otrf-bitsadmin.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []source.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		ev := source.Event{Host: s("Hostname"), Kind: source.KindProcessStart}
		if s("Image") != "" {
			ev.Process = source.Process{Image: s("Image"), CommandLine: s("CommandLine"), User: s("User")}
			ev.Parent = source.Parent{Image: s("ParentImage")}
		} else {
			ev.Process = source.Process{Image: s("NewProcessName"), CommandLine: s("CommandLine"),
				User: s("SubjectDomainName") + `\` + s("SubjectUserName")}
			ev.Parent = source.Parent{Image: s("ParentProcessName")}
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 {
		t.Fatalf("fixture has %d events, want 4", len(out))
	}
	return out
}

func mustPattern(t testing.TB, s string) *Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		in      string
		kind    PatternKind
		text    string
		cased   bool
		wantErr string
	}{
		{`C:\Windows\System32\cmd.exe`, PatternExact, `C:\Windows\System32\cmd.exe`, false, ""},
		{`C:\Windows\*\cmd.exe`, PatternGlob, `C:\Windows\*\cmd.exe`, false, ""},
		{`cmd?.exe`, PatternGlob, `cmd?.exe`, false, ""},
		{`re:^c:\\windows\\.*\.exe$`, PatternRegex, `^c:\\windows\\.*\.exe$`, false, ""},
		{`cased:re:Svc`, PatternRegex, `Svc`, true, ""},
		{`cased:WORKSTATION5`, PatternExact, `WORKSTATION5`, true, ""},
		{`exact:what?*`, PatternExact, `what?*`, false, ""},
		{``, 0, "", false, "empty pattern"},
		{`re:`, 0, "", false, "empty pattern"},
		{`re:(unclosed`, 0, "", false, "bad regex"},
		{"bad\xffutf8", 0, "", false, "UTF-8"},
		{strings.Repeat("a", MaxPatternLen+1), 0, "", false, "longer than"},
	} {
		p, err := ParsePattern(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParsePattern(%.40q) err = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.in, err)
			continue
		}
		if p.Kind != tc.kind || p.Text != tc.text || p.CaseSensitive != tc.cased {
			t.Errorf("ParsePattern(%q) = %+v", tc.in, p)
		}
		if back, err := ParsePattern(p.String()); err != nil || back.Kind != p.Kind || back.Text != p.Text || back.CaseSensitive != p.CaseSensitive {
			t.Errorf("ParsePattern(%q).String() = %q does not round-trip: %+v, %v", tc.in, p.String(), back, err)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, v string
		want   bool
	}{
		{`C:\Windows\System32\cmd.exe`, `c:\windows\system32\CMD.EXE`, true},
		{`cased:C:\Windows\System32\cmd.exe`, `c:\windows\system32\CMD.EXE`, false},
		{`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\cmd.exe `, false},
		{`*\dns.exe`, `C:\Windows\System32\dns.exe`, true},
		{`*\dns.exe`, `C:\x\notdns.exe`, false},
		{`*\DNS.EXE`, `C:\Windows\System32\dns.exe`, true},
		{`cased:*\DNS.EXE`, `C:\Windows\System32\dns.exe`, false},
		{`cmd?.exe`, `cmd1.exe`, true},
		{`cmd?.exe`, `cmd.exe`, false},
		{`*a*b*c`, `xxaxxbxxcxc`, true},
		{`*a*b*c`, `xxaxxbxxcx`, false},
		{`*`, ``, true},
		{`?`, ``, false},
		{`ÄBC*`, `äbcdef`, true},
		{`re:bitsadmin.*/transfer`, `BITSADMIN.exe /transfer`, true},
		{`cased:re:bitsadmin.*/transfer`, `BITSADMIN.exe /transfer`, false},
		{`exact:a*b`, `a*b`, true},
		{`exact:a*b`, `axxb`, false},
	} {
		p := mustPattern(t, tc.pat)
		if got := p.Match(tc.v); got != tc.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.pat, tc.v, got, tc.want)
		}
		// A literal Pattern (not from ParsePattern) behaves the same.
		lit := Pattern{Kind: p.Kind, Text: p.Text, CaseSensitive: p.CaseSensitive}
		if got := lit.Match(tc.v); got != tc.want {
			t.Errorf("literal %q.Match(%q) = %v, want %v", tc.pat, tc.v, got, tc.want)
		}
	}
}

func TestEntryMatchesRealEvents(t *testing.T) {
	evs := loadEvents(t) // 4688 bitsadmin, 4688 svchost, Sysmon bitsadmin, Sysmon svchost
	now := time.Date(2020, 10, 23, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		e     AllowEntry
		rule  string
		want  [4]bool
		atNow time.Time
	}{
		{"image glob any rule", AllowEntry{Image: mustPattern(t, `*\bitsadmin.exe`)}, "r1", [4]bool{true, false, true, false}, now},
		{"rule only", AllowEntry{RuleID: "R1"}, "r1", [4]bool{true, true, true, true}, now},
		{"other rule", AllowEntry{RuleID: "r2", Image: mustPattern(t, `*\bitsadmin.exe`)}, "r1", [4]bool{}, now},
		{"parent and host", AllowEntry{ParentImage: mustPattern(t, `C:\Windows\System32\services.exe`), Host: mustPattern(t, "workstation5")},
			"r1", [4]bool{false, true, false, true}, now},
		{"user exact", AllowEntry{User: mustPattern(t, `NT AUTHORITY\SYSTEM`)}, "r1", [4]bool{false, false, false, true}, now},
		{"command line regex", AllowEntry{CommandLine: mustPattern(t, `re:svchost\.exe -k netsvcs .*-s BITS$`)}, "r1", [4]bool{false, true, false, true}, now},
		{"all conditions must hold", AllowEntry{Image: mustPattern(t, `*\bitsadmin.exe`), User: mustPattern(t, `NT AUTHORITY\SYSTEM`)}, "r1", [4]bool{}, now},
		{"expired", AllowEntry{Image: mustPattern(t, `*\bitsadmin.exe`), Expires: now}, "r1", [4]bool{}, now},
		{"not yet expired", AllowEntry{Image: mustPattern(t, `*\bitsadmin.exe`), Expires: now.Add(time.Second)}, "r1", [4]bool{true, false, true, false}, now},
		{"no condition matches nothing", AllowEntry{}, "r1", [4]bool{}, now},
	} {
		for i := range evs {
			if got := tc.e.Matches(tc.rule, &evs[i], tc.atNow); got != tc.want[i] {
				t.Errorf("%s: event %d (%s): Matches = %v, want %v", tc.name, i, evs[i].Process.Image, got, tc.want[i])
			}
		}
	}
	var e AllowEntry
	if e.Matches("r1", nil, now) {
		t.Error("Matches(nil event) = true")
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	evs := loadEvents(t)
	e := AllowEntry{
		RuleID:      "r1",
		Image:       mustPattern(t, `*\BITSADMIN.exe`),
		ParentImage: mustPattern(t, `c:\windows\system32\cmd.exe`),
		CommandLine: mustPattern(t, `re:/transfer\s+/download`),
		Host:        mustPattern(t, `WORK*`),
	}
	now := time.Now()
	if !e.Matches("r1", &evs[0], now) {
		t.Fatal("entry does not match the event it was written for")
	}
	if n := testing.AllocsPerRun(200, func() { e.Matches("r1", &evs[0], now) }); n != 0 {
		t.Errorf("Matches allocates %v times per call, want 0", n)
	}
}

func TestNewAllowIDSortable(t *testing.T) {
	var ids []string
	for i := range 50 {
		ids = append(ids, NewAllowID(t0.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids not sorted by time: %v", ids)
	}
	a, b := NewAllowID(t0), NewAllowID(t0)
	if a == b || len(a) != 19 || !strings.HasPrefix(a, "al-") {
		t.Errorf("ids %q %q: want distinct, 19 chars, al- prefix", a, b)
	}
}

func TestAddAllowClosesMatching(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.setClock(func() time.Time { return t0 })
	mk := func(id, image, status string) {
		a := alertRec(id, t0)
		a.Image = image
		if err := s.UpsertAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
		switch status {
		case "acknowledged":
			if _, err := s.SetStatus(ctx, id, StatusAcknowledged, "", ""); err != nil {
				t.Fatal(err)
			}
		case "closed":
			if _, err := s.SetStatus(ctx, id, StatusClosed, ReasonTruePositive, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("a1", `C:\Windows\System32\cmd.exe`, "open")
	mk("a2", `C:\Windows\System32\CMD.EXE`, "acknowledged")
	mk("a3", `C:\Windows\System32\cmd.exe`, "closed")
	mk("a4", `C:\Windows\System32\whoami.exe`, "open")
	e := AllowEntry{RuleID: "rule-1", Image: mustPattern(t, `*\cmd.exe`), Reason: "backup job", Expires: t0.Add(24 * time.Hour)}
	if n, err := s.CountMatching(ctx, e); err != nil || n != 2 {
		t.Fatalf("CountMatching = %d, %v; want 2", n, err)
	}
	if _, _, err := s.AddAllow(ctx, e, true, ReasonTruePositive); err == nil {
		t.Error("AddAllow with close reason true_positive succeeded")
	}
	if _, _, err := s.AddAllow(ctx, AllowEntry{Reason: "x"}, false, ""); err == nil {
		t.Error("AddAllow without conditions succeeded")
	}
	if _, _, err := s.AddAllow(ctx, AllowEntry{Image: mustPattern(t, "x")}, false, ""); err == nil {
		t.Error("AddAllow without a reason succeeded")
	}
	stored, closed, err := s.AddAllow(ctx, e, true, ReasonBenignPositive)
	if err != nil || closed != 2 {
		t.Fatalf("AddAllow = %d, %v; want 2 closed", closed, err)
	}
	if !strings.HasPrefix(stored.ID, "al-") || stored.Author != s.who || !stored.Created.Equal(t0) {
		t.Errorf("stored entry %+v: want an al- id, author %q, created %v", stored, s.who, t0)
	}
	for id, want := range map[string]Status{"a1": StatusClosed, "a2": StatusClosed, "a3": StatusClosed, "a4": StatusOpen} {
		a, err := s.Alert(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != want {
			t.Errorf("%s: status %s, want %s", id, a.Status, want)
		}
		if id == "a1" || id == "a2" {
			h, _ := s.History(ctx, id)
			last := h[len(h)-1]
			if a.Reason != ReasonBenignPositive || a.AllowlistID != stored.ID || last.To != StatusClosed || !strings.Contains(last.Note, stored.ID) {
				t.Errorf("%s: reason %s allowlist %q last audit %+v", id, a.Reason, a.AllowlistID, last)
			}
		}
	}
	if _, _, err := s.AddAllow(ctx, stored, false, ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("adding the same id twice: %v", err)
	}

	if err := s.RecordHits(ctx, map[string]int{stored.ID: 3, "al-gone": 1}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.Allowlist(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Allowlist = %d entries, %v", len(list), err)
	}
	got := list[0]
	if got.ID != stored.ID || got.Hits != 3 || !got.LastHit.Equal(t0.Add(time.Hour)) || got.Image.String() != `*\cmd.exe` ||
		got.RuleID != "rule-1" || !got.Expires.Equal(e.Expires) || got.Reason != "backup job" || got.ParentImage != nil {
		t.Errorf("Allowlist()[0] = %+v", got)
	}
	if !got.Expired(t0.Add(25*time.Hour)) || got.Expired(t0) {
		t.Error("Expired wrong")
	}
	if err := s.RemoveAllow(ctx, stored.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAllow(ctx, stored.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second RemoveAllow = %v, want ErrNotFound", err)
	}
}

func TestImportAllowIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	data, err := ExportSigma(sampleEntries(t))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ImportSigma(data)
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range [][2]int{{3, 0}, {0, 3}} {
		added, skipped, err := s.ImportAllow(ctx, entries)
		if err != nil || added != want[0] || skipped != want[1] {
			t.Errorf("round %d: ImportAllow = %d added, %d skipped, %v; want %v", round, added, skipped, err, want)
		}
	}
	bad := append(entries[:1:1], AllowEntry{ID: "al-bad", Reason: "no condition"})
	bad[0].ID = "al-new"
	if _, _, err := s.ImportAllow(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("ImportAllow with an invalid entry = %v, want ErrInvalid", err)
	}
	list, _ := s.Allowlist(ctx)
	if len(list) != 3 {
		t.Errorf("after a refused import the allowlist has %d entries, want 3 (all or nothing)", len(list))
	}
}

func TestUpdateAllow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.setClock(func() time.Time { return t0 })
	e, _, err := s.AddAllow(ctx, AllowEntry{Image: mustPattern(t, `*\a.exe`), Reason: "first"}, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordHits(ctx, map[string]int{e.ID: 2}, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateAllow(ctx, AllowEntry{ID: e.ID, Host: mustPattern(t, "DC01"), Reason: "second", Author: "mallory", Hits: 99})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.Allowlist(ctx)
	if len(list) != 1 || list[0].Image != nil || list[0].Host.String() != "DC01" || list[0].Reason != "second" ||
		list[0].Hits != 2 || list[0].Author != e.Author || !list[0].Created.Equal(t0) || got.Hits != 2 {
		t.Errorf("after update: %+v (returned %+v)", list, got)
	}
	if _, err := s.UpdateAllow(ctx, AllowEntry{ID: "al-none", Host: mustPattern(t, "x"), Reason: "r"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an unknown id: %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateAllow(ctx, AllowEntry{ID: e.ID, Reason: "r"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("update to no condition: %v, want ErrInvalid", err)
	}
}
