package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// Dialer defaults.
const (
	DefaultBackoffMin  = 250 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
)

// DialConfig configures a Dialer. Zero values take the defaults named per field.
type DialConfig struct {
	URL        string // tcp://HOST:PORT or tls://HOST:PORT of a relay serving the stream
	TLSCA      string // tls: PEM CA file to verify the relay (default: system roots)
	TLSCert    string // tls: PEM client certificate, if the relay asks for one
	TLSKey     string // tls: PEM client key
	ServerName string // tls: name to verify (default: the URL's host)
	MaxMessage int    // bytes per message (default 64 KiB); longer ones are dropped and counted as Skipped
	BackoffMin time.Duration
	BackoffMax time.Duration // reconnect delay doubles from BackoffMin (250 ms) up to BackoffMax (30 s), with jitter
	// DialTimeout bounds one connection attempt including the TLS handshake (default 10 s).
	DialTimeout time.Duration
	// IdleTimeout reconnects when the relay sends nothing for this long (default 5 min).
	IdleTimeout  time.Duration
	ReadTimeout  time.Duration // see ListenConfig.ReadTimeout (default 30 s)
	QueueTimeout time.Duration // see ListenConfig.QueueTimeout (default 2 s)
	Name         string        // status-bar name (default: URL)
	Decode       DecodeFunc    // default decode.Decode
}

// Dialer connects to a relay that serves a syslog stream and reads it with the same
// framing as the listener; it implements source.Feed. When the connection fails or
// drops it reconnects with capped exponential backoff and jitter. Every loss is counted
// in Status.Disconnects and the time spent disconnected (the gap in the stream) is
// summed and shown in Status.Detail: events sent by the relay meanwhile are lost unless
// the relay buffers them.
//
// Backpressure on out is the listener's TCP policy: wait up to QueueTimeout, then drop
// and count.
type Dialer struct {
	cfg    DialConfig
	scheme string
	host   string
	tlsCfg *tls.Config
	pipe   pipe
	c      source.Counters
	relay  peerCounters

	running atomic.Bool

	mu        sync.Mutex
	gapTotal  time.Duration // completed gaps
	gapSince  time.Time     // start of the current gap, zero while connected
	lastError string
}

var _ source.Feed = (*Dialer)(nil)

// NewDialer checks cfg and loads the TLS material. It does not connect.
func NewDialer(cfg DialConfig) (*Dialer, error) {
	scheme, host, err := parseURL(cfg.URL, "tcp", "tls")
	if err != nil {
		return nil, err
	}
	if err := defaults(&cfg.MaxMessage, &cfg.QueueTimeout, &cfg.Decode); err != nil {
		return nil, fmt.Errorf("dialer %s: %w", cfg.URL, err)
	}
	if cfg.BackoffMin < 0 || cfg.BackoffMax < 0 || cfg.DialTimeout < 0 || cfg.IdleTimeout < 0 || cfg.ReadTimeout < 0 {
		return nil, fmt.Errorf("dialer %s: negative duration", cfg.URL)
	}
	cfg.BackoffMin = or(cfg.BackoffMin, DefaultBackoffMin)
	cfg.BackoffMax = max(or(cfg.BackoffMax, DefaultBackoffMax), cfg.BackoffMin)
	cfg.DialTimeout = or(cfg.DialTimeout, DefaultDialTimeout)
	cfg.IdleTimeout = or(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.ReadTimeout = or(cfg.ReadTimeout, DefaultReadTimeout)
	if cfg.Name == "" {
		cfg.Name = cfg.URL
	}
	d := &Dialer{cfg: cfg, scheme: scheme, host: host}
	if scheme == "tls" {
		if d.tlsCfg, err = clientTLS(cfg, host); err != nil {
			return nil, fmt.Errorf("dialer %s: %w", cfg.URL, err)
		}
	} else if cfg.TLSCA != "" || cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.ServerName != "" {
		return nil, fmt.Errorf("dialer %s: TLS settings given for a tcp URL (use tls://)", cfg.URL)
	}
	d.pipe = pipe{
		name: cfg.Name, decode: cfg.Decode, max: cfg.MaxMessage,
		idle: cfg.IdleTimeout, read: cfg.ReadTimeout, queue: cfg.QueueTimeout, c: &d.c,
	}
	d.c.SetState(source.StateStarting, "")
	return d, nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func clientTLS(cfg DialConfig, host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(host)
	}
	if cfg.TLSCA != "" {
		pool, err := loadPool(cfg.TLSCA)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("tls client certificate needs both TLSCert and TLSKey")
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load tls key pair %s, %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Name is the feed's status-bar name.
func (d *Dialer) Name() string { return d.cfg.Name }

// Run connects, reads, and reconnects until ctx is done; it then returns nil.
func (d *Dialer) Run(ctx context.Context, out chan<- source.Event) error {
	if !d.running.CompareAndSwap(false, true) {
		return fmt.Errorf("dialer %s: Run called twice", d.cfg.URL)
	}
	pc := &d.relay
	defer d.pipe.startWorkers()()
	attempt := 0
	for {
		conn, err := d.dial(ctx)
		if ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			d.c.SetState(source.StateDone, "stopped; "+d.gapText())
			return nil
		}
		if err == nil {
			attempt = 0
			d.connected()
			pc.conns.Add(1)
			pc.open.Add(1)
			err = d.pipe.serve(ctx, conn, d.host, pc, out)
			conn.Close()
			pc.open.Add(-1)
			if ctx.Err() != nil {
				d.c.SetState(source.StateDone, "stopped; "+d.gapText())
				return nil
			}
			if err == nil {
				err = errors.New("closed by relay")
			}
			d.lost(err)
			pc.disconnects.Add(1)
		} else {
			d.failed(err)
		}
		wait := backoff(d.cfg.BackoffMin, d.cfg.BackoffMax, attempt)
		attempt++
		state := source.StateReconnecting
		if permanent(err) {
			state = source.StateError // will not fix itself; keep trying but say so
		}
		d.c.SetState(state, fmt.Sprintf("reconnecting in %s; %s; %s", roundDur(wait), d.gapText(), err))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			d.c.SetState(source.StateDone, "stopped; "+d.gapText())
			return nil
		}
	}
}

// permanent reports failures that retrying alone will not fix: the relay's certificate
// does not verify, or its name does not resolve.
func permanent(err error) bool {
	var verr *tls.CertificateVerificationError
	var dnsErr *net.DNSError
	return errors.As(err, &verr) || errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

func (d *Dialer) dial(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, d.cfg.DialTimeout)
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(dctx, "tcp", d.host)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", d.host, err)
	}
	if d.tlsCfg == nil {
		return conn, nil
	}
	tc := tls.Client(conn, d.tlsCfg)
	if err := tc.HandshakeContext(dctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", d.host, err)
	}
	return tc, nil
}

func (d *Dialer) connected() {
	d.mu.Lock()
	if !d.gapSince.IsZero() {
		d.gapTotal += time.Since(d.gapSince)
		d.gapSince = time.Time{}
	}
	d.mu.Unlock()
	d.c.SetState(source.StateConnected, "connected to "+d.host+"; "+d.gapText())
}

func (d *Dialer) lost(err error) {
	d.c.Disconnects.Add(1)
	d.mu.Lock()
	d.gapSince = time.Now()
	d.lastError = err.Error()
	d.mu.Unlock()
}

func (d *Dialer) failed(err error) {
	d.mu.Lock()
	d.lastError = err.Error()
	d.mu.Unlock()
}

// Gap is the total time spent disconnected after a connection was lost, including the
// current gap.
func (d *Dialer) Gap() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := d.gapTotal
	if !d.gapSince.IsZero() {
		g += time.Since(d.gapSince)
	}
	return g
}

func (d *Dialer) gapText() string {
	return fmt.Sprintf("%d disconnects, gap %s total", d.c.Disconnects.Load(), roundDur(d.Gap()))
}

// Status is a snapshot of the dialer's counters; Detail says whether it is connected,
// when it retries, the disconnects and the summed gap, and the last error.
func (d *Dialer) Status() source.Status { return d.c.Snapshot(d.cfg.Name, "connect") }

// Peers is a snapshot of the relay's counters (one entry).
func (d *Dialer) Peers() []PeerStatus { return []PeerStatus{d.relay.status(d.host)} }

// backoff is the delay before retry attempt n (0-based): min doubled n times, capped at
// max, then "equal jitter" (half fixed, half random) so many vigils do not reconnect to
// one relay in lockstep.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(half+1)
}

func roundDur(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
