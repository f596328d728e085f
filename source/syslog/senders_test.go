package syslog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// Tests in this file drive real senders (util-linux logger, rsyslogd, socat) against the
// listener and dialer on 127.0.0.1 with ephemeral ports.

// snarePayloads cuts the original RFC 3164 header off the Snare lines so that logger can
// put its own in front ("MSWinEventLog<TAB>..." becomes the message).
func snarePayloads(t *testing.T, n int) [][]byte {
	var out [][]byte
	for _, l := range readRecords(t, "snare-windows2022.log") {
		if i := bytes.Index(l, []byte("MSWinEventLog\t")); i >= 0 {
			out = append(out, l[i:])
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// expectDecoded decodes each record directly and checks that what arrived through the
// sender decodes to the same Windows event.
func expectDecoded(t *testing.T, recs [][]byte, got []source.Event, enveloped bool) {
	t.Helper()
	if len(got) != len(recs) {
		t.Fatalf("received %d events, want %d", len(got), len(recs))
	}
	for i, rec := range recs {
		var want source.Event
		if err := decode.Decode(rec, source.Origin{}, &want); err != nil {
			t.Fatalf("record %d does not decode on its own: %v", i, err)
		}
		g := got[i]
		if g.EventID != want.EventID || g.Kind != want.Kind || g.Format != want.Format ||
			g.Process != want.Process || g.Parent != want.Parent {
			t.Errorf("record %d via syslog: id %d kind %v format %v image %q parent %q; direct: id %d kind %v format %v image %q parent %q",
				i, g.EventID, g.Kind, g.Format, g.Process.Image, g.Parent.Image,
				want.EventID, want.Kind, want.Format, want.Process.Image, want.Parent.Image)
		}
		if enveloped && g.Envelope == source.EnvelopeNone {
			t.Errorf("record %d: syslog envelope not recognised", i)
		}
		if !bytes.Contains(g.Raw, rec) {
			t.Errorf("record %d: Raw %.80q does not hold the record", i, g.Raw)
		}
	}
}

func TestLogger(t *testing.T) {
	logger := needTool(t, "logger")
	data := map[string][][]byte{
		"json":  readRecords(t, "otrf-cobaltstrike.ndjson")[:12],
		"snare": snarePayloads(t, 12),
	}
	for _, transport := range []string{"udp", "tcp-lf", "tcp-octet"} {
		for _, header := range []string{"--rfc3164", "--rfc5424"} {
			for _, kind := range []string{"json", "snare"} {
				t.Run(transport+header+"-"+kind, func(t *testing.T) {
					recs := data[kind]
					scheme := "tcp"
					if transport == "udp" {
						scheme = "udp"
					}
					l, c := startListener(t, ListenConfig{URL: scheme + "://127.0.0.1:0"}, 100)
					file := filepath.Join(t.TempDir(), "records")
					if err := os.WriteFile(file, append(bytes.Join(recs, []byte("\n")), '\n'), 0o600); err != nil {
						t.Fatal(err)
					}
					_, port := splitPort(t, l.Addr().String())
					args := []string{"-n", "127.0.0.1", "-P", port, header, "-t", "vigiltest", "-S", "65536", "-e", "-f", file}
					switch transport {
					case "udp":
						args = append(args, "-d")
					case "tcp-lf":
						args = append(args, "-T")
					case "tcp-octet":
						args = append(args, "-T", "--octet-count")
					}
					if out, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
						t.Fatalf("logger %s: %v\n%s", strings.Join(args, " "), err, out)
					}
					waitFor(t, 10*time.Second, "records from logger", func() bool { return l.Status().Records >= uint64(len(recs)) })
					st := l.Status()
					if st.Records != uint64(len(recs)) || st.DecodeErrors != 0 || st.Dropped != 0 {
						t.Fatalf("records %d decode errors %d (%q) dropped %d, want %d/0/0", st.Records, st.DecodeErrors, st.LastErrors, st.Dropped, len(recs))
					}
					waitFor(t, 5*time.Second, "events", func() bool { return len(c.events()) == len(recs) })
					evs := c.events()
					expectDecoded(t, recs, evs, true)
					wantEnv := source.EnvelopeRFC3164
					if header == "--rfc5424" {
						wantEnv = source.EnvelopeRFC5424
					}
					if evs[0].Envelope != wantEnv {
						t.Errorf("envelope %v, want %v", evs[0].Envelope, wantEnv)
					}
					if transport == "tcp-octet" && l.pipe.framing[framingOctet].Load() != 1 ||
						transport == "tcp-lf" && l.pipe.framing[framingLine].Load() != 1 {
						t.Errorf("framing not detected as %s", transport)
					}
				})
			}
		}
	}
}

func splitPort(t *testing.T, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}

// docSnippet returns the code block after "<!-- snippet: NAME -->" in docs/sources.md, so
// the tests run exactly what the documentation tells users to configure.
func docSnippet(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "sources.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- snippet: "+name+" -->\n```\n")
	if !ok {
		t.Fatalf("docs/sources.md has no snippet %q", name)
	}
	body, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("docs/sources.md: snippet %q is not closed", name)
	}
	return body
}

// localize points a documented rsyslog configuration at the test's files and port.
func localize(t *testing.T, conf string, repl ...string) string {
	t.Helper()
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(conf, repl[i]) {
			t.Fatalf("documented configuration lacks %q", repl[i])
		}
		conf = strings.ReplaceAll(conf, repl[i], repl[i+1])
	}
	return conf
}

// startRsyslog runs rsyslogd in the foreground with conf and stops it at test end.
func startRsyslog(t *testing.T, dir, conf string) {
	t.Helper()
	rsyslogd := needTool(t, "rsyslogd")
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 rejects the config: %v\n%s\n%s", err, out, conf)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", stderr.String())
		}
	})
}

func TestRsyslogRelay(t *testing.T) {
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")
	const (
		rfc5424 = `template="RSYSLOG_SyslogProtocol23Format" tcp_framing="octet-counted"`
		bare    = `template="vigil_raw" tcp_framing="traditional"`
	)
	tests := []struct {
		name      string
		snippet   string
		swap      []string // template/framing swapped from the documented one
		wantEnv   source.Envelope
		wantFrame framing
	}{
		{"tcp as documented", "rsyslog-tcp", nil, source.EnvelopeRFC5424, framingOctet},
		{"tcp bare json lf", "rsyslog-tcp", []string{rfc5424, bare}, source.EnvelopeNone, framingLine},
		{"tls as documented", "rsyslog-tls", nil, source.EnvelopeNone, framingLine},
		{"tls rfc5424 octet-counted", "rsyslog-tls", []string{bare, rfc5424}, source.EnvelopeRFC5424, framingOctet},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needTool(t, "rsyslogd")
			dir := t.TempDir()
			cfg := ListenConfig{URL: "tcp://127.0.0.1:0"}
			var p pki
			tlsRelay := tc.snippet == "rsyslog-tls"
			if tlsRelay {
				p = newPKI(t)
				cfg = ListenConfig{URL: "tls://127.0.0.1:0", TLSCert: p.certFile, TLSKey: p.keyFile, TLSClientCA: p.caFile}
			}
			l, c := startListener(t, cfg, len(recs))
			events := filepath.Join(dir, "events.ndjson")
			if err := os.WriteFile(events, append(bytes.Join(recs, []byte("\n")), '\n'), 0o600); err != nil {
				t.Fatal(err)
			}
			_, port := splitPort(t, l.Addr().String())
			docPort := `port="1514"`
			repl := []string{
				`workDirectory="/var/spool/rsyslog"`, fmt.Sprintf("workDirectory=%q", filepath.Join(dir, "work")),
				`file="/var/log/sysmon/events.ndjson"`, fmt.Sprintf("file=%q", events),
			}
			if tlsRelay {
				docPort = `port="6514"`
				repl = append(repl,
					`streamDriverPermittedPeers="vigil.example.org"`, `streamDriverPermittedPeers="localhost"`,
					"/etc/rsyslog.d/tls/", p.dir+"/")
			}
			repl = append(repl, `target="vigil.example.org"`, `target="127.0.0.1"`, docPort, fmt.Sprintf("port=%q", port))
			repl = append(repl, tc.swap...)
			startRsyslog(t, dir, localize(t, docSnippet(t, tc.snippet), repl...))
			waitFor(t, 30*time.Second, "all records relayed by rsyslog", func() bool { return l.Status().Records >= uint64(len(recs)) })
			waitFor(t, 5*time.Second, "events", func() bool { return len(c.events()) >= len(recs) })
			st := l.Status()
			if st.Records != uint64(len(recs)) || st.DecodeErrors != 0 || st.Disconnects != 0 {
				t.Fatalf("records %d decode errors %d %q refused %d", st.Records, st.DecodeErrors, st.LastErrors, st.Disconnects)
			}
			evs := c.events()
			if tc.wantEnv == source.EnvelopeNone {
				for i := range evs {
					if !bytes.Equal(evs[i].Raw, recs[i]) {
						t.Fatalf("record %d changed on the way: %.80q", i, evs[i].Raw)
					}
				}
			} else {
				expectDecoded(t, recs, evs, true)
			}
			if evs[0].Envelope != tc.wantEnv {
				t.Errorf("envelope %v, want %v", evs[0].Envelope, tc.wantEnv)
			}
			if l.pipe.framing[tc.wantFrame].Load() == 0 {
				t.Errorf("framing %v not detected", tc.wantFrame)
			}
		})
	}
}

func TestSocatRelayReconnect(t *testing.T) {
	socat := needTool(t, "socat")
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")
	dir := t.TempDir()
	events := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(events, append(bytes.Join(recs, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	// ignoreeof keeps the connection open after the file is sent, like a relay that
	// waits for more events.
	start := func() *exec.Cmd {
		cmd := exec.Command(socat, "-u", "FILE:"+events+",ignoreeof", "TCP-LISTEN:"+port+",bind=127.0.0.1,reuseaddr")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	relay := start()
	t.Cleanup(func() { relay.Process.Kill(); relay.Wait() })

	d, err := NewDialer(DialConfig{URL: "tcp://127.0.0.1:" + port, BackoffMin: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(2 * len(recs))
	ctx, cancel := contextWithCleanup(t)
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx, c.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		close(c.out)
		<-c.done
	})

	waitFor(t, 10*time.Second, "first pass of records", func() bool { return len(c.events()) == len(recs) })
	if st := d.Status(); st.State != source.StateConnected || st.Disconnects != 0 {
		t.Fatalf("state %v disconnects %d, want connected 0", st.State, st.Disconnects)
	}
	expectDecoded(t, recs, c.events()[:len(recs)], false)

	// Kill the relay: the dialer counts the loss and keeps retrying.
	relay.Process.Kill()
	relay.Wait()
	waitFor(t, 10*time.Second, "disconnect counted", func() bool { return d.Status().Disconnects == 1 })
	waitFor(t, 10*time.Second, "reconnecting shown", func() bool {
		st := d.Status()
		return st.State == source.StateReconnecting && strings.Contains(st.Detail, "reconnecting in") && strings.Contains(st.Detail, "connection refused")
	})
	time.Sleep(300 * time.Millisecond) // a measurable gap
	relay = start()
	waitFor(t, 10*time.Second, "second pass after reconnect", func() bool { return len(c.events()) == 2*len(recs) })
	st := d.Status()
	if st.State != source.StateConnected || st.Disconnects != 1 || st.Records != uint64(2*len(recs)) {
		t.Fatalf("state %v disconnects %d records %d", st.State, st.Disconnects, st.Records)
	}
	if g := d.Gap(); g < 300*time.Millisecond {
		t.Errorf("gap %s, want at least the 300ms the relay was down", g)
	}
	if !strings.Contains(st.Detail, "1 disconnects, gap ") {
		t.Errorf("detail %q does not show the gap", st.Detail)
	}
	t.Logf("after reconnect: %s", st.Detail)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := NewListener(ListenConfig{URL: "tcp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	_, port := splitPort(t, l.Addr().String())
	l.ln.Close()
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	return port
}
