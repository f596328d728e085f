package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHuntListenRsyslog drives the real binary: `vigil hunt --listen tcp://...` receives
// the crafted dns.exe-child events (source/decode/testdata/dnsexe/*-positive.*, one per
// input format) from rsyslogd running the configuration documented in docs/sources.md
// (imfile -> omfwd, bare-line variant), prints one alert line per event, and on SIGTERM
// flushes, reports and exits 0.
func TestHuntListenRsyslog(t *testing.T) {
	rsyslogd := needExternal(t, "rsyslogd")
	dir := t.TempDir()
	vigil := filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", vigil, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// One event per line, as a Windows collector would write them.
	files, err := filepath.Glob(filepath.Join("..", "..", "source", "decode", "testdata", "dnsexe", "*-positive.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dns.exe positives in source/decode/testdata/dnsexe (%v)", err)
	}
	var events bytes.Buffer
	for _, f := range files {
		line, err := oneLine(f)
		if err != nil {
			t.Fatal(err)
		}
		events.Write(line)
		events.WriteByte('\n')
	}
	eventsFile := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(eventsFile, events.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	port := freeTCPPort(t)
	cmd := exec.Command(vigil, "hunt", "--listen", "tcp://127.0.0.1:"+port)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	waitListening(t, "127.0.0.1:"+port)

	conf := docSnippetMain(t, "rsyslog-tcp")
	for _, r := range [][2]string{
		{`workDirectory="/var/spool/rsyslog"`, fmt.Sprintf("workDirectory=%q", filepath.Join(dir, "work"))},
		{`file="/var/log/sysmon/events.ndjson"`, fmt.Sprintf("file=%q", eventsFile)},
		{`target="vigil.example.org"`, `target="127.0.0.1"`},
		{`port="1514"`, fmt.Sprintf("port=%q", port)},
		// Some positives are already syslog lines (Snare, XML in RFC 5424): forward every
		// line as it is, with the documented bare-line template, so none is wrapped twice.
		{`template="RSYSLOG_SyslogProtocol23Format" tcp_framing="octet-counted"`, `template="vigil_raw" tcp_framing="traditional"`},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("documented rsyslog configuration lacks %q", r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	stopRsyslog := runRsyslog(t, rsyslogd, dir, conf)

	var alerts []string
	deadline := time.After(30 * time.Second)
	for len(alerts) < len(files) {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("vigil exited early after %d alerts: %v\n%s", len(alerts), <-exited, stderr.String())
			}
			alerts = append(alerts, l)
		case <-deadline:
			stopRsyslog()
			t.Fatalf("%d alerts of %d after 30s\nstderr:\n%s", len(alerts), len(files), stderr.String())
		}
	}
	stopRsyslog()
	for _, a := range alerts {
		var m map[string]any
		if err := json.Unmarshal([]byte(a), &m); err != nil {
			t.Fatalf("alert line is not JSON: %v: %.200s", err, a)
		}
		if p, _ := m["process.parent.executable"].(string); !strings.HasSuffix(strings.ToLower(p), `\dns.exe`) {
			t.Errorf("alert parent %q is not dns.exe: %.200s", p, a)
		}
	}

	// SIGTERM: vigil drains, flushes, reports and exits 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		t.Errorf("alert after the last event: %.200s", l)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("vigil hunt after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("vigil hunt did not exit within 10s of SIGTERM\nstderr:\n%s", stderr.String())
	}
	want := fmt.Sprintf("records %d = decoded %d + decode errors 0", len(files), len(files))
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// needExternal finds an external tool; CI must have it, elsewhere the test is skipped.
func needExternal(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true requires it): %v", name, err)
		}
		t.Skipf("%s not installed: apt-get install rsyslog", name)
	}
	return p
}

// oneLine returns a record file as a single line: JSON compacted, XML with the
// indentation between elements removed, syslog lines as they are.
func oneLine(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.HasPrefix(b, []byte("{")):
		var out bytes.Buffer
		if err := json.Compact(&out, b); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return out.Bytes(), nil
	case bytes.HasPrefix(b, []byte("<Event")):
		var out []byte
		for _, l := range bytes.Split(b, []byte("\n")) {
			out = append(out, bytes.TrimSpace(l)...)
		}
		return out, nil
	}
	if bytes.ContainsAny(b, "\r\n") {
		return nil, fmt.Errorf("%s: more than one line", file)
	}
	return b, nil
}

func freeTCPPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// docSnippetMain returns the code block after "<!-- snippet: NAME -->" in docs/sources.md.
func docSnippetMain(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "sources.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- snippet: "+name+" -->\n```\n")
	if !ok {
		t.Fatalf("docs/sources.md has no snippet %q", name)
	}
	body, _, _ := strings.Cut(rest, "```")
	return body
}

// runRsyslog starts rsyslogd in the foreground on conf; the returned func stops it.
func runRsyslog(t *testing.T, rsyslogd, dir, conf string) (stop func()) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	}
	t.Cleanup(stop)
	return stop
}
