package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/winevent"
)

func parseSourceFlags(t *testing.T, args ...string) *sourceFlags {
	t.Helper()
	var f sourceFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &f
}

// writeCert writes a self-signed certificate and its key for tls:// tests.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestSourceFlagsParse(t *testing.T) {
	f := parseSourceFlags(t,
		"--file", "/var/log/a.json", "--file", "/var/log/*.ndjson", "--from-start",
		"--listen", "udp://:514", "--listen", "tcp://0.0.0.0:1514",
		"--connect", "tls://relay:6514", "--tls-ca", "ca.pem",
		"--winlog", "--channel", "Application", "--channel", "Microsoft-Windows-PowerShell/Operational",
		"--max-record", "4096", "--max-message", "8192", "--max-conns", "10", "--idle-timeout", "90s")
	want := sourceFlags{
		files: flagList{"/var/log/a.json", "/var/log/*.ndjson"}, fromStart: true,
		listen: flagList{"udp://:514", "tcp://0.0.0.0:1514"}, connect: flagList{"tls://relay:6514"}, tlsCA: "ca.pem",
		winlog: true, channels: flagList{"Application", "Microsoft-Windows-PowerShell/Operational"},
		maxRecord: 4096, maxMessage: 8192, maxConns: 10, idleTimeout: 90 * time.Second,
	}
	if f.files.String() != want.files.String() || f.listen.String() != want.listen.String() ||
		f.connect.String() != want.connect.String() || f.channels.String() != want.channels.String() ||
		f.fromStart != want.fromStart || f.tlsCA != want.tlsCA || f.winlog != want.winlog ||
		f.maxRecord != want.maxRecord || f.maxMessage != want.maxMessage || f.maxConns != want.maxConns ||
		f.idleTimeout != want.idleTimeout {
		t.Fatalf("parsed %+v\nwant %+v", *f, want)
	}
}

func TestSourceFlagsAny(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--from-start", "--max-record", "10"}, false},
		{[]string{"--file", "x"}, true},
		{[]string{"--listen", "udp://:514"}, true},
		{[]string{"--connect", "tcp://r:1"}, true},
		{[]string{"--winlog"}, true},
	} {
		if got := parseSourceFlags(t, tc.args...).any(); got != tc.want {
			t.Errorf("any(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestSourceFlagsFeeds(t *testing.T) {
	cert, key := writeCert(t)
	dir := t.TempDir()
	f := parseSourceFlags(t,
		"--file", filepath.Join(dir, "a.json"), "--file", filepath.Join(dir, "*.xml"), "--file", "-",
		"--listen", "udp://127.0.0.1:0", "--listen", "tls://127.0.0.1:0",
		"--tls-cert", cert, "--tls-key", key, "--tls-client-ca", cert,
		"--connect", "tcp://relay.example:1514", "--connect", "tls://relay.example:6514", "--tls-ca", cert,
		"--max-message", "4096", "--idle-timeout", "1m")
	feeds, err := f.feeds(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range feeds {
		names = append(names, fd.Name()+" "+fd.Status().Kind)
	}
	want := []string{
		"file:" + filepath.Join(dir, "a.json") + " file", "file:" + filepath.Join(dir, "*.xml") + " file", "stdin stdin",
		"udp://127.0.0.1:0 udp", "tls://127.0.0.1:0 tls", "tcp://relay.example:1514 connect", "tls://relay.example:6514 connect",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("feeds:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestSourceFlagsErrors(t *testing.T) {
	cert, key := writeCert(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "ftp://0.0.0.0:21"}, "--listen ftp://0.0.0.0:21: scheme ftp:// is not one of udp://, tcp://, tls://"},
		{[]string{"--listen", ":1514"}, "--listen :1514: want a URL such as tls://0.0.0.0:1514 (scheme udp://, tcp://, tls://)"},
		{[]string{"--connect", "udp://relay:514"}, "--connect udp://relay:514: scheme udp:// is not one of tcp://, tls://"},
		{[]string{"--listen", "tls://:6514"}, "--listen tls://:6514: tls:// needs --tls-cert and --tls-key"},
		{[]string{"--listen", "tls://:6514", "--tls-cert", cert}, "--tls-cert " + cert + ": needs --tls-key too"},
		{[]string{"--listen", "tls://:6514", "--tls-key", key}, "--tls-key " + key + ": needs --tls-cert too"},
		{[]string{"--listen", "tcp://:1514", "--tls-cert", cert, "--tls-key", key}, "--tls-cert " + cert + ": applies to --listen tls:// or --connect tls:// only"},
		{[]string{"--listen", "tcp://:1514", "--tls-client-ca", cert}, "--tls-client-ca " + cert + ": applies to --listen tls:// only"},
		{[]string{"--connect", "tcp://r:1514", "--tls-ca", cert}, "--tls-ca " + cert + ": applies to --connect tls:// only"},
		{[]string{"--listen", "tls://:6514", "--tls-cert", "/nonexistent/c.pem", "--tls-key", key}, "--listen tls://:6514: listener tls://:6514: load tls key pair /nonexistent/c.pem"},
		{[]string{"--channel", "Application"}, "--channel Application: needs --winlog"},
		{[]string{"--from-start"}, "--from-start: applies to --file only"},
		{[]string{"--file", "x", "--max-record", "-1"}, "--max-record -1: must not be negative"},
		{[]string{"--listen", "udp://:514", "--max-record", "100"}, "--max-record 100: applies to --file and --winlog only"},
		{[]string{"--file", "x", "--max-message", "100"}, "--max-message 100: applies to --listen and --connect only"},
		{[]string{"--file", "x", "--max-conns", "3"}, "--max-conns 3: applies to --listen only"},
		{[]string{"--file", "x", "--idle-timeout", "1s"}, "--idle-timeout 1s: applies to --listen and --connect only"},
		{[]string{"--file", "/tmp/*/x"}, "--file /tmp/*/x: jsonfile: /tmp/*/x: wildcards are allowed in the file name only, not in directories"},
		{[]string{"--file", "-", "--file", "-"}, "--file -: stdin given twice"},
		{[]string{"--listen", "tcp://:1514", "--max-message", "999999999"}, "--listen tcp://:1514: listener tcp://:1514: MaxMessage 999999999 out of range"},
	} {
		_, err := parseSourceFlags(t, tc.args...).feeds(nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("feeds(%q)\n  = %v\nwant %q", tc.args, err, tc.want)
		}
	}
}

func TestSourceFlagsWinlog(t *testing.T) {
	feeds, err := parseSourceFlags(t, "--winlog", "--channel", "Application").feeds(nil)
	if runtime.GOOS == "windows" {
		if err != nil || len(feeds) != 1 || feeds[0].Name() != "winlog" {
			t.Fatalf("feeds = %v, %v", feeds, err)
		}
		return
	}
	if !errors.Is(err, winevent.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	want := "--winlog needs Windows: this is " + runtime.GOOS + "/" + runtime.GOARCH + "; use --listen/--connect/--file"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	var fe *flagError
	if !errors.As(err, &fe) || fe.flag != "--winlog" {
		t.Errorf("err %T does not name --winlog", err)
	}
}

// The flags' feeds run under source.RunAll and deliver a real file's records.
func TestSourceFlagsFeedsRun(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "source", "jsonfile", "testdata", "winlogbeat-sysmon-9.01.records1-7.xml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sysmon.xml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	feeds, err := parseSourceFlags(t, "--file", path, "--from-start").feeds(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan source.Event)
	done := make(chan error, 1)
	go func() { done <- source.RunAll(ctx, feeds, out) }()
	for i := range 7 {
		select {
		case ev := <-out:
			if ev.Channel != "Microsoft-Windows-Sysmon/Operational" || ev.Origin.Line != int64(i+1) {
				t.Errorf("event %d: channel %q origin %s", i, ev.Channel, ev.Origin)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of 7 events", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	if _, open := <-out; open {
		t.Fatal("out not closed after RunAll")
	}
}

// TestSourceFlagsListenBusy: a port already taken is reported by feeds(), naming the flag,
// before anything runs (hunt and the TUI exit 2 on it).
func TestSourceFlagsListenBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	u := "tcp://" + busy.Addr().String()
	_, err = parseSourceFlags(t, "--listen", u).feeds(nil)
	if err == nil || !strings.HasPrefix(err.Error(), "--listen "+u+": ") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("feeds(--listen %s) = %v; want a --listen error saying the address is in use", u, err)
	}
}
