package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// runWith runs vigil with args and stdin, returning the exit code and both streams.
func runWith(t testing.TB, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// alertLines decodes hunt's stdout, failing on anything that is not one JSON object a line.
func alertLines(t testing.TB, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %d is not JSON: %v\n%s", i+1, err, line)
		}
		out = append(out, m)
	}
	return out
}

var countersRe = regexp.MustCompile(`records (\d+) = decoded (\d+) \+ decode errors (\d+) \+ skipped (\d+)`)

// counters parses hunt's stderr summary and checks that it adds up.
func counters(t testing.TB, stderr string) (records, decoded, errs, skipped int) {
	t.Helper()
	m := countersRe.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no counters on stderr:\n%s", stderr)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	if n[0] != n[1]+n[2]+n[3] {
		t.Errorf("counters do not add up: %s", m[0])
	}
	return n[0], n[1], n[2], n[3]
}

const sample = "testdata/dns-exe-sample.xml"

func TestHuntSample(t *testing.T) {
	code, stdout, stderr := runWith(t, "", "hunt", sample)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lines := alertLines(t, stdout)
	if len(lines) != 1 {
		t.Fatalf("alerts = %d, want 1:\n%s", len(lines), stdout)
	}
	a := lines[0]
	want := map[string]any{
		"@timestamp":                "2020-08-01T22:58:09.443226Z",
		"host.name":                 "mssql01.offsec.lan",
		"user.name":                 `OFFSEC\Svc-SQL-DB01`,
		"process.executable":        `C:\Windows\System32\cmd.exe`,
		"process.pid":               float64(0x414),
		"process.parent.executable": `C:\Windows\System32\dns.exe`,
		"process.parent.pid":        float64(0x1050),
		"rule.name":                 "Unusual Child Process of dns.exe",
		"event.severity":            "high",
		"event.code":                float64(4688),
		"vigil.suppressed":          false,
		"vigil.origin":              "file " + sample + ":35",
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %#v, want %#v", k, a[k], v)
		}
	}
	if techs, _ := a["threat.technique.id"].([]any); len(techs) != 1 || techs[0] != "T1133" {
		t.Errorf("threat.technique.id = %#v, want [T1133]", a["threat.technique.id"])
	}
	if id, _ := a["vigil.alert_id"].(string); len(id) != 16 {
		t.Errorf("vigil.alert_id = %#v", a["vigil.alert_id"])
	}
	if _, ok := a["vigil.allowlist_id"]; ok {
		t.Error("allowlist id on an alert that is not suppressed")
	}
	if r, d, e, s := counters(t, stderr); r != 3 || d != 3 || e != 0 || s != 0 {
		t.Errorf("counters %d %d %d %d, want 3 records decoded", r, d, e, s)
	}

	// Same file again, now through stdin: the same alert id.
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout2, stderr2 := runWith(t, string(data), "hunt", "-")
	if code != exitOK {
		t.Fatalf("stdin: exit %d:\n%s", code, stderr2)
	}
	again := alertLines(t, stdout2)
	if len(again) != 1 || again[0]["vigil.alert_id"] != a["vigil.alert_id"] {
		t.Errorf("second hunt gave %v, want the same alert id %v", again, a["vigil.alert_id"])
	}
	if again[0]["vigil.origin"] != "stdin stdin:35" {
		t.Errorf("stdin origin = %v", again[0]["vigil.origin"])
	}
}

// TestHuntReadmeExample is the README's `go run ./cmd/vigil hunt cmd/vigil/testdata/dns-exe-sample.ndjson`.
func TestHuntReadmeExample(t *testing.T) {
	code, stdout, stderr := runWith(t, "", "hunt", "testdata/dns-exe-sample.ndjson")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	lines := alertLines(t, stdout)
	if len(lines) != 1 || lines[0]["process.parent.executable"] != `C:\Windows\System32\dns.exe` || lines[0]["event.code"] != float64(1) {
		t.Fatalf("alerts = %v, want the one dns.exe child", lines)
	}
	if r, d, _, _ := counters(t, stderr); r != 3 || d != 3 {
		t.Errorf("records %d decoded %d, want 3 and 3", r, d)
	}
}

// TestHuntDNSExeRecords runs the decode engineer's crafted dns.exe records (one per
// format) through the real command: positives raise exactly one alert, conhost.exe
// children and look-alike parents none.
func TestHuntDNSExeRecords(t *testing.T) {
	dir := filepath.Join("..", "..", "source", "decode", "testdata", "dnsexe")
	files, err := filepath.Glob(filepath.Join(dir, "*-*.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dns.exe records in %s: %v", dir, err)
	}
	positives := 0
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, ".md") || strings.HasPrefix(base, "LICENSE") {
			continue
		}
		stem := strings.TrimSuffix(base, filepath.Ext(base))
		var want int
		switch {
		case strings.HasSuffix(stem, "-positive"):
			want = 1
			positives++
		case strings.HasSuffix(stem, "-conhost"), strings.HasSuffix(stem, "-notdns"):
			want = 0
		default:
			continue
		}
		t.Run(base, func(t *testing.T) {
			code, stdout, stderr := runWith(t, "", "hunt", f)
			if code != exitOK {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			lines := alertLines(t, stdout)
			if len(lines) != want {
				t.Fatalf("alerts = %d, want %d:\n%s", len(lines), want, stdout)
			}
			if want == 1 && !strings.HasSuffix(strings.ToLower(lines[0]["process.parent.executable"].(string)), `\dns.exe`) {
				t.Errorf("parent = %v", lines[0]["process.parent.executable"])
			}
			if _, _, e, _ := counters(t, stderr); e != 0 {
				t.Errorf("decode errors: %d", e)
			}
		})
	}
	if positives < 3 {
		t.Errorf("only %d positive files found", positives)
	}
}

func TestHuntBadRecords(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "..", "source", "decode", "testdata", "dnsexe", "evtx-json-positive.json"))
	if err != nil {
		t.Fatal(err)
	}
	// NDJSON: the positive record compacted onto one line, then garbage, then it again.
	var compact bytes.Buffer
	if err := json.Compact(&compact, good); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mixed.ndjson")
	data := compact.String() + "\n" + `{"Event": {"System": }}` + "\n" + compact.String() + "\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWith(t, "", "hunt", path)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, path+":2: ") {
		t.Errorf("stderr does not name %s:2:\n%s", path, stderr)
	}
	if n := len(alertLines(t, stdout)); n != 2 {
		t.Errorf("alerts = %d, want 2 (the good records around the bad one)", n)
	}
	if r, d, e, s := counters(t, stderr); r != 3 || d != 2 || e != 1 || s != 0 {
		t.Errorf("counters %d = %d + %d + %d, want 3 = 2 + 1 + 0", r, d, e, s)
	}
}

func TestHuntOversizeRecord(t *testing.T) {
	code, stdout, stderr := runWith(t, "", "hunt", "--max-record", "2000", sample)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, "longer than --max-record") {
		t.Errorf("stderr:\n%s", stderr)
	}
	// The two 3 KB records are skipped; the 1.5 KB conhost record does not alert.
	if n := len(alertLines(t, stdout)); n != 0 {
		t.Errorf("alerts = %d, want 0", n)
	}
	if r, _, _, s := counters(t, stderr); r != 3 || s != 2 {
		t.Errorf("records %d skipped %d, want 3 and 2", r, s)
	}
}

func TestHuntUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"hunt"}, "no input"},
		{"unknown flag", []string{"hunt", "--bogus", sample}, "bogus"},
		{"missing rules dir", []string{"hunt", "--rules", "testdata/nope", sample}, "--rules testdata/nope"},
		{"files and feeds", []string{"hunt", "--file", sample, sample}, "do not mix"},
		{"missing file", []string{"hunt", "testdata/nope.json"}, "testdata/nope.json"},
		{"no rules at all", []string{"hunt", "--no-builtin", sample}, "no rule"},
		{"negative max record", []string{"hunt", "--max-record", "-1", sample}, "--max-record"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runWith(t, "", c.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr does not mention %q:\n%s", c.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
		})
	}
}

func TestHuntRefusedRuleStillRuns(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("title: broken\nlogsource: {category: process_creation}\ndetection:\n  sel: {Image: x}\n  condition: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWith(t, "", "hunt", "--rules", dir, sample)
	if code != exitOK {
		t.Errorf("exit %d, want 0 (the built-in rule loaded):\n%s", code, stderr)
	}
	if !strings.Contains(stderr, bad+":") {
		t.Errorf("refused rule not reported as file:line:\n%s", stderr)
	}
	if n := len(alertLines(t, stdout)); n != 1 {
		t.Errorf("alerts = %d, want 1", n)
	}
	code, _, stderr = runWith(t, "", "hunt", "--no-builtin", "--rules", bad, sample)
	if code != exitUsage || !strings.Contains(stderr, "no rule") {
		t.Errorf("only a refused rule: exit %d:\n%s", code, stderr)
	}
}

// TestHuntStateAllowlistAndAlerts goes through the store: hunt records its alerts,
// `alerts list` shows them, an allowlist entry suppresses the next hunt's alert, and the
// exported allowlist loads as Sigma filter rules.
func TestHuntStateAllowlistAndAlerts(t *testing.T) {
	state := t.TempDir()
	code, stdout, stderr := runWith(t, "", "hunt", "--state", state, sample)
	if code != exitOK {
		t.Fatalf("hunt: exit %d:\n%s", code, stderr)
	}
	id := alertLines(t, stdout)[0]["vigil.alert_id"].(string)
	code, stdout, stderr = runWith(t, "", "alerts", "list", "--state", state, "--json")
	if code != exitOK || !strings.Contains(stdout, id) {
		t.Fatalf("alerts list: exit %d, alert %s missing:\n%s\n%s", code, id, stdout, stderr)
	}

	code, _, stderr = runWith(t, "", "allowlist", "add", "--state", state, "--image", `*\cmd.exe`,
		"--parent-image", `*\dns.exe`, "--reason", "dns admin scripts")
	if code != exitOK {
		t.Fatalf("allowlist add: exit %d:\n%s", code, stderr)
	}
	code, stdout, stderr = runWith(t, "", "allowlist", "list", "--state", state, "--json")
	if code != exitOK {
		t.Fatalf("allowlist list: exit %d:\n%s", code, stderr)
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &entry); err != nil {
		t.Fatalf("allowlist list --json: %v\n%s", err, stdout)
	}
	entryID, _ := entry["id"].(string)
	if entryID == "" {
		t.Fatalf("no id in %v", entry)
	}

	code, stdout, stderr = runWith(t, "", "hunt", "--state", state, sample)
	if code != exitOK {
		t.Fatalf("second hunt: exit %d:\n%s", code, stderr)
	}
	lines := alertLines(t, stdout)
	if len(lines) != 1 || lines[0]["vigil.suppressed"] != true || lines[0]["vigil.allowlist_id"] != entryID {
		t.Fatalf("not suppressed by %s: %v", entryID, lines)
	}
	if !strings.Contains(stderr, "suppressed 1") {
		t.Errorf("suppressed not counted:\n%s", stderr)
	}

	export := filepath.Join(t.TempDir(), "allow.yml")
	if code, _, stderr := runWith(t, "", "allowlist", "export", "--state", state, export); code != exitOK {
		t.Fatalf("allowlist export: exit %d:\n%s", code, stderr)
	}
	code, stdout, stderr = runWith(t, "", "rules", "list", "--json", "--rules", export)
	if code != exitOK {
		t.Fatalf("rules list: exit %d:\n%s", code, stderr)
	}
	found := false
	for _, r := range alertLines(t, stdout) {
		if r["file"] == export {
			found = true
			if _, refused := r["refused"]; refused {
				t.Errorf("exported allowlist refused: %v", r["refused"])
			}
		}
	}
	if !found {
		t.Errorf("exported allowlist not listed:\n%s", stdout)
	}
}

// sharedDir is ../shared beside the repository root (two levels up from cmd/vigil).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "datasets")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared datasets not found at %s: %v", dir, err)
		}
		t.Skipf("shared datasets not found at %s: %v", dir, err)
	}
	return dir
}

// expectedDecodeErrors are records in the shared data that are not Windows events.
var expectedDecodeErrors = []string{
	filepath.Join("datasets", "snare", "rsyslog-qradar_json.log") + ":2: ",
}

// TestHuntSharedDatasets is the done-when sweep through the real command: every event
// file in the shared datasets and the Sigma regression data decodes (the one LEEF record
// aside) and the counters add up.
func TestHuntSharedDatasets(t *testing.T) {
	shared := sharedDir(t)
	args := []string{"hunt"}
	for _, root := range []string{"datasets", filepath.Join("sigma", "regression_data")} {
		err := filepath.WalkDir(filepath.Join(shared, root), func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			switch filepath.Ext(path) {
			case ".json", ".ndjson", ".xml", ".log":
				args = append(args, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(args) < 100 {
		t.Fatalf("only %d files found", len(args)-1)
	}
	code, stdout, stderr := runWith(t, "", args...)
	var errLines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "vigil hunt:") {
			continue // the summary
		}
		if strings.Contains(l, ": decode ") || strings.Contains(l, "longer than") {
			errLines = append(errLines, l)
		}
	}
	unexpected := 0
	for _, l := range errLines {
		ok := false
		for _, e := range expectedDecodeErrors {
			if strings.Contains(l, e) {
				ok = true
			}
		}
		if !ok {
			unexpected++
			t.Errorf("unexpected: %s", l)
		}
	}
	records, decoded, errs, skipped := counters(t, stderr)
	if errs != len(errLines) || skipped != 0 {
		t.Errorf("decode errors %d (lines %d), skipped %d", errs, len(errLines), skipped)
	}
	if decoded < 4000 {
		t.Errorf("decoded only %d of %d records", decoded, records)
	}
	wantCode := exitOK
	if errs > 0 {
		wantCode = exitUsage
	}
	if code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}
	// No public record has a dns.exe parent, so the built-in rule must stay quiet.
	if n := len(alertLines(t, stdout)); n != 0 {
		t.Errorf("%d dns.exe alerts on public data, want 0:\n%.2000s", n, stdout)
	}
	t.Logf("%d files: %d records, %d decoded", len(args)-1, records, decoded)
}

func TestTechniqueIDs(t *testing.T) {
	got := techniqueIDs([]string{"attack.initial-access", "attack.t1133", "attack.T1059.001", "attack.t1133", "cve.2020-1350", "attack.ta0001", "attack.t"})
	if strings.Join(got, ",") != "T1133,T1059.001" {
		t.Errorf("techniqueIDs = %v", got)
	}
}

// FuzzAppendJSONString: whatever the bytes, the output is one valid JSON string, and
// valid UTF-8 survives the round trip unchanged.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", `C:\Windows\cmd.exe`, "a\"b\\c", "\x1b]0;title\x07", "\u202e\u2028x", "\xff\xfe", "tab\there\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", b, s, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip: %q -> %q", s, back)
		}
		for _, c := range b {
			if c < 0x20 {
				t.Fatalf("raw control byte in %q", b)
			}
		}
	})
}

// FuzzHunt feeds arbitrary bytes to `vigil hunt -`: it must not panic, must exit 0 or 2,
// print only JSON lines, and its counters must add up.
func FuzzHunt(f *testing.F) {
	data, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"EventID":1,"Image":"C:\\x\\cmd.exe","ParentImage":"C:\\Windows\\System32\\dns.exe","Computer":"h"}` + "\n{\n"))
	f.Add([]byte("<Event><System><EventID>4688</EventID></System>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		code, stdout, stderr := runWith(t, string(in), "hunt", "--max-record", "65536", "-")
		if code != exitOK && code != exitUsage {
			t.Fatalf("exit %d:\n%s", code, stderr)
		}
		alertLines(t, stdout)
		counters(t, stderr)
	})
}

// TestHuntLiveFileUntilInterrupt runs hunt on a live feed (--file, tailed): alerts come
// out as records arrive, and cancelling the context (what SIGINT/SIGTERM do in main)
// drains, flushes, reports and exits 0.
func TestHuntLiveFileUntilInterrupt(t *testing.T) {
	data, err := os.ReadFile("testdata/dns-exe-sample.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer // written by run only; read after it returned
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"hunt", "--file", path, "--from-start"}, stdio{in: strings.NewReader(""), out: pw, err: &stderr})
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("hunt stopped early: exit %d", <-done)
			}
			return alertLines(t, l)[0]
		case <-time.After(30 * time.Second):
			t.Fatal("no alert within 30s")
		}
		return nil
	}
	first := next()

	// A record appended later is picked up by the tail: the same process again, so it is
	// grouped into the same alert, and still printed as its own match.
	second := strings.SplitAfter(string(data), "\n")[1]
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(second); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if again := next(); again["vigil.alert_id"] != first["vigil.alert_id"] {
		t.Errorf("repeat got alert %v, want %v", again["vigil.alert_id"], first["vigil.alert_id"])
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d after interrupt, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hunt did not stop within 10s of the interrupt")
	}
	for l := range lines {
		t.Errorf("unexpected line: %.200s", l)
	}
	if r, d, e, s := counters(t, stderr.String()); r != 4 || d != 4 || e != 0 || s != 0 {
		t.Errorf("counters %d = %d + %d + %d, want 4 records decoded:\n%s", r, d, e, s, stderr.String())
	}
	if !strings.Contains(stderr.String(), "matches 2") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
