package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// sharedDir returns ../shared/<rel> from the repo root, failing in CI when it is missing.
func sharedDir(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %s missing in CI: %v", p, err)
		}
		t.Skipf("shared data %s not present (clone shared/ beside the repo): %v", p, err)
	}
	return p
}

// mustRule parses exactly one rule or fails.
func mustRule(t testing.TB, y string) *Rule {
	t.Helper()
	return mustRuleCfg(t, y, nil)
}

func mustRuleCfg(t testing.TB, y string, cfg *Config) *Rule {
	t.Helper()
	rs, ref := ParseRules([]byte(y), "inline.yml", cfg)
	if len(ref) > 0 {
		t.Fatalf("refused: %v", ref)
	}
	if len(rs) != 1 {
		t.Fatalf("got %d rules, want 1", len(rs))
	}
	return rs[0]
}

// procStart builds a Sysmon EID 1 event with the given original fields; Image,
// ParentImage, CommandLine... also fill the canonical struct fields as a decoder would.
func procStart(kv ...string) *source.Event {
	ev := &source.Event{Kind: source.KindProcessStart, EventID: 1, Channel: chanSysmon, Provider: "Microsoft-Windows-Sysmon", Host: "dc01"}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Fields = append(ev.Fields, source.Field{Name: kv[i], Value: kv[i+1]})
		switch kv[i] {
		case "Image":
			ev.Process.Image = kv[i+1]
		case "ParentImage":
			ev.Parent.Image = kv[i+1]
		case "CommandLine":
			ev.Process.CommandLine = kv[i+1]
		case "ParentCommandLine":
			ev.Parent.CommandLine = kv[i+1]
		case "User":
			ev.Process.User = kv[i+1]
		case "OriginalFileName":
			ev.Process.OriginalFileName = kv[i+1]
		}
	}
	return ev
}
