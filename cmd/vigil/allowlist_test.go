package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
)

func TestParseAllowAddFlags(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := func(args ...string) allowAddOptions {
		t.Helper()
		o, err := parseAllowAddFlags(args, now, io.Discard)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return o
	}
	o := ok("--image", `*\cmd.exe`, "--parent-image", `C:\Windows\System32\dns.exe`, "--command-line", "re:whoami",
		"--user", `cased:CORP\svc`, "--host", "dc0?", "--rule", "r1", "--reason", "backup", "--expires", "36h",
		"--close-matching", "--close-reason", "benign_positive", "--state", "/s")
	e := o.entry
	if o.state != "/s" || !o.closeMatching || o.closeReason != triage.ReasonBenignPositive || e.RuleID != "r1" || e.Reason != "backup" ||
		e.Image.String() != `*\cmd.exe` || e.ParentImage.Kind != triage.PatternExact || e.CommandLine.Kind != triage.PatternRegex ||
		!e.User.CaseSensitive || e.Host.Kind != triage.PatternGlob || !e.Expires.Equal(now.Add(36*time.Hour)) {
		t.Errorf("parsed %+v", o)
	}
	if o := ok("--rule", "r1", "--reason", "x"); o.closeReason != triage.ReasonFalsePositive || o.entry.Image != nil {
		t.Errorf("defaults: %+v", o)
	}
	for _, tc := range []struct {
		exp  string
		want time.Time
	}{
		{"7d", now.AddDate(0, 0, 7)},
		{"90m", now.Add(90 * time.Minute)},
		{"2026-06-30", time.Date(2026, 6, 30, 0, 0, 0, 0, time.Local).UTC()},
		{"2026-04-01T10:00:00+02:00", time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)},
	} {
		if got := ok("--image", "x", "--reason", "r", "--expires", tc.exp).entry.Expires; !got.Equal(tc.want) {
			t.Errorf("--expires %s = %v, want %v", tc.exp, got, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--image", "x"}, "--reason is required"},
		{[]string{"--reason", "x"}, "give --rule or at least one"},
		{[]string{"--image", "re:(", "--reason", "x"}, "-image"},
		{[]string{"--host", "", "--reason", "x"}, "-host"},
		{[]string{"--image", "x", "--reason", "x", "--expires", "soon"}, "--expires"},
		{[]string{"--image", "x", "--reason", "x", "--expires", "-5m"}, "--expires"},
		{[]string{"--image", "x", "--reason", "x", "--expires", "2020-01-01"}, "not in the future"},
		{[]string{"--image", "x", "--reason", "x", "--expires", "0d"}, "--expires"},
		{[]string{"--image", "x", "--reason", "x", "--close-reason", "true_positive"}, "--close-reason"},
		{[]string{"--image", "x", "--reason", "x", "stray"}, "unexpected argument"},
	} {
		_, err := parseAllowAddFlags(tc.args, now, io.Discard)
		var ue *usageError
		if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want a usage error naming %q", tc.args, err, tc.want)
		}
	}
}

func TestParseAllowOtherFlags(t *testing.T) {
	if o, err := parseAllowListFlags([]string{"--json", "--state", "/s"}, io.Discard); err != nil || !o.json || o.state != "/s" {
		t.Errorf("list: %+v, %v", o, err)
	}
	if o, err := parseAllowIDFlags("allowlist rm", []string{"al-1", "--state", "/s"}, io.Discard); err != nil || o.id != "al-1" || o.state != "/s" {
		t.Errorf("rm: %+v, %v", o, err)
	}
	if _, err := parseAllowIDFlags("allowlist rm", nil, io.Discard); err == nil {
		t.Error("rm without an id parsed")
	}
	if o, err := parseAllowFileFlags("allowlist export", nil, false, io.Discard); err != nil || o.file != "" {
		t.Errorf("export to stdout: %+v, %v", o, err)
	}
	if _, err := parseAllowFileFlags("allowlist import", nil, true, io.Discard); err == nil {
		t.Error("import without a file parsed")
	}
	if _, err := parseAllowFileFlags("allowlist export", []string{"a", "b"}, false, io.Discard); err == nil {
		t.Error("export with two files parsed")
	}
}

func TestAllowlistCommands(t *testing.T) {
	dir := t.TempDir()
	seedStore(t, dir)

	code, out, errs := runCmd(t, "allowlist", "add", "--state", dir, "--image", `*\CMD.EXE`, "--parent-image", `*\dns.exe`,
		"--rule", "rule-dns", "--reason", "nightly zone transfer script", "--close-matching", "--close-reason", "benign_positive")
	if code != exitOK || !strings.Contains(out, "closed 2 matching alert(s) as benign_positive") {
		t.Fatalf("add: exit %d, out %q, err %q", code, out, errs)
	}
	id := strings.Fields(out)[1]
	id = strings.TrimSuffix(id, ";")
	if !strings.HasPrefix(id, "al-") {
		t.Fatalf("add printed no id: %q", out)
	}
	_, out, _ = runCmd(t, "alerts", "list", "--json", "--state", dir, "--status", "closed")
	if n := strings.Count(out, `"vigil.allowlist_id":"`+id+`"`); n != 2 {
		t.Errorf("%d closed alerts carry %s, want 2:\n%s", n, id, out)
	}
	_, out, _ = runCmd(t, "alerts", "show", "a-old", "--state", dir)
	if !strings.Contains(out, "allowlisted by "+id) {
		t.Errorf("the audit trail does not name the allowlist entry:\n%s", out)
	}

	if code, _, _ = runCmd(t, "allowlist", "add", "--state", dir, "--host", "DC02", "--reason", "lab", "--expires", "1h"); code != exitOK {
		t.Fatalf("second add: exit %d", code)
	}
	code, out, _ = runCmd(t, "allowlist", "list", "--json", "--state", dir)
	if code != exitOK {
		t.Fatalf("list: exit %d", code)
	}
	var entries []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("list --json line %q: %v", l, err)
		}
		entries = append(entries, m)
	}
	if len(entries) != 2 || entries[0]["id"] != id || entries[0]["image"] != `*\CMD.EXE` || entries[0]["expired"] != false ||
		entries[0]["rule.id"] != "rule-dns" || entries[1]["host"] != "DC02" {
		t.Errorf("list --json = %v", entries)
	}
	if code, out, _ = runCmd(t, "allowlist", "list", "--state", dir); code != exitOK || !strings.Contains(out, "image=*\\CMD.EXE parent=*\\dns.exe") {
		t.Errorf("list table: exit %d:\n%s", code, out)
	}

	// Export to a file loads as Sigma filter rules, and imports into a fresh store.
	file := filepath.Join(t.TempDir(), "mf_vigil_allowlist.yml")
	if code, _, errs = runCmd(t, "allowlist", "export", file, "--state", dir); code != exitOK {
		t.Fatalf("export: exit %d, %q", code, errs)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rules, refused := sigma.ParseRules(data, file, nil)
	if len(refused) != 0 || len(rules) != 2 || !rules[0].IsFilter {
		t.Errorf("sigma.ParseRules of the export: %d rules, refused %v", len(rules), refused)
	}
	if code, stdout, _ := runCmd(t, "allowlist", "export", "--state", dir); code != exitOK || stdout != string(data) {
		t.Errorf("export to stdout differs from the file (exit %d)", code)
	}
	other := t.TempDir()
	if code, out, errs = runCmd(t, "allowlist", "import", file, "--state", other); code != exitOK || !strings.Contains(out, "imported 2 entries") {
		t.Errorf("import: exit %d, %q, %q", code, out, errs)
	}
	if code, out, _ = runCmd(t, "allowlist", "import", file, "--state", other); code != exitOK || !strings.Contains(out, "imported 0 entries") {
		t.Errorf("second import: exit %d, %q", code, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("title: x\nfilter:\n    rules: [r]\n    selection:\n        Hashes: abc\n    condition: not selection\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs = runCmd(t, "allowlist", "import", bad, "--state", other); code != exitUsage || !strings.Contains(errs, bad+": line 5:") {
		t.Errorf("bad import: exit %d, %q; want 2 naming the file and line", code, errs)
	}
	if code, _, errs = runCmd(t, "allowlist", "import", filepath.Join(other, "missing.yml"), "--state", other); code != exitUsage {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}

	if code, out, _ = runCmd(t, "allowlist", "rm", id, "--state", dir); code != exitOK || out != "removed "+id+"\n" {
		t.Errorf("rm: exit %d, %q", code, out)
	}
	if code, _, errs = runCmd(t, "allowlist", "rm", id, "--state", dir); code != exitUsage || !strings.Contains(errs, "not found") {
		t.Errorf("second rm: exit %d, %q", code, errs)
	}
}

func TestAllowlistBadStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, triage.FileName), []byte("not a database, but somebody's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(t, "allowlist", "list", "--state", dir)
	if code != exitFailure || !strings.Contains(errs, filepath.Join(dir, triage.FileName)) {
		t.Errorf("foreign store: exit %d, %q; want 1 naming the file", code, errs)
	}
}

func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"7d", "36h", "2026-06-30", "2026-04-01T10:00:00+02:00", "0d", "-1h", "99999999d", "d"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiry(s, now)
		if err == nil && !got.After(now) {
			t.Fatalf("parseExpiry(%q) = %v, not after %v", s, got, now)
		}
	})
}
