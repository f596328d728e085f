package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

func TestNewListenerErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ListenConfig
		want string
	}{
		{"bad scheme", ListenConfig{URL: "http://127.0.0.1:1"}, "scheme must be one of"},
		{"no port", ListenConfig{URL: "tcp://127.0.0.1"}, "missing port"},
		{"path", ListenConfig{URL: "tcp://127.0.0.1:1/x"}, "nothing else"},
		{"tls without cert", ListenConfig{URL: "tls://127.0.0.1:0"}, "needs TLSCert"},
		{"tls files on tcp", ListenConfig{URL: "tcp://127.0.0.1:0", TLSCert: "x"}, "use tls://"},
		{"missing cert file", ListenConfig{URL: "tls://127.0.0.1:0", TLSCert: "/nonexistent", TLSKey: "/nonexistent"}, "load tls key pair"},
		{"huge max", ListenConfig{URL: "udp://127.0.0.1:0", MaxMessage: 1 << 30}, "MaxMessage"},
		{"negative", ListenConfig{URL: "tcp://127.0.0.1:0", IdleTimeout: -1}, "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewListener(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBindErrorIsSynchronous(t *testing.T) {
	l1, err := NewListener(ListenConfig{URL: "tcp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Bind(); err != nil {
		t.Fatal(err)
	}
	defer l1.ln.Close()
	l2, err := NewListener(ListenConfig{URL: "tcp://" + l1.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	err = l2.Bind()
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Bind on a used port: err = %v, want address already in use", err)
	}
	if st := l2.Status(); st.State != source.StateError {
		t.Errorf("state = %v, want error", st.State)
	}
	if err := l2.Run(context.Background(), make(chan source.Event)); err == nil {
		t.Error("Run after a failed bind returned nil")
	}
}

func TestTCPFramings(t *testing.T) {
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")[:10]
	tests := []struct {
		name  string
		frame func(rec []byte) []byte
	}{
		{"octet counting", func(r []byte) []byte { return append([]byte(fmt.Sprintf("%d ", len(r))), r...) }},
		{"lf", func(r []byte) []byte { return append(append([]byte(nil), r...), '\n') }},
		{"crlf", func(r []byte) []byte { return append(append([]byte(nil), r...), '\r', '\n') }},
		{"nul", func(r []byte) []byte { return append(append([]byte(nil), r...), 0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, c := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode}, 100)
			conn, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			var wire bytes.Buffer
			for _, r := range recs {
				wire.Write(tc.frame(r))
			}
			// Write in odd-sized pieces so frames straddle reads.
			for b := wire.Bytes(); len(b) > 0; {
				n := min(777, len(b))
				if _, err := conn.Write(b[:n]); err != nil {
					t.Fatal(err)
				}
				b = b[n:]
			}
			conn.Close()
			waitFor(t, 5*time.Second, "all records", func() bool { return len(c.events()) == len(recs) })
			evs := c.events()
			for i, ev := range evs {
				if !bytes.Equal(ev.Raw, recs[i]) {
					t.Fatalf("record %d = %.60q, want %.60q", i, ev.Raw, recs[i])
				}
				if ev.Origin.Feed != l.Name() || !strings.HasPrefix(ev.Origin.Where, "127.0.0.1:") {
					t.Fatalf("origin = %+v", ev.Origin)
				}
			}
			waitFor(t, 5*time.Second, "connection closed", func() bool { return l.LastClosed() != "" })
			st := l.Status()
			if st.Records != uint64(len(recs)) || st.Decoded != uint64(len(recs)) || st.Bytes != uint64(wire.Len()) {
				t.Errorf("status records %d decoded %d bytes %d, want %d %d %d", st.Records, st.Decoded, st.Bytes, len(recs), len(recs), wire.Len())
			}
			peers := l.Peers()
			if len(peers) != 1 || peers[0].Addr != "127.0.0.1" || peers[0].Records != uint64(len(recs)) || peers[0].Disconnects != 1 {
				t.Errorf("peers = %+v", peers)
			}
		})
	}
}

func TestUDP(t *testing.T) {
	recs := readRecords(t, "snare-windows2022.log")[:20]
	l, c := startListener(t, ListenConfig{URL: "udp://127.0.0.1:0", Decode: rawDecode, MaxMessage: 2400}, 100)
	conn, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := 0
	for _, r := range recs {
		if _, err := conn.Write(append(r, '\n')); err != nil {
			t.Fatal(err)
		}
		if len(r)+1 <= 2400 {
			want++
		}
	}
	waitFor(t, 5*time.Second, "records", func() bool { return l.Status().Records == uint64(len(recs)) })
	st := l.Status()
	if got := len(c.events()); got != want || st.Skipped != uint64(len(recs)-want) {
		t.Fatalf("received %d, skipped %d; want %d and %d", got, st.Skipped, want, len(recs)-want)
	}
	if ev := c.events()[0]; !bytes.Equal(ev.Raw, recs[0]) {
		t.Fatalf("first datagram = %.60q", ev.Raw)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	p := newPKI(t)
	l, c := startListener(t, ListenConfig{URL: "tls://127.0.0.1:0", TLSCert: p.certFile, TLSKey: p.keyFile, TLSClientCA: p.caFile, Decode: rawDecode}, 100)
	addr := l.Addr().String()

	if conn, err := tlsClient(t, p, addr, "", ""); err == nil {
		conn.Close()
		t.Fatal("client without a certificate was accepted")
	}
	if conn, err := tlsClient(t, p, addr, p.otherClientCert, p.otherClientK); err == nil {
		conn.Close()
		t.Fatal("client with a certificate from another CA was accepted")
	}
	waitFor(t, 5*time.Second, "two refusals", func() bool { return l.Status().Disconnects == 2 })
	if d := l.Status().Detail; !strings.Contains(d, "tls handshake") {
		t.Errorf("detail %q does not say why the client was refused", d)
	}

	conn, err := tlsClient(t, p, addr, p.clientCert, p.clientKey)
	if err != nil {
		t.Fatalf("client with a valid certificate: %v", err)
	}
	rec := readRecords(t, "otrf-cobaltstrike.ndjson")[0]
	fmt.Fprintf(conn, "%d %s", len(rec), rec)
	conn.Close()
	waitFor(t, 5*time.Second, "record over TLS", func() bool { return len(c.events()) == 1 })
	if st := l.Status(); st.Kind != "tls" || st.Disconnects != 2 {
		t.Errorf("status kind %q refused %d", st.Kind, st.Disconnects)
	}
}

func TestOversize(t *testing.T) {
	l, c := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, MaxMessage: 100}, 10)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 5000)
	fmt.Fprintf(conn, "%d %s%d %s", len(big), big, 5, "<13>a")
	conn.Close()
	waitFor(t, 5*time.Second, "records", func() bool { return l.Status().Records == 2 })
	st := l.Status()
	if st.Skipped != 1 || len(c.events()) != 1 || string(c.events()[0].Raw) != "<13>a" {
		t.Fatalf("skipped %d, events %d", st.Skipped, len(c.events()))
	}
	if !strings.Contains(st.Detail, "1 oversize dropped") {
		t.Errorf("detail %q", st.Detail)
	}
}

func TestMaxConnsAndIdleTimeout(t *testing.T) {
	l, _ := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, MaxConns: 1, IdleTimeout: 300 * time.Millisecond}, 10)
	first, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, 5*time.Second, "first connection open", func() bool { return l.open.Load() == 1 })
	second, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("second connection over MaxConns: read err = %v, want it closed", err)
	}
	if st := l.Status(); st.Disconnects != 1 || !strings.Contains(st.Detail, "max connections (1)") {
		t.Fatalf("refused %d, detail %q", st.Disconnects, st.Detail)
	}
	// The first connection sends nothing: the idle timeout closes it.
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read err = %v, want EOF", err)
	}
	waitFor(t, 5*time.Second, "close recorded", func() bool { return strings.Contains(l.LastClosed(), "idle timeout") })
}

func TestReadTimeoutOnPartialMessage(t *testing.T) {
	l, _ := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, ReadTimeout: 200 * time.Millisecond}, 10)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "100 <13>only part")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read err = %v, want EOF", err)
	}
	waitFor(t, 5*time.Second, "close recorded", func() bool { return strings.Contains(l.LastClosed(), "read timeout") })
}

func TestBadFrameClosesAndCounts(t *testing.T) {
	l, c := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode}, 10)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "5 <13>a99x garbage")
	conn.Close()
	waitFor(t, 5*time.Second, "bad frame counted", func() bool { return l.Status().DecodeErrors == 1 })
	st := l.Status()
	if st.Records != 2 || len(c.events()) != 1 || len(st.LastErrors) != 1 || !strings.Contains(st.LastErrors[0], "127.0.0.1:") {
		t.Fatalf("records %d events %d errors %q", st.Records, len(c.events()), st.LastErrors)
	}
}

func TestTCPQueueTimeoutDrops(t *testing.T) {
	l, err := NewListener(ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, QueueTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	out := make(chan source.Event, 2) // nobody reads
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, out) }()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		fmt.Fprintf(conn, "<13>m%d\n", i)
	}
	conn.Close()
	waitFor(t, 5*time.Second, "drops", func() bool { return l.Status().Records == 5 })
	waitFor(t, 5*time.Second, "drops", func() bool { return l.Status().Dropped == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); st.Decoded != 5 || len(out) != 2 || st.State != source.StateDone {
		t.Fatalf("decoded %d queued %d state %v", st.Decoded, len(out), st.State)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestReadTimeoutSteadyStream: a sender whose every read ends mid-message, but whose
// messages each complete in time, must not be cut off by ReadTimeout.
func TestReadTimeoutSteadyStream(t *testing.T) {
	l, c := startListener(t, ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, ReadTimeout: 150 * time.Millisecond}, 100)
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "<13>m0-")
	const n = 12 // 12 x 50 ms: four times the read timeout
	for i := 1; i <= n; i++ {
		time.Sleep(50 * time.Millisecond)
		fmt.Fprintf(conn, "end\n<13>m%d-", i)
	}
	io.WriteString(conn, "end\n")
	waitFor(t, 5*time.Second, "all messages", func() bool { return len(c.events()) == n+1 })
	if lc := l.LastClosed(); lc != "" {
		t.Fatalf("connection closed: %s", lc)
	}
}

// TestShutdownDeliversWhatWasRead: after cancellation the listener stops reading, but the
// events it had already read still reach a consumer that keeps draining.
func TestShutdownDeliversWhatWasRead(t *testing.T) {
	l, err := NewListener(ListenConfig{URL: "tcp://127.0.0.1:0", Decode: rawDecode, QueueTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	out := make(chan source.Event) // nobody reads until after the cancel
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, out) }()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 5 {
		fmt.Fprintf(conn, "<13>m%d\n", i)
	}
	waitFor(t, 5*time.Second, "records read", func() bool { return l.Status().Records == 5 })
	cancel()
	var got []string
	for len(got) < 5 {
		select {
		case ev := <-out:
			got = append(got, string(ev.Raw))
		case <-time.After(10 * time.Second):
			t.Fatalf("only %q delivered after cancel", got)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); st.Dropped != 0 || got[4] != "<13>m4" {
		t.Fatalf("dropped %d, got %q", st.Dropped, got)
	}
}
