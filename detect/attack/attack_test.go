package attack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func embedded(t testing.TB) *Catalog {
	t.Helper()
	c := Embedded()
	if err := EmbeddedErr(); err != nil {
		t.Fatalf("embedded catalog: %v", err)
	}
	return c
}

func TestEmbeddedCounts(t *testing.T) {
	c := embedded(t)
	// The catalog's meta counts: 835 techniques (691 active), 14 tactics, 44 mitigations.
	tech, tac, mit := c.Len()
	if tech != 835 || tac != 14 || mit != 44 {
		t.Fatalf("Len = %d techniques, %d tactics, %d mitigations; want 835, 14, 44", tech, tac, mit)
	}
	if m := c.Meta(); m.Version != "18.1" || m.Commit != "421deacb77191b38bdd1bf63268954e93da91365" {
		t.Fatalf("Meta = %+v", m)
	}
}

// t1133Fixture is MITRE's own rendering of T1133 (testdata/T1133.json, from /work/shared/attack).
type t1133Fixture struct {
	Technique struct {
		ID, Name, URL string
		Tactics       []string `json:"tactics"`
		Platforms     []string `json:"platforms"`
		Description   string   `json:"description"`
	} `json:"technique"`
	Mitigations []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Use         string `json:"how_it_applies_to_T1133"`
	} `json:"mitigations"`
}

func TestTechniqueT1133MatchesMITRE(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "T1133.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want t1133Fixture
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("testdata/T1133.json: %v", err)
	}
	c := embedded(t)
	got, ok := c.Technique("t1133")
	if !ok {
		t.Fatal("T1133 not found")
	}
	if got.ID != want.Technique.ID || got.Name != want.Technique.Name || got.URL != want.Technique.URL {
		t.Errorf("T1133 = %q %q %q; want %q %q %q", got.ID, got.Name, got.URL, want.Technique.ID, want.Technique.Name, want.Technique.URL)
	}
	if !reflect.DeepEqual(got.Tactics, want.Technique.Tactics) || !reflect.DeepEqual(got.Platforms, want.Technique.Platforms) {
		t.Errorf("T1133 tactics/platforms = %v %v; want %v %v", got.Tactics, got.Platforms, want.Technique.Tactics, want.Technique.Platforms)
	}
	// The catalog keeps only the first paragraph of a technique's description.
	if first, _, _ := strings.Cut(want.Technique.Description, "\n\n"); got.Description != first {
		t.Errorf("T1133 description = %q; want the first paragraph %q", got.Description, first)
	}
	if got.IsSubtechnique() || got.Revoked || got.Deprecated {
		t.Errorf("T1133 flags: sub=%v revoked=%v deprecated=%v", got.IsSubtechnique(), got.Revoked, got.Deprecated)
	}

	applied := c.Mitigations("T1133")
	byID := map[string]Applied{}
	for _, a := range applied {
		byID[a.ID] = a
	}
	for _, id := range []string{"M1042", "M1035", "M1032", "M1030"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("T1133 mitigations %v lack %s", keys(byID), id)
		}
	}
	if len(applied) != len(want.Mitigations) {
		t.Errorf("T1133 has %d mitigations; MITRE lists %d", len(applied), len(want.Mitigations))
	}
	for _, w := range want.Mitigations {
		a, ok := byID[w.ID]
		if !ok {
			t.Errorf("mitigation %s missing", w.ID)
			continue
		}
		if a.Name != w.Name || a.Description != w.Description || a.Use != w.Use {
			t.Errorf("mitigation %s = {%q, %q..., use %q}; want {%q, %q..., use %q}",
				w.ID, a.Name, trunc(a.Description), a.Use, w.Name, trunc(w.Description), w.Use)
		}
	}
}

func TestLookups(t *testing.T) {
	c := embedded(t)
	tests := []struct {
		name string
		got  func() (string, bool)
		want string // "" = not found
	}{
		{"technique upper", func() (string, bool) { x, ok := c.Technique("T1133"); return x.Name, ok }, "External Remote Services"},
		{"subtechnique", func() (string, bool) { x, ok := c.Technique("T1059.001"); return x.Name + "<" + x.Parent, ok }, "PowerShell<T1059"},
		{"technique unknown", func() (string, bool) { x, ok := c.Technique("T9999"); return x.Name, ok }, ""},
		{"technique empty", func() (string, bool) { x, ok := c.Technique(""); return x.Name, ok }, ""},
		{"tactic id", func() (string, bool) { x, ok := c.Tactic("TA0001"); return x.Name, ok }, "Initial Access"},
		{"tactic id lower", func() (string, bool) { x, ok := c.Tactic("ta0003"); return x.Name, ok }, "Persistence"},
		{"tactic shortname", func() (string, bool) { x, ok := c.Tactic("initial-access"); return x.ID, ok }, "TA0001"},
		{"tactic sigma underscore", func() (string, bool) { x, ok := c.Tactic("initial_access"); return x.ID, ok }, "TA0001"},
		{"tactic mixed case", func() (string, bool) { x, ok := c.Tactic("Command_And_Control"); return x.ID, ok }, "TA0011"},
		{"tactic unknown", func() (string, bool) { x, ok := c.Tactic("lunch-break"); return x.ID, ok }, ""},
		{"mitigation", func() (string, bool) { x, ok := c.Mitigation("m1042"); return x.Name, ok }, "Disable or Remove Feature or Program"},
		{"mitigation unknown", func() (string, bool) { x, ok := c.Mitigation("M9999"); return x.Name, ok }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.got()
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("got %q (found %v); want %q", got, ok, tt.want)
			}
		})
	}
}

func TestRevokedAndDeprecated(t *testing.T) {
	c := embedded(t)
	// T1002 "Data Compressed" was revoked (now T1560); T1026 was deprecated. Old Sigma
	// rules still carry such tags: they resolve, flagged, and are never silently dropped.
	rev, ok := c.Technique("T1002")
	if !ok || !rev.Revoked || rev.Name != "Data Compressed" {
		t.Fatalf("T1002 = %+v, %v; want revoked Data Compressed", rev, ok)
	}
	dep, ok := c.Technique("T1026")
	if !ok || !dep.Deprecated {
		t.Fatalf("T1026 = %+v, %v; want deprecated", dep, ok)
	}
	r := c.Resolve([]string{"attack.t1002", "attack.t1026"})
	if len(r.Techniques) != 2 || !r.Techniques[0].Technique.Revoked || !r.Techniques[1].Technique.Deprecated {
		t.Fatalf("Resolve(revoked, deprecated) = %+v", r)
	}
}

func TestResolve(t *testing.T) {
	c := embedded(t)
	tags := []string{
		"attack.initial-access", "attack.persistence", "attack.t1133", // the dns.exe rule
		"attack.initial_access", // old Sigma spelling, same tactic: once
		"attack.T1059.001",      // sub-technique
		"attack.t1133",          // duplicate: once
		"attack.t9999",          // unknown technique
		"attack.ta0099",         // unknown tactic
		"attack.g0016",          // a group: not in this catalog, kept
		"attack.s0002",          // software, kept
		"attack.m1042",          // a mitigation tag
		"attack.lunch-break",    // not an ATT&CK name at all, kept
		"cve.2020-1350",         // not ATT&CK: ignored
		"detection.emerging-threats",
		"attack.", // empty id, ignored as not a tag with a name
	}
	r := c.Resolve(tags)

	var techIDs []string
	for _, rt := range r.Techniques {
		techIDs = append(techIDs, rt.Technique.ID)
	}
	if want := []string{"T1133", "T1059.001"}; !reflect.DeepEqual(techIDs, want) {
		t.Errorf("techniques = %v; want %v", techIDs, want)
	}
	var tacIDs []string
	for _, tc := range r.Tactics {
		tacIDs = append(tacIDs, tc.ID+" "+tc.Shortname)
	}
	if want := []string{"TA0001 initial-access", "TA0003 persistence"}; !reflect.DeepEqual(tacIDs, want) {
		t.Errorf("tactics = %v; want %v", tacIDs, want)
	}
	if len(r.Mitigations) != 1 || r.Mitigations[0].ID != "M1042" {
		t.Errorf("mitigations = %+v; want M1042", r.Mitigations)
	}
	wantUn := []Unresolved{
		{"attack.t9999", "T9999", "technique"},
		{"attack.ta0099", "TA0099", "tactic"},
		{"attack.g0016", "G0016", "group"},
		{"attack.s0002", "S0002", "software"},
		{"attack.lunch-break", "lunch-break", "unknown"},
	}
	if !reflect.DeepEqual(r.Unresolved, wantUn) {
		t.Errorf("unresolved = %+v; want %+v", r.Unresolved, wantUn)
	}

	t1133 := r.Techniques[0]
	var tt []string
	for _, tc := range t1133.Tactics {
		tt = append(tt, tc.Name)
	}
	if want := []string{"Initial Access", "Persistence"}; !reflect.DeepEqual(tt, want) {
		t.Errorf("T1133 tactics = %v; want %v (matrix order)", tt, want)
	}
	if t1133.Parent != nil || len(t1133.Mitigations) != 5 || t1133.Technique.URL != "https://attack.mitre.org/techniques/T1133" {
		t.Errorf("T1133 resolved = parent %v, %d mitigations, url %q", t1133.Parent, len(t1133.Mitigations), t1133.Technique.URL)
	}
	ps := r.Techniques[1]
	if ps.Parent == nil || ps.Parent.ID != "T1059" || ps.Parent.Name != "Command and Scripting Interpreter" {
		t.Errorf("T1059.001 parent = %+v", ps.Parent)
	}
	if len(ps.Tactics) != 1 || ps.Tactics[0].ID != "TA0002" {
		t.Errorf("T1059.001 tactics = %+v; want Execution", ps.Tactics)
	}
}

func TestResolveEmpty(t *testing.T) {
	r := embedded(t).Resolve(nil)
	if r.Techniques != nil || r.Tactics != nil || r.Mitigations != nil || r.Unresolved != nil {
		t.Fatalf("Resolve(nil) = %+v; want zero", r)
	}
}

func TestIDKind(t *testing.T) {
	for in, want := range map[string]string{
		"t1133": "technique", "T1059.001": "technique", "t1059.1": "unknown", "t1059.0011": "unknown",
		"ta0001": "tactic", "m1042": "mitigation", "g0001": "group", "s0001": "software",
		"c0001": "campaign", "ds0009": "data-source", "det0354": "detection-strategy",
		"x1234": "unknown", "t123": "unknown", "1133": "unknown", "initial-access": "unknown",
		"ta0001.001": "unknown", "": "unknown",
	} {
		if got := idKind(in); got != want {
			t.Errorf("idKind(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestNoticeMatchesLicenceFile(t *testing.T) {
	lic, err := os.ReadFile("LICENSE-ATTACK.txt")
	if err != nil {
		t.Fatal(err)
	}
	attackPart, _, found := strings.Cut(string(lic), "CAPEC™")
	if !found {
		t.Fatal("LICENSE-ATTACK.txt: no CAPEC section to cut at")
	}
	if strings.TrimSpace(attackPart) != strings.TrimSpace(attackLicence) {
		t.Error("attackLicence differs from the ATT&CK section of LICENSE-ATTACK.txt")
	}
	c := embedded(t)
	for _, s := range []string{c.Meta().Copyright, c.Meta().Commit, "v" + c.Meta().Version} {
		if s == "" || !strings.Contains(Notice, s) {
			t.Errorf("Notice lacks %q", s)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"not json":            `{"tactics":`,
		"empty technique id":  `{"techniques":[{"id":""}]}`,
		"duplicate technique": `{"techniques":[{"id":"T1"},{"id":"t1"}]}`,
		"orphan subtechnique": `{"techniques":[{"id":"T1.001","is_subtechnique":true,"parent":"T1"}]}`,
		"sub flag mismatch":   `{"techniques":[{"id":"T1"},{"id":"T1.001","parent":"T1"}]}`,
		"tactic no shortname": `{"tactics":[{"id":"TA1"}]}`,
		"duplicate tactic":    `{"tactics":[{"id":"TA1","shortname":"a"},{"id":"TA2","shortname":"A"}]}`,
		"link to nothing":     `{"techniques":[{"id":"T1"}],"technique_mitigations":[{"technique":"T1","mitigation":"M1"}]}`,
		"dup mitigation":      `{"mitigations":[{"id":"M1"},{"id":"M1"}]}`,
		"too big":             `{"x":"` + strings.Repeat("a", maxCatalog) + `"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse([]byte(in))
			if err == nil || c != nil {
				t.Fatalf("Parse accepted it: %v", c)
			}
			if !strings.HasPrefix(err.Error(), "attack: catalog") {
				t.Fatalf("error %q does not say where", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"tactics":[{"id":"TA1","shortname":"x_y"}],"techniques":[{"id":"T1","tactics":["x-y"]},{"id":"T1.001","is_subtechnique":true,"parent":"T1"}],"mitigations":[{"id":"M1"}],"technique_mitigations":[{"technique":"T1","mitigation":"M1"}]}`))
	f.Add([]byte(`{"techniques":[{"id":"T1","parent":null}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		// A catalog Parse accepted must answer every question without panicking.
		r := c.Resolve([]string{"attack.t1", "attack.t1.001", "attack.x_y", "attack.ta1", "attack.m1", string(data)})
		for _, rt := range r.Techniques {
			if rt.Technique.IsSubtechnique() && rt.Parent == nil {
				t.Fatalf("sub-technique %s resolved without its parent", rt.Technique.ID)
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	c := embedded(f)
	for _, s := range []string{"attack.t1133", "attack.initial_access", "attack.t1059.001", "attack.g0001", "ATTACK.TA0001", "attack."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		r := c.Resolve([]string{tag})
		n := len(r.Techniques) + len(r.Tactics) + len(r.Mitigations) + len(r.Unresolved)
		isAttack := len(tag) > len("attack.") && strings.EqualFold(tag[:len("attack.")], "attack.")
		// An attack.* tag lands in exactly one place; anything else is ignored.
		if isAttack && n != 1 || !isAttack && n != 0 {
			t.Fatalf("Resolve(%q) placed it %d times: %+v", tag, n, r)
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	c := embedded(b)
	tags := []string{"attack.initial-access", "attack.persistence", "attack.t1133", "attack.t1059.001", "attack.g0016"}
	b.ReportAllocs()
	for b.Loop() {
		r := c.Resolve(tags)
		if len(r.Techniques) != 2 {
			b.Fatal(r)
		}
	}
}

func BenchmarkEmbeddedDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEmbedded(); err != nil {
			b.Fatal(err)
		}
	}
}

func keys(m map[string]Applied) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
