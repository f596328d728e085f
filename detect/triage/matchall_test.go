package triage

import (
	"context"
	"errors"
	"testing"
)

// TestMatchAllIsNoCondition: a condition of only '*' matches every value, so it is no
// condition. Alone it cannot make an entry (that would mute every rule); beside a rule it
// is dropped, and the entry round-trips through Sigma export and import unchanged.
func TestMatchAllIsNoCondition(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, _, err := s.AddAllow(ctx, AllowEntry{Image: mustPattern(t, "*"), Reason: "everything"}, false, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddAllow with only Image '*' = %v, want ErrInvalid", err)
	}
	e, _, err := s.AddAllow(ctx, AllowEntry{RuleID: "rule-1", Image: mustPattern(t, "**"), Host: mustPattern(t, "dc01"), Reason: "r"}, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Image != nil || e.Host == nil {
		t.Fatalf("stored entry image %v host %v; want the '**' dropped and the host kept", e.Image, e.Host)
	}
	data, err := ExportSigma([]AllowEntry{e})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ImportSigma(data)
	if err != nil || len(back) != 1 || back[0].Image != nil || back[0].Host == nil || back[0].Host.Text != "dc01" {
		t.Fatalf("round trip: %+v, %v\n%s", back, err, data)
	}
}
