package rules

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/detect/sigma"
	"go.yaml.in/yaml/v3"
)

// sigmaKeys are the top-level keys Sigma defines; everything else is Extra.
var sigmaKeys = map[string]bool{
	"title": true, "id": true, "related": true, "name": true, "taxonomy": true, "status": true,
	"description": true, "license": true, "references": true, "author": true, "date": true,
	"modified": true, "tags": true, "logsource": true, "detection": true, "fields": true,
	"falsepositives": true, "level": true, "scope": true,
}

// handBuilt decodes a rule file the way the Sigma parser fills Rule: standard keys into
// fields, the rest into Extra. It stands in for sigma.ParseRules in these tests.
func handBuilt(t *testing.T, data []byte) *sigma.Rule {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	r := &sigma.Rule{Extra: map[string]any{}}
	r.ID, _ = doc["id"].(string)
	r.Title, _ = doc["title"].(string)
	r.Level, _ = doc["level"].(string)
	r.Author, _ = doc["author"].(string)
	for _, tag := range doc["tags"].([]any) {
		r.Tags = append(r.Tags, tag.(string))
	}
	for k, v := range doc {
		if !sigmaKeys[k] {
			r.Extra[k] = v
		}
	}
	return r
}

func builtinRule(t *testing.T) []byte {
	t.Helper()
	data, ok := Builtin()["dns_exe_child.yml"]
	if !ok {
		t.Fatalf("Builtin() = %v; lacks dns_exe_child.yml", keysOf(Builtin()))
	}
	return data
}

func TestBuiltinRuleStandardFields(t *testing.T) {
	r := handBuilt(t, builtinRule(t))
	if r.ID != "7ee304c8-7191-4f10-af74-1caf21105250" || r.Title != "Unusual Child Process of dns.exe" || r.Level != "high" {
		t.Errorf("rule = %q %q %q", r.ID, r.Title, r.Level)
	}
	if want := []string{"attack.initial-access", "attack.persistence", "attack.t1133"}; !reflect.DeepEqual(r.Tags, want) {
		t.Errorf("tags = %v; want %v", r.Tags, want)
	}
	// DRL 1.1: the upstream author is kept.
	if !strings.Contains(r.Author, "Tim Rauch, Elastic (idea)") {
		t.Errorf("author = %q; must keep the upstream author", r.Author)
	}
	var doc struct {
		Related   []struct{ ID, Type string } `yaml:"related"`
		Logsource struct {
			Category, Product string
		} `yaml:"logsource"`
		Detection map[string]any `yaml:"detection"`
	}
	if err := yaml.Unmarshal(builtinRule(t), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Related) != 1 || doc.Related[0].ID != "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3" || doc.Related[0].Type != "derived" {
		t.Errorf("related = %+v; want the SigmaHQ rule as derived", doc.Related)
	}
	if doc.Logsource.Category != "process_creation" || doc.Logsource.Product != "windows" {
		t.Errorf("logsource = %+v", doc.Logsource)
	}
	wantDet := map[string]any{
		"selection": map[string]any{`ParentImage|endswith`: `\dns.exe`},
		"filter":    map[string]any{`Image|endswith`: `\conhost.exe`},
		"condition": "selection and not filter",
	}
	if !reflect.DeepEqual(doc.Detection, wantDet) {
		t.Errorf("detection = %#v; want %#v", doc.Detection, wantDet)
	}
}

func TestMetadataOfBuiltin(t *testing.T) {
	m := MetadataOf(handBuilt(t, builtinRule(t)))
	if len(m.Problems) > 0 {
		t.Fatalf("problems: %v", m.Problems)
	}
	if m.Severity != "Trouble" || m.ExecutionMode != "realtime" {
		t.Errorf("severity %q, mode %q", m.Severity, m.ExecutionMode)
	}
	if want := "NIST CSF 2.0 DE.CM-01: Networks and network services are monitored to find potentially adverse events."; m.SecurityStandard != want {
		t.Errorf("security standard = %q; want %q", m.SecurityStandard, want)
	}
	var ids []string
	for _, mi := range m.Mitigations {
		ids = append(ids, mi.ID)
		if mi.Name == "" || mi.Description == "" {
			t.Errorf("mitigation %s lacks name or description: %+v", mi.ID, mi)
		}
	}
	if want := []string{"M1042", "M1035", "M1032", "M1030"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("mitigations = %v; want %v", ids, want)
	}
	if m.Mitigations[0].Description != "Disable or block remotely available services that may be unnecessary." {
		t.Errorf("M1042 description = %q; want the page's line", m.Mitigations[0].Description)
	}
	if len(m.AttackChain) != 5 || m.AttackChain[2] != "dns.exe exploited" {
		t.Errorf("attack chain = %v", m.AttackChain)
	}
	if len(m.Impact) != 5 || len(m.Prerequisites) != 3 {
		t.Errorf("impact %d, prerequisites %d; want 5, 3", len(m.Impact), len(m.Prerequisites))
	}
	if !strings.HasSuffix(m.Prerequisites[2], `"Computer\HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\EventLog\" if not already created.`) {
		t.Errorf("registry prerequisite lost its backslashes: %q", m.Prerequisites[2])
	}
	if len(m.NextSteps) != 4 || !strings.HasPrefix(m.NextSteps[0], "Identification: ") || !strings.HasPrefix(m.NextSteps[3], "Reconfiguration: ") {
		t.Errorf("next steps = %q", m.NextSteps)
	}
	if want := []string{"host name", "message", "command line", "file name", "process name", "user name", "parent process name"}; !reflect.DeepEqual(m.SelectedLabels, want) {
		t.Errorf("selected labels = %v; want %v", m.SelectedLabels, want)
	}
	if want := []string{"Computer", "Message", "CommandLine", "Image", "OriginalFileName", "User", "ParentImage"}; !reflect.DeepEqual(m.SelectedFields, want) {
		t.Errorf("selected fields = %v; want %v", m.SelectedFields, want)
	}
	if a := m.DerivedFrom; a.ID != "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3" || a.Author != "Tim Rauch, Elastic (idea)" || !strings.Contains(a.License, "Detection Rule License") {
		t.Errorf("derived from = %+v", a)
	}
}

func TestMetadataOfWithout(t *testing.T) {
	for _, r := range []*sigma.Rule{nil, {}, {Title: "x", Extra: map[string]any{}}, {Extra: map[string]any{"unrelated": 1}}} {
		if m := MetadataOf(r); !reflect.DeepEqual(m, Metadata{}) {
			t.Errorf("MetadataOf(%+v) = %+v; want zero", r, m)
		}
	}
}

func TestMetadataOfMalformed(t *testing.T) {
	r := &sigma.Rule{Extra: map[string]any{
		"severity":          []any{"x"},
		"execution_mode":    2.5, // YAML numbers render, not refuse
		"mitigations":       []any{"M1042", 7, map[string]any{"id": "M1030", "name": map[string]any{}}},
		"next_steps":        "not a list",
		"impact":            []any{"ok", nil},
		"selected_fields":   []any{"Image", map[any]any{"label": "x"}, map[any]any{"field": "User", 3: "ignored"}},
		"security_standard": "free text",
		"derived_from":      "someone",
		"attack_chain":      make([]any, maxItems+5),
	}}
	m := MetadataOf(r)
	if m.ExecutionMode != "2.5" || m.SecurityStandard != "free text" {
		t.Errorf("mode %q, standard %q", m.ExecutionMode, m.SecurityStandard)
	}
	if len(m.Mitigations) != 2 || m.Mitigations[0].ID != "M1042" || m.Mitigations[1].ID != "M1030" {
		t.Errorf("mitigations = %+v", m.Mitigations)
	}
	if !reflect.DeepEqual(m.SelectedFields, []string{"Image", "User"}) || len(m.SelectedLabels) != 2 {
		t.Errorf("selected = %v %v", m.SelectedFields, m.SelectedLabels)
	}
	want := []string{
		"severity: want a string, got list",
		"mitigations[1]: want a mapping, got int",
		"mitigations[2].name: want a string, got mapping",
		"next_steps: want a list, got string",
		"impact[1]: want a string, got null",
		"selected_fields[1].field: missing",
		"derived_from: want a mapping, got string",
		"attack_chain: 261 items, only the first 256 kept",
	}
	for _, w := range want {
		if !contains(m.Problems, w) {
			t.Errorf("problems %q lack %q", m.Problems, w)
		}
	}
}

func TestNotice(t *testing.T) {
	n := Notice()
	for _, s := range []string{
		"Unusual Child Process of dns.exe", "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3", "Tim Rauch, Elastic (idea)",
		"https://github.com/SigmaHQ/sigma/blob/master/rules/windows/process_creation/proc_creation_win_dns_susp_child_process.yml",
		"# Detection Rule License (DRL) 1.1", "THE RULES ARE PROVIDED \"AS IS\"",
	} {
		if !strings.Contains(n, s) {
			t.Errorf("Notice lacks %q", s)
		}
	}
}

func FuzzMetadataOf(f *testing.F) {
	f.Add(string(Builtin()["dns_exe_child.yml"]))
	f.Add("mitigations: [M1, {id: 2}]\nselected_fields: [{field: [x]}]\n")
	f.Add("security_standard: {framework: 1, id: null}\nderived_from: [a]\n")
	f.Fuzz(func(t *testing.T, src string) {
		var extra map[string]any
		if yaml.Unmarshal([]byte(src), &extra) != nil {
			return
		}
		m := MetadataOf(&sigma.Rule{Extra: extra})
		if len(m.SelectedFields) != len(m.SelectedLabels) {
			t.Fatalf("selected fields %d, labels %d", len(m.SelectedFields), len(m.SelectedLabels))
		}
		if len(m.Mitigations) > maxItems || len(m.NextSteps) > maxItems {
			t.Fatalf("unbounded: %d mitigations, %d next steps", len(m.Mitigations), len(m.NextSteps))
		}
	})
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func keysOf(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
