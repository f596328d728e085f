package sigma

import (
	"testing"
)

// TestLoadAllSigmaHQ loads every SigmaHQ process_creation rule: each must load (goal:
// zero refusals), and the whole set must build without duplicate ids.
func TestLoadAllSigmaHQ(t *testing.T) {
	dir := sharedDir(t, "sigma/rules")
	rules, refused := LoadPaths([]string{dir}, nil)
	for _, r := range refused {
		t.Errorf("refused %v", r)
	}
	if len(rules) < 1000 {
		t.Fatalf("loaded %d rules, want the 1183 SigmaHQ process_creation rules", len(rules))
	}
	set, ref := NewSet(rules)
	for _, r := range ref {
		t.Errorf("set refused %v", r)
	}
	if got := len(set.Rules()); got != len(rules) {
		t.Errorf("set has %d rules, want %d", got, len(rules))
	}
	for _, r := range rules {
		if r.route.kind.String() != "process_start" {
			t.Errorf("%s: process_creation rule not routed to process starts", r.File)
		}
	}
}
