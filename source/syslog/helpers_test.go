package syslog

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// needTool finds an external sender; CI must have it, elsewhere the test is skipped.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true requires it): %v", name, err)
		}
		t.Skipf("%s not installed: apt-get install rsyslog rsyslog-gnutls socat bsdutils openssl", name)
	}
	return p
}

// readRecords loads a testdata file as its lines (CR kept out), skipping empty ones.
func readRecords(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimRight(l, "\r")
		if len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// collector drains a feed's out channel in the background.
type collector struct {
	out  chan source.Event
	mu   sync.Mutex
	evs  []source.Event
	done chan struct{}
}

func collect(size int) *collector {
	c := &collector{out: make(chan source.Event, size), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ev := range c.out {
			c.mu.Lock()
			c.evs = append(c.evs, ev)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) events() []source.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]source.Event(nil), c.evs...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startListener binds cfg, runs it into a collector and stops it at test end.
func startListener(t *testing.T, cfg ListenConfig, queue int) (*Listener, *collector) {
	t.Helper()
	l, err := NewListener(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	c := collect(queue)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx, c.out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		close(c.out)
		<-c.done
	})
	return l, c
}

// rawDecode is the transport-only decoder the listener tests use: it keeps the message.
func rawDecode(rec []byte, origin source.Origin, ev *source.Event) error {
	ev.Raw = append([]byte(nil), rec...)
	ev.Origin = origin
	return nil
}

// pki is a test CA with a server certificate for 127.0.0.1/localhost and a client
// certificate, written as PEM files in dir.
type pki struct {
	dir                                    string
	caFile, certFile, keyFile              string
	clientCert, clientKey                  string
	otherCA, otherClientCert, otherClientK string
}

func newPKI(t testing.TB) pki {
	t.Helper()
	dir := t.TempDir()
	p := pki{dir: dir}
	ca, caKey := makeCA(t, "vigil test CA")
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	srv := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	p.certFile, p.keyFile = issue(t, dir, "server", srv, ca, caKey)
	cli := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "relay.test"},
		DNSNames:    []string{"relay.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	p.clientCert, p.clientKey = issue(t, dir, "client", cli, ca, caKey)
	other, otherKey := makeCA(t, "someone else's CA")
	p.otherCA = writePEM(t, dir, "other-ca.pem", "CERTIFICATE", other.Raw)
	cli2 := &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	p.otherClientCert, p.otherClientK = issue(t, dir, "stranger", cli2, other, otherKey)
	return p
}

var serial int64

func makeCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func issue(t testing.TB, dir, name string, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+"-cert.pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "PRIVATE KEY", kder)
}

func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsClient dials addr trusting the test CA, presenting cert/key if given.
func tlsClient(t testing.TB, p pki, addr, cert, key string) (*tls.Conn, error) {
	t.Helper()
	pool, err := loadPool(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	c, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		return nil, err
	}
	// TLS 1.3 reports a refused client certificate only on the first read.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	_, rerr := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
		return c, nil
	}
	c.Close()
	return nil, rerr
}

func contextWithCleanup(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
