package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRulesList(t *testing.T) {
	code, stdout, stderr := runWith(t, "", "rules", "list")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "Unusual Child Process of dns.exe") || !strings.Contains(stdout, "T1133") {
		t.Errorf("table lacks the built-in rule:\n%s", stdout)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("title: broken\nlogsource: {category: process_creation}\ndetection:\n  sel: {Image: x}\n  condition: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runWith(t, "", "rules", "list", "--json", "--no-builtin", "--rules", bad)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	lines := alertLines(t, stdout)
	if len(lines) != 1 || lines[0]["file"] != bad || lines[0]["rule.name"] != "broken" {
		t.Fatalf("json = %v", lines)
	}
	if r, _ := lines[0]["refused"].(string); !strings.HasPrefix(r, bad+":") {
		t.Errorf("refused = %q, want it to start with %s:", r, bad)
	}

	code, stdout, _ = runWith(t, "", "rules", "list", "--json")
	lines = alertLines(t, stdout)
	if code != exitOK || len(lines) != 1 {
		t.Fatalf("built-in: exit %d, %v", code, lines)
	}
	for _, k := range []string{"rule.id", "rule.name", "level", "status", "attack", "file"} {
		if _, ok := lines[0][k]; !ok {
			t.Errorf("built-in rule line lacks %s: %v", k, lines[0])
		}
	}
}

func TestRulesUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"rules"},
		{"rules", "frobnicate"},
		{"rules", "list", "extra"},
		{"rules", "test"},
		{"rules", "test", "--rules", "testdata/nope", sample},
	} {
		code, _, stderr := runWith(t, "", args...)
		if code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, exitUsage)
		}
	}
}

func TestRulesTestSample(t *testing.T) {
	code, stdout, stderr := runWith(t, "", "rules", "test", sample)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	lines := alertLines(t, stdout)
	if len(lines) != 1 || lines[0]["matches"] != float64(1) || lines[0]["rule.name"] != "Unusual Child Process of dns.exe" {
		t.Errorf("rules test = %v", lines)
	}
}

// TestRulesTestSigmaRegression runs every SigmaHQ regression case in
// shared/sigma/regression_data/cases.tsv through `vigil rules test --rules RULE JSON`
// and checks the rule's match count (at least one where the case gives none).
func TestRulesTestSigmaRegression(t *testing.T) {
	sigmaDir := filepath.Join(sharedDir(t), "sigma")
	data, err := os.ReadFile(filepath.Join(sigmaDir, "regression_data", "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(rows) < 2 {
		t.Fatal("cases.tsv has no cases")
	}
	for _, row := range rows[1:] {
		f := strings.Split(row, "\t")
		if len(f) != 5 {
			t.Fatalf("cases.tsv row has %d columns: %q", len(f), row)
		}
		rulePath := filepath.Join(sigmaDir, filepath.FromSlash(f[0]))
		jsonPath := filepath.Join(sigmaDir, "regression_data", filepath.FromSlash(f[2]))
		ruleID, wantText := f[1], f[4]
		t.Run(filepath.Base(f[0]), func(t *testing.T) {
			code, stdout, stderr := runWith(t, "", "rules", "test", "--no-builtin", "--rules", rulePath, jsonPath)
			if code != exitOK {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			var got struct {
				ID      string `json:"rule.id"`
				Matches int    `json:"matches"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil || got.ID != ruleID {
				t.Fatalf("output %q (%v), want one line for %s", stdout, err, ruleID)
			}
			if wantText == "" {
				if got.Matches < 1 {
					t.Errorf("matches = 0, want at least 1")
				}
				return
			}
			want, err := strconv.Atoi(wantText)
			if err != nil {
				t.Fatalf("match_count %q: %v", wantText, err)
			}
			if got.Matches != want {
				t.Errorf("matches = %d, want %d", got.Matches, want)
			}
		})
	}
}
