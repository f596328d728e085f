package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

func TestNewDialerErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  DialConfig
		want string
	}{
		{"udp not supported", DialConfig{URL: "udp://127.0.0.1:1"}, "scheme must be one of"},
		{"tls settings on tcp", DialConfig{URL: "tcp://127.0.0.1:1", TLSCA: "x"}, "use tls://"},
		{"cert without key", DialConfig{URL: "tls://127.0.0.1:1", TLSCert: "x"}, "both TLSCert and TLSKey"},
		{"missing ca", DialConfig{URL: "tls://127.0.0.1:1", TLSCA: "/nonexistent"}, "read ca file"},
		{"negative backoff", DialConfig{URL: "tcp://127.0.0.1:1", BackoffMin: -1}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDialer(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 250*time.Millisecond, 30*time.Second
	for n, ceiling := range []time.Duration{lo, 2 * lo, 4 * lo, 8 * lo} {
		for range 50 {
			if d := backoff(lo, hi, n); d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: %s outside [%s, %s]", n, d, ceiling/2, ceiling)
			}
		}
	}
	if d := backoff(lo, hi, 1000); d < hi/2 || d > hi {
		t.Fatalf("attempt 1000: %s not capped at %s", d, hi)
	}
}

// runDialer runs d into a collector and stops it at test end.
func runDialer(t *testing.T, d *Dialer, queue int) *collector {
	t.Helper()
	c := collect(queue)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- d.Run(ctx, c.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		close(c.out)
		<-c.done
		if st := d.Status(); st.State != source.StateDone {
			t.Errorf("state after cancel %v, want done", st.State)
		}
	})
	return c
}

// serveOnce accepts one connection on ln, writes the records octet-counted and keeps
// the connection open until the test ends.
func serveOnce(t *testing.T, ln net.Listener, recs [][]byte) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		for _, r := range recs {
			if _, err := fmt.Fprintf(conn, "%d %s", len(r), r); err != nil {
				return
			}
		}
		if tc, ok := conn.(*tls.Conn); ok {
			tc.Handshake()
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		conn.Read(make([]byte, 1)) // until the dialer goes away
	}()
	t.Cleanup(func() { ln.Close(); <-done })
}

func TestDialerTLS(t *testing.T) {
	p := newPKI(t)
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := loadPool(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	// The relay requires vigil's client certificate.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")
	serveOnce(t, ln, recs)
	d, err := NewDialer(DialConfig{URL: "tls://" + ln.Addr().String(), TLSCA: p.caFile, TLSCert: p.clientCert, TLSKey: p.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	c := runDialer(t, d, len(recs))
	waitFor(t, 10*time.Second, "records over TLS", func() bool { return len(c.events()) == len(recs) })
	expectDecoded(t, recs, c.events(), false)
	st := d.Status()
	if st.State != source.StateConnected || st.Kind != "connect" || !strings.Contains(st.Detail, "connected to 127.0.0.1:") {
		t.Fatalf("state %v kind %q detail %q", st.State, st.Kind, st.Detail)
	}
	if ps := d.Peers(); len(ps) != 1 || ps[0].Records != uint64(len(recs)) || ps[0].Connections != 1 {
		t.Fatalf("peers %+v", ps)
	}
}

func TestDialerUntrustedRelayIsAnError(t *testing.T) {
	p := newPKI(t)
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	// Trusting another CA: the relay's certificate does not verify.
	d, err := NewDialer(DialConfig{URL: "tls://" + ln.Addr().String(), TLSCA: p.otherCA, BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runDialer(t, d, 1)
	waitFor(t, 5*time.Second, "error state", func() bool {
		st := d.Status()
		return st.State == source.StateError && strings.Contains(st.Detail, "certificate") && strings.Contains(st.Detail, "reconnecting in")
	})
	if st := d.Status(); st.Disconnects != 0 {
		t.Errorf("never connected, but %d disconnects counted", st.Disconnects)
	}
}

// TestOrderAcrossBatches: the parallel decode must keep a connection's order.
func TestOrderAcrossBatches(t *testing.T) {
	decodeSeq := func(rec []byte, origin source.Origin, ev *source.Event) error {
		ev.Raw = append([]byte(nil), rec...)
		// Uneven decode cost, so batches finish out of order.
		if len(rec)%3 == 0 {
			time.Sleep(10 * time.Microsecond)
		}
		return nil
	}
	l, c := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: decodeSeq}, 100)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	go func() {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "<13>message %d %s\n", i, strings.Repeat("x", i%50))
		}
		conn.Write([]byte(b.String()))
		conn.Close()
	}()
	waitFor(t, 20*time.Second, "all messages", func() bool { return len(c.events()) == n })
	for i, ev := range c.events() {
		if want := fmt.Sprintf("<13>message %d ", i); !strings.HasPrefix(string(ev.Raw), want) {
			t.Fatalf("event %d is %.30q: order lost", i, ev.Raw)
		}
	}
}

func TestDialerUnknownHostIsAnError(t *testing.T) {
	d, err := NewDialer(DialConfig{URL: "tcp://relay.invalid:6514", BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// .invalid never resolves (RFC 2606); without a resolver the failure is not a clean
	// "not found", and the dialer rightly keeps it a retryable state.
	want := source.StateError
	var dnsErr *net.DNSError
	if _, err := net.LookupHost("relay.invalid"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		want = source.StateReconnecting
	}
	runDialer(t, d, 1)
	waitFor(t, 10*time.Second, want.String()+" state naming the host", func() bool {
		st := d.Status()
		return st.State == want && strings.Contains(st.Detail, "relay.invalid") && strings.Contains(st.Detail, "reconnecting in")
	})
}
