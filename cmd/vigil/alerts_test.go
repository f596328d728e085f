package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/triage"
)

func TestParseAlertsFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		parse   func([]string, io.Writer) (any, error)
		want    any
		wantErr string
	}{
		{"list defaults", nil, listParse, alertsListOptions{}, ""},
		{"list all", []string{"--status", "closed", "--json", "--state", "/s"}, listParse, alertsListOptions{state: "/s", status: triage.StatusClosed, json: true}, ""},
		{"list bad status", []string{"--status", "done"}, listParse, nil, "--status"},
		{"list extra arg", []string{"x"}, listParse, nil, `unexpected argument "x"`},
		{"list limit", []string{"--limit", "5"}, listParse, alertsListOptions{limit: 5}, ""},
		{"list negative limit", []string{"--limit", "-1"}, listParse, nil, "--limit -1"},
		{"set id first", []string{"a1", "--status", "closed", "--reason", "false_positive", "--note", "n"}, setParse,
			alertsSetOptions{id: "a1", status: triage.StatusClosed, reason: triage.ReasonFalsePositive, note: "n"}, ""},
		{"set id last", []string{"--status=acknowledged", "--state", "/s", "a1"}, setParse,
			alertsSetOptions{state: "/s", id: "a1", status: triage.StatusAcknowledged}, ""},
		{"set id after --", []string{"--status", "open", "--", "-odd-id"}, setParse, alertsSetOptions{id: "-odd-id", status: triage.StatusOpen}, ""},
		{"set no id", []string{"--status", "open"}, setParse, nil, "exactly one alert ID"},
		{"set two ids", []string{"a", "b", "--status", "open"}, setParse, nil, "exactly one alert ID"},
		{"set no status", []string{"a"}, setParse, nil, "--status is required"},
		{"set bad status", []string{"a", "--status", "resolved"}, setParse, nil, "--status"},
		{"set close without reason", []string{"a", "--status", "closed"}, setParse, nil, "--reason is required"},
		{"set bad reason", []string{"a", "--status", "closed", "--reason", "fine"}, setParse, nil, "--reason"},
		{"set reason when not closing", []string{"a", "--status", "acknowledged", "--reason", "other"}, setParse, nil, "only given with --status closed"},
		{"set unknown flag", []string{"a", "--statu", "open"}, setParse, nil, "-statu"},
		{"show", []string{"a1"}, showParse, alertsShowOptions{id: "a1"}, ""},
		{"show none", nil, showParse, nil, "exactly one alert ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				var ue *usageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := parseAlertsListFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func listParse(a []string, w io.Writer) (any, error) { return parseAlertsListFlags(a, w) }
func setParse(a []string, w io.Writer) (any, error)  { return parseAlertsSetFlags(a, w) }
func showParse(a []string, w io.Writer) (any, error) { return parseAlertsShowFlags(a, w) }

// seedStore fills a store in dir with three alerts, one carrying terminal escapes.
func seedStore(t *testing.T, dir string) {
	t.Helper()
	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := triage.AlertRecord{
		RuleID: "rule-dns", RuleName: "Unusual Child Process of dns.exe", Level: "high", Host: "DC01",
		User: `NT AUTHORITY\SYSTEM`, Image: `C:\Windows\System32\cmd.exe`, ParentImage: `C:\Windows\System32\dns.exe`,
		CommandLine: `cmd /c whoami`, PID: 5120, ParentPID: 2212, EventID: 1, Origin: "sysmon.json:7", Count: 1,
		Raw: []byte(`{"EventID":1,"Image":"C:\Windows\System32\cmd.exe"}`),
	}
	for i, id := range []string{"a-old", "a-mid", "a-new"} {
		a := base
		a.ID = id
		a.FirstSeen = at.Add(time.Duration(i) * time.Hour)
		a.LastSeen = a.FirstSeen
		if id == "a-new" {
			a.CommandLine = "cmd /c \x1b]0;pwned\x07echo \u202etxt.exe"
			a.Image = `C:\Windows\System32\whoami.exe`
		}
		if err := s.UpsertAlert(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestAlertsCommands(t *testing.T) {
	dir := t.TempDir()
	seedStore(t, dir)

	code, out, errs := runCmd(t, "alerts", "list", "--state", dir)
	if code != exitOK {
		t.Fatalf("list: exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "a-new") || !strings.HasPrefix(lines[3], "a-old") {
		t.Errorf("list is not newest first with a header:\n%s", out)
	}
	if !strings.Contains(out, "dns.exe -> cmd.exe") {
		t.Errorf("list lacks the parent -> process column:\n%s", out)
	}
	code, out, _ = runCmd(t, "alerts", "list", "--limit", "2", "--json", "--state", dir)
	if n := strings.Count(out, "\n"); code != exitOK || n != 2 || !strings.Contains(out, `"id":"a-new"`) || strings.Contains(out, `"id":"a-old"`) {
		t.Errorf("list --limit 2: exit %d, %d lines, want the two newest:\n%s", code, n, out)
	}

	code, out, errs = runCmd(t, "alerts", "set", "a-mid", "--status", "closed", "--reason", "true_positive", "--note", "confirmed with IR", "--state", dir)
	if code != exitOK || out != "a-mid: open -> closed (true_positive)\n" {
		t.Errorf("set: exit %d, out %q, err %q", code, out, errs)
	}
	// A forbidden transition and an unknown id are bad input: exit 2 and say why.
	if code, _, errs = runCmd(t, "alerts", "set", "a-mid", "--status", "acknowledged", "--state", dir); code != exitUsage || !strings.Contains(errs, "reopen it first") {
		t.Errorf("closed -> acknowledged: exit %d, err %q", code, errs)
	}
	if code, _, errs = runCmd(t, "alerts", "set", "nope", "--status", "acknowledged", "--state", dir); code != exitUsage || !strings.Contains(errs, `"nope"`) {
		t.Errorf("unknown id: exit %d, err %q", code, errs)
	}

	code, out, _ = runCmd(t, "alerts", "list", "--json", "--status", "closed", "--state", dir)
	if code != exitOK {
		t.Fatalf("list --json: exit %d", code)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	for k, want := range map[string]any{
		"id": "a-mid", "status": "closed", "reason": "true_positive", "rule.id": "rule-dns",
		"rule.name": "Unusual Child Process of dns.exe", "host.name": "DC01", "user.name": `NT AUTHORITY\SYSTEM`,
		"process.executable": `C:\Windows\System32\cmd.exe`, "process.command_line": "cmd /c whoami",
		"process.parent.executable": `C:\Windows\System32\dns.exe`, "count": 1.0, "suppressed": false,
		"vigil.allowlist_id": "", "first_seen": "2026-03-01T13:00:00Z", "last_seen": "2026-03-01T13:00:00Z",
	} {
		if got[k] != want {
			t.Errorf("list --json %s = %#v, want %#v", k, got[k], want)
		}
	}

	code, out, _ = runCmd(t, "alerts", "show", "a-mid", "--state", dir)
	if code != exitOK || !strings.Contains(out, "closed (true_positive)") || !strings.Contains(out, "open -> closed (true_positive)") ||
		!strings.Contains(out, "confirmed with IR") || !strings.Contains(out, "@") || !strings.Contains(out, `{"EventID":1,"Image":"C:\Windows`) {
		t.Errorf("show: exit %d:\n%s", code, out)
	}

	// Event text never reaches the terminal raw.
	for _, args := range [][]string{{"alerts", "list", "--state", dir}, {"alerts", "show", "a-new", "--state", dir}} {
		_, out, _ = runCmd(t, args...)
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("%v printed control characters: %q", args, out)
		}
	}
}

func TestAlertsUsage(t *testing.T) {
	for _, args := range [][]string{{"alerts"}, {"alerts", "frob"}, {"alerts", "list", "--status", "x"}} {
		if code, _, errs := runCmd(t, args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
	if code, out, _ := runCmd(t, "alerts", "help"); code != exitOK || !strings.Contains(out, "vigil alerts set ID") {
		t.Errorf("alerts help: exit %d, %q", code, out)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"a\x1b[31mb":         `a\x1b[31mb`,
		"tab\there":          `tab\x09here`,
		"rtl\u202eexe.txt":   `rtl\u202eexe.txt`,
		"bad\xffutf8":        `bad\ufffdutf8`,
		`C:\Windows\ü.exe`:   `C:\Windows\ü.exe`,
		"nl\nx\u0085y\u009b": `nl\x0ax\x85y\x9b`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"plain", "a\x1b[2Jb", "\u202e", "\xff\xfe", "C:\\x\\ü.exe\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range printable(s) {
			if unsafeRune(r) {
				t.Fatalf("printable(%q) kept %U", s, r)
			}
		}
	})
}
