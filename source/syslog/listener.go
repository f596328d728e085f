package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// ListenConfig configures a Listener. Zero values take the defaults named per field.
type ListenConfig struct {
	URL         string // udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (port 0: any)
	TLSCert     string // tls: PEM server certificate (chain) file
	TLSKey      string // tls: PEM private key file
	TLSClientCA string // tls: PEM CA file; when set, clients must present a certificate it signed
	MaxMessage  int    // bytes per message (default 64 KiB, at most MaxMessageLimit); longer ones are dropped and counted as Skipped
	MaxConns    int    // concurrent TCP/TLS connections (default 256); further ones are refused and counted
	// IdleTimeout closes a TCP/TLS connection that sends nothing for this long (default 5 min).
	IdleTimeout time.Duration
	// ReadTimeout closes a connection whose message, once started, is not complete within
	// this long (default 30 s): a guard against senders trickling bytes.
	ReadTimeout time.Duration
	// QueueTimeout is how long a TCP/TLS reader waits on a full out channel before it
	// drops the event and counts it (default 2 s). UDP never waits.
	QueueTimeout time.Duration
	Name         string     // status-bar name (default: URL)
	Decode       DecodeFunc // default decode.Decode
}

// udpReadBuffer is the socket receive buffer a UDP listener asks for.
const udpReadBuffer = 4 << 20

// Listener receives syslog over UDP, TCP or TLS. It implements source.Feed.
//
// Call Bind to open the socket (errors such as "address already in use" come back
// there, synchronously) and Addr to learn the bound address (port 0 picks one), then
// Run. Run binds by itself if Bind was not called.
//
// Backpressure on out: a TCP/TLS reader blocks on a full out for up to QueueTimeout,
// then drops the event and counts it in Dropped (the sender is slowed meanwhile, which is
// TCP's own flow control). The UDP reader never blocks: when out is full the event is
// dropped and counted at once, so the socket keeps being drained. Datagrams the kernel
// drops before vigil reads them (socket buffer full) are not events vigil read, so they
// are not in Records or Dropped; on Linux the socket reports them (SO_RXQ_OVFL): see
// KernelDrops and Status.Detail.
//
// When ctx is done Run closes the socket and every connection, hands over what it had
// already read for up to one more QueueTimeout (so a consumer draining at shutdown loses
// nothing), counts the rest as Dropped, and returns nil.
type Listener struct {
	cfg    ListenConfig
	scheme string
	host   string
	tlsCfg *tls.Config
	pipe   pipe
	c      source.Counters
	peers  *peerTable

	mu      sync.Mutex
	ln      net.Listener
	pc      *net.UDPConn
	running bool

	open        atomic.Int64
	refused     atomic.Uint64 // also in c.Disconnects, which the contract uses for refusals
	closed      atomic.Uint64
	lastRefused atomic.Pointer[string]
	// kernelDrops is the UDP socket's own count of datagrams the kernel dropped (receive
	// buffer full), as last reported with a datagram (Linux).
	kernelDrops      atomic.Uint64
	kernelDropsKnown atomic.Bool
	lastClosed       atomic.Pointer[string]
}

var _ source.Feed = (*Listener)(nil)

// NewListener checks cfg and loads the TLS material. It does not bind.
func NewListener(cfg ListenConfig) (*Listener, error) {
	scheme, host, err := parseURL(cfg.URL, "udp", "tcp", "tls")
	if err != nil {
		return nil, err
	}
	if err := defaults(&cfg.MaxMessage, &cfg.QueueTimeout, &cfg.Decode); err != nil {
		return nil, fmt.Errorf("listener %s: %w", cfg.URL, err)
	}
	if cfg.MaxConns < 0 || cfg.IdleTimeout < 0 || cfg.ReadTimeout < 0 {
		return nil, fmt.Errorf("listener %s: negative MaxConns, IdleTimeout or ReadTimeout", cfg.URL)
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.Name == "" {
		cfg.Name = cfg.URL
	}
	l := &Listener{cfg: cfg, scheme: scheme, host: host, peers: newPeerTable()}
	if scheme == "tls" {
		if l.tlsCfg, err = serverTLS(cfg); err != nil {
			return nil, fmt.Errorf("listener %s: %w", cfg.URL, err)
		}
	} else if cfg.TLSCert != "" || cfg.TLSKey != "" || cfg.TLSClientCA != "" {
		return nil, fmt.Errorf("listener %s: TLS files given for a %s listener (use tls://)", cfg.URL, scheme)
	}
	l.pipe = pipe{
		name: cfg.Name, decode: cfg.Decode, max: cfg.MaxMessage,
		idle: cfg.IdleTimeout, read: cfg.ReadTimeout, queue: cfg.QueueTimeout, c: &l.c,
	}
	l.c.SetState(source.StateStarting, "")
	return l, nil
}

func defaults(maxMsg *int, queue *time.Duration, dec *DecodeFunc) error {
	switch {
	case *maxMsg < 0 || *maxMsg > MaxMessageLimit:
		return fmt.Errorf("MaxMessage %d out of range 0..%d", *maxMsg, MaxMessageLimit)
	case *maxMsg == 0:
		*maxMsg = DefaultMaxMessage
	}
	switch {
	case *queue < 0:
		return fmt.Errorf("negative QueueTimeout %s", *queue)
	case *queue == 0:
		*queue = DefaultQueueTimeout
	}
	if *dec == nil {
		*dec = defaultDecode
	}
	return nil
}

func serverTLS(cfg ListenConfig) (*tls.Config, error) {
	if cfg.TLSCert == "" || cfg.TLSKey == "" {
		return nil, errors.New("tls needs TLSCert and TLSKey")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load tls key pair %s, %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.TLSClientCA != "" {
		pool, err := loadPool(cfg.TLSClientCA)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca file %s: no PEM certificate found", file)
	}
	return pool, nil
}

// Name is the feed's status-bar name.
func (l *Listener) Name() string { return l.cfg.Name }

// Bind opens the socket. Calling it again is a no-op; after Run returns the socket is
// closed and the Listener cannot be reused.
func (l *Listener) Bind() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil || l.pc != nil {
		return nil
	}
	var err error
	switch l.scheme {
	case "udp":
		var a *net.UDPAddr
		if a, err = net.ResolveUDPAddr("udp", l.host); err == nil {
			l.pc, err = net.ListenUDP("udp", a)
		}
		if err == nil {
			// Room for bursts while the reader decodes. Best effort: Linux caps it at
			// net.core.rmem_max (often 208 KiB) unless the administrator raises that.
			_ = l.pc.SetReadBuffer(udpReadBuffer)
		}
	default:
		l.ln, err = net.Listen("tcp", l.host)
	}
	if err != nil {
		err = fmt.Errorf("listen %s: %w", l.cfg.URL, err)
		l.c.SetState(source.StateError, err.Error())
		return err
	}
	l.c.SetState(source.StateListening, "")
	return nil
}

// Addr is the bound address, or nil before Bind.
func (l *Listener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.pc != nil:
		return l.pc.LocalAddr()
	case l.ln != nil:
		return l.ln.Addr()
	}
	return nil
}

// Run receives until ctx is done, then closes the socket and every connection and
// returns nil once all readers have stopped. A bind error is returned at once.
func (l *Listener) Run(ctx context.Context, out chan<- source.Event) error {
	if err := l.Bind(); err != nil {
		return err
	}
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		return fmt.Errorf("listener %s: Run called twice", l.cfg.URL)
	}
	l.running = true
	ln, pc := l.ln, l.pc
	l.mu.Unlock()
	if pc != nil {
		return l.runUDP(ctx, pc, out)
	}
	return l.runTCP(ctx, ln, out)
}

func (l *Listener) runUDP(ctx context.Context, pc *net.UDPConn, out chan<- source.Event) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	defer pc.Close()
	// One byte over the limit tells an oversize datagram from one exactly at it.
	buf := make([]byte, min(l.cfg.MaxMessage+1, 65536))
	var oob []byte
	if enableKernelDrops(pc) {
		oob = make([]byte, oobSize)
		l.kernelDropsKnown.Store(true)
	}
	var (
		lastAP    netip.AddrPort
		lastWhere string
		lastPC    *peerCounters
	)
	for {
		n, oobn, _, ap, err := pc.ReadMsgUDPAddrPort(buf, oob)
		if oobn > 0 {
			if k, ok := kernelDrops(oob[:oobn]); ok {
				l.kernelDrops.Store(uint64(k)) // cumulative for the socket; a uint32 in the kernel
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				l.c.SetState(source.StateDone, "stopped")
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			err = fmt.Errorf("read %s: %w", l.cfg.URL, err)
			l.c.SetState(source.StateError, err.Error())
			return err
		}
		if ap != lastAP || lastPC == nil {
			lastAP, lastWhere, lastPC = ap, ap.String(), l.peers.get(ap.Addr())
		}
		lastPC.touch()
		l.c.Bytes.Add(uint64(n))
		lastPC.bytes.Add(uint64(n))
		if n > l.cfg.MaxMessage {
			l.pipe.skipped(lastPC)
			continue
		}
		msg := trimDatagram(buf[:n])
		if len(msg) == 0 {
			continue
		}
		l.pipe.record(msg, source.Origin{Feed: l.cfg.Name, Where: lastWhere}, lastPC, out, nil)
	}
}

// trimDatagram strips the trailing LF, CR or NUL some senders add to a datagram.
func trimDatagram(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

func (l *Listener) runTCP(ctx context.Context, ln net.Listener, out chan<- source.Event) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer l.pipe.startWorkers()() // runs after every connection has returned
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	var tempDelay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				l.c.SetState(source.StateDone, "stopped")
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || retryableAccept(err) {
				// EMFILE and friends: back off instead of spinning (as net/http does).
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(tempDelay):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			err = fmt.Errorf("accept %s: %w", l.cfg.URL, err)
			l.c.SetState(source.StateError, err.Error())
			return err
		}
		tempDelay = 0
		pc := l.peers.get(addrOf(conn.RemoteAddr()))
		pc.touch()
		if l.open.Load() >= int64(l.cfg.MaxConns) {
			conn.Close()
			l.refuse(pc, conn.RemoteAddr().String(), fmt.Sprintf("max connections (%d) reached", l.cfg.MaxConns))
			continue
		}
		l.open.Add(1)
		pc.open.Add(1)
		pc.conns.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.serveConn(ctx, conn, pc, out)
		}()
	}
}

// retryableAccept reports accept errors worth retrying: out of descriptors, or a peer
// that gave up before accept.
func retryableAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED)
}

func (l *Listener) refuse(pc *peerCounters, where, why string) {
	l.c.Disconnects.Add(1)
	l.refused.Add(1)
	pc.refused.Add(1)
	s := where + ": " + why
	l.lastRefused.Store(&s)
}

func (l *Listener) serveConn(ctx context.Context, conn net.Conn, pc *peerCounters, out chan<- source.Event) {
	where := conn.RemoteAddr().String()
	defer func() {
		conn.Close()
		l.open.Add(-1)
		pc.open.Add(-1)
	}()
	if l.tlsCfg != nil {
		tc := tls.Server(conn, l.tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, l.cfg.ReadTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			l.refuse(pc, where, "tls handshake: "+err.Error())
			return
		}
		conn = tc
	}
	err := l.pipe.serve(ctx, conn, where, pc, out)
	l.closed.Add(1)
	pc.disconnects.Add(1)
	pc.touch()
	why := "closed by peer"
	if err != nil {
		why = err.Error()
	}
	s := where + ": " + why
	l.lastClosed.Store(&s)
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr()
	case *net.UDPAddr:
		return a.AddrPort().Addr()
	}
	return netip.Addr{}
}

// Status is a snapshot of the listener's counters. Detail gives open connections,
// refusals and connections closed, with the latest reason for each.
func (l *Listener) Status() source.Status {
	s := l.c.Snapshot(l.cfg.Name, l.scheme)
	if s.State == source.StateListening || s.State == source.StateDone {
		d := strconv.Itoa(l.peers.count()) + " senders"
		if l.scheme != "udp" {
			d += ", " + strconv.FormatInt(l.open.Load(), 10) + " open, " +
				strconv.FormatUint(l.closed.Load(), 10) + " closed, " +
				strconv.FormatUint(l.refused.Load(), 10) + " refused"
		}
		if k := l.kernelDrops.Load(); k > 0 {
			d = join(d, strconv.FormatUint(k, 10)+" datagrams dropped by the kernel (socket buffer full)")
		}
		if n := l.pipe.oversz.Load(); n > 0 {
			d = join(d, strconv.FormatUint(n, 10)+" oversize dropped")
		}
		if p := l.lastRefused.Load(); p != nil {
			d = join(d, "last refused "+*p)
		}
		if s.State == source.StateDone {
			d = join("stopped", d)
		}
		s.Detail = d
	}
	return s
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Peers is a snapshot of the per-sender counters (at most MaxPeers plus OtherPeers).
func (l *Listener) Peers() []PeerStatus { return l.peers.snapshot() }

// KernelDrops is the number of datagrams a UDP listener's socket dropped before vigil
// could read them (receive buffer full), as the kernel last reported it with a received
// datagram; known is false where the kernel does not report it (off Linux). Drops after
// the last datagram received are reported with the next one.
func (l *Listener) KernelDrops() (n uint64, known bool) {
	return l.kernelDrops.Load(), l.kernelDropsKnown.Load()
}

// LastClosed is the latest connection end and its reason ("" if none yet).
func (l *Listener) LastClosed() string {
	if p := l.lastClosed.Load(); p != nil {
		return *p
	}
	return ""
}
