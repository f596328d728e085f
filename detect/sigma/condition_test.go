package sigma

import (
	"strings"
	"testing"
)

// TestConditions: every condition form, against selections a (true), b (false), c (true).
func TestConditions(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{"sel_a", true},
		{"sel_b", false},
		{"sel_a and sel_b", false},
		{"sel_a or sel_b", true},
		{"not sel_b", true},
		{"not sel_a", false},
		{"sel_b or sel_a and sel_c", true}, // and binds tighter than or
		{"(sel_b or sel_a) and not sel_c", false},
		{"not sel_a or sel_c", true}, // not binds tighter than or
		{"1 of sel_*", true},
		{"all of sel_*", false},
		{"all of sel_a*", true},
		{"1 of them", true},
		{"all of them", false},
		{"any of sel_b", false},
		{"not 1 of sel_b* and sel_a", true},
		{"((sel_a))", true},
		{"sel_a AND NOT sel_b", true},
		{"all of them or _hidden", false}, // _hidden is excluded from them and is false
	}
	base := "title: t\nlogsource: {category: process_creation}\ndetection:\n    sel_a: {Image|endswith: 'a.exe'}\n    sel_b: {Image|endswith: 'b.exe'}\n    sel_c: {Image|contains: 'a'}\n    _hidden: {Image: zzz}\n    condition: "
	ev := procStart("Image", `C:\a.exe`)
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			r := mustRule(t, base+tc.cond+"\n")
			if got := r.Matches(ev); got != tc.want {
				t.Errorf("%q = %v, want %v", tc.cond, got, tc.want)
			}
		})
	}
}

func TestConditionList(t *testing.T) {
	r := mustRule(t, "title: t\nlogsource: {category: process_creation}\ndetection:\n    a: {Image: x}\n    b: {Image: y}\n    condition:\n        - a\n        - b\n")
	if !r.Matches(procStart("Image", "y")) || r.Matches(procStart("Image", "z")) {
		t.Error("a list of conditions must be OR-ed")
	}
}

func TestConditionErrors(t *testing.T) {
	names := []string{"sel", "filter"}
	for cond, want := range map[string]string{
		"":              "empty",
		"sel and":       "expression expected",
		"(sel":          "missing ')'",
		"sel)":          "unexpected \")\"",
		"sel filter":    "unexpected \"filter\"",
		"2 of sel":      "only '1 of' and 'all of'",
		"1 of nothing*": "matches no selection",
		"1 of":          "needs 'them'",
		"and sel":       "unexpected \"and\"",
		strings.Repeat("(", 100) + "sel" + strings.Repeat(")", 100): "deeper",
	} {
		_, err := parseCondition(cond, names)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseCondition(%.30q) = %v, want error containing %q", cond, err, want)
		}
	}
}

func TestKeywords(t *testing.T) {
	r := mustRule(t, "title: t\nlogsource: {product: windows}\ndetection:\n    keywords:\n        - 'event::clear'\n        - 'event::drop'\n    condition: keywords\n")
	ev := procStart("CommandLine", "mimikatz EVENT::Clear exit")
	if !r.Matches(ev) {
		t.Error("keyword in a field value did not match")
	}
	ev = procStart("CommandLine", "x")
	ev.Message = "ran event::drop"
	if !r.Matches(ev) {
		t.Error("keyword in the message did not match")
	}
	all := mustRule(t, "title: t\nlogsource: {product: windows}\ndetection:\n    k:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n    condition: k\n")
	if all.Matches(procStart("CommandLine", "OabVirtualDirectory")) {
		t.Error("|all keywords matched with one missing")
	}
}

func TestFilterRules(t *testing.T) {
	data := dnsRule + `---
title: Filter conhost-like noise from admin
id: 11111111-2222-3333-4444-555555555555
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - a4e3d776-f12e-42c2-8510-9e6ed1f43ec3
    selection:
        User|startswith: 'adm_'
    condition: not selection
`
	rules, ref := ParseRules([]byte(data), "multi.yml", nil)
	if len(ref) > 0 || len(rules) != 2 {
		t.Fatalf("rules %d, refused %v", len(rules), ref)
	}
	if !rules[1].IsFilter || rules[1].FilterRules[0] != "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3" || rules[1].Line != 16 {
		t.Fatalf("filter not parsed: %+v", rules[1])
	}
	set, _ := NewSet(rules)
	if len(set.Rules()) != 2 {
		t.Errorf("Rules() = %d, want both", len(set.Rules()))
	}
	hit := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`, "User", "alice")
	if got := set.Match(hit, nil); len(got) != 1 || got[0] != rules[0] {
		t.Errorf("unfiltered event: %v", got)
	}
	filtered := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`, "User", "adm_bob")
	if got := set.Match(filtered, nil); len(got) != 0 {
		t.Errorf("filtered event still matched %d rules", len(got))
	}
	if !rules[0].Matches(filtered) {
		t.Error("Rule.Matches must ignore filters")
	}
}

// TestFilterSemantics: a filter's condition is ANDed into its rules' conditions (filters
// spec v2.1.0, as pySigma applies it); "rules: any" or no rules means every rule whose
// logsource the filter's contains.
func TestFilterSemantics(t *testing.T) {
	hit := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`, "User", "alice")
	admin := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`, "User", "adm_bob")
	filter := func(rules, logsource, condition string) string {
		return dnsRule + "---\ntitle: f\nlogsource: " + logsource + "\nfilter:\n" + rules +
			"    selection:\n        User|startswith: 'adm_'\n    condition: " + condition + "\n"
	}
	tests := []struct {
		name             string
		doc              string
		wantHit, wantAdm bool
	}{
		{"exclusion by id", filter("    rules: [a4e3d776-f12e-42c2-8510-9e6ed1f43ec3]\n", "{product: windows}", "not selection"), true, false},
		{"rules any", filter("    rules: any\n", "{product: windows}", "not selection"), true, false},
		{"rules omitted", filter("", "{category: process_creation}", "not selection"), true, false},
		{"rules empty list", filter("    rules: []\n", "{product: windows}", "not selection"), true, false},
		{"restriction", filter("    rules: any\n", "{product: windows}", "selection"), false, true},
		{"other rule", filter("    rules: [some-other-rule]\n", "{product: windows}", "not selection"), true, true},
		{"logsource not contained", filter("    rules: any\n", "{product: linux}", "not selection"), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, ref := ParseRules([]byte(tc.doc), "f.yml", nil)
			if len(ref) > 0 || len(rules) != 2 || !rules[1].IsFilter {
				t.Fatalf("rules %d, refused %v", len(rules), ref)
			}
			set, ref := NewSet(rules)
			if len(ref) > 0 {
				t.Fatalf("NewSet refused %v", ref)
			}
			if got := len(set.Match(hit, nil)) == 1; got != tc.wantHit {
				t.Errorf("alice's event matched = %v, want %v", got, tc.wantHit)
			}
			if got := len(set.Match(admin, nil)) == 1; got != tc.wantAdm {
				t.Errorf("adm_bob's event matched = %v, want %v", got, tc.wantAdm)
			}
		})
	}
}

func TestDuplicateIDs(t *testing.T) {
	a := mustRule(t, dnsRule)
	b := mustRule(t, dnsRule)
	set, ref := NewSet([]*Rule{a, b})
	if len(ref) != 1 || !strings.Contains(ref[0].Reason, "duplicate id") || len(set.Rules()) != 1 {
		t.Errorf("refused %v, rules %d", ref, len(set.Rules()))
	}
}

func TestCollectionActions(t *testing.T) {
	data := `action: global
title: Shared
logsource: {category: process_creation, product: windows}
detection:
    condition: sel
---
id: r1
detection:
    sel: {Image|endswith: '\a.exe'}
---
action: repeat
id: r2
detection:
    sel: {Image|endswith: '\b.exe'}
`
	rules, ref := ParseRules([]byte(data), "c.yml", nil)
	if len(ref) > 0 || len(rules) != 2 {
		t.Fatalf("rules %d, refused %v", len(rules), ref)
	}
	if rules[0].Title != "Shared" || !rules[0].Matches(procStart("Image", `C:\a.exe`)) {
		t.Error("global not merged into r1")
	}
	if rules[1].ID != "r2" || !rules[1].Matches(procStart("Image", `C:\b.exe`)) || rules[1].Matches(procStart("Image", `C:\a.exe`)) {
		t.Error("repeat did not override the selection")
	}
}

func TestExtraAndRouting(t *testing.T) {
	r := mustRule(t, "title: t\nvigil:\n    severity: Trouble\nlogsource: {category: registry_set, product: windows}\ndetection:\n    s: {TargetObject|contains: 'Run'}\n    condition: s\n")
	if m, ok := r.Extra["vigil"].(map[string]any); !ok || m["severity"] != "Trouble" {
		t.Errorf("Extra = %v", r.Extra)
	}
	ev := procStart("TargetObject", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run\x`)
	if r.Matches(ev) {
		t.Error("registry_set rule matched a process start (EID 1)")
	}
	ev.Kind, ev.EventID = 0, 13
	if !r.Matches(ev) {
		t.Error("registry_set rule did not match Sysmon 13")
	}
}
