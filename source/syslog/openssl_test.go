package syslog

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestOpenSSLClient uses openssl s_client as a real TLS sender: without a client
// certificate it is refused (and counted) when TLSClientCA is set; with one signed by
// that CA its record is received.
func TestOpenSSLClient(t *testing.T) {
	openssl := needTool(t, "openssl")
	p := newPKI(t)
	l, c := startListener(t, ListenConfig{URL: "tls://127.0.0.1:0", TLSCert: p.certFile, TLSKey: p.keyFile, TLSClientCA: p.caFile}, 10)
	rec := readRecords(t, "otrf-cobaltstrike.ndjson")[3]
	send := func(extra ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args := append([]string{"s_client", "-connect", l.Addr().String(), "-CAfile", p.caFile, "-verify_return_error", "-quiet", "-no_ign_eof"}, extra...)
		cmd := exec.CommandContext(ctx, openssl, args...)
		cmd.Stdin = bytes.NewReader(append(append([]byte(nil), rec...), '\n'))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, _ := send()
	waitFor(t, 10*time.Second, "refusal counted", func() bool { return l.Status().Disconnects == 1 })
	if len(c.events()) != 0 {
		t.Fatalf("record from a client without a certificate was accepted (openssl: %s)", out)
	}
	if d := l.Status().Detail; !strings.Contains(d, "certificate") {
		t.Errorf("detail %q does not say the certificate was missing", d)
	}

	if out, err := send("-cert", p.clientCert, "-key", p.clientKey); err != nil {
		t.Fatalf("openssl with a client certificate: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "record over TLS", func() bool { return len(c.events()) == 1 })
	if got := c.events()[0].Raw; !bytes.Equal(got, rec) {
		t.Fatalf("received %.80q", got)
	}
	if st := l.Status(); st.Disconnects != 1 {
		t.Errorf("refused %d, want 1", st.Disconnects)
	}
}
