// Package syslog receives syslog streams: listeners for UDP, TCP and TLS senders
// (rsyslog omfwd, syslog-ng, NXLog, logger) and a dialer that connects to a relay serving
// the stream (NXLog om_tcp in listen mode, Logstash tcp output in server mode, socat).
//
// TCP and TLS framing is detected per connection (RFC 6587): octet counting ("LEN SP
// MSG", RFC 5425) when the first byte is a digit, otherwise messages terminated by LF,
// CRLF or NUL. Each complete message goes to the decoder (decode.Decode by default),
// which parses the RFC 3164 / RFC 5424 header and the Windows event inside.
//
// Oversize messages (over MaxMessage) are dropped, never truncated: a cut JSON or XML
// record would only decode into an error or, worse, a partial event. The framer skips
// the message without buffering it and counts it in Status.Skipped.
package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// Defaults for the zero values of ListenConfig and DialConfig.
const (
	DefaultMaxMessage   = 64 << 10
	DefaultMaxConns     = 256
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultReadTimeout  = 30 * time.Second
	DefaultQueueTimeout = 2 * time.Second
	// MaxMessageLimit bounds MaxMessage: the framer's buffer is allocated at this size per
	// connection.
	MaxMessageLimit = 16 << 20
)

// DecodeFunc decodes one complete syslog message (header and payload) into ev. It has
// the signature of decode.Decode, the default.
type DecodeFunc func(rec []byte, origin source.Origin, ev *source.Event) error

// defaultDecode is the decoder used when a config names none.
var defaultDecode DecodeFunc = decode.Decode

// pipe is what a stream reader needs from its feed: where to count, how to decode and
// how long to wait for the queue.
type pipe struct {
	name    string // Origin.Feed
	decode  DecodeFunc
	max     int
	idle    time.Duration
	read    time.Duration
	queue   time.Duration // 0: never drop, block until ctx is done
	c       *source.Counters
	oversz  atomic.Uint64 // oversize messages, also counted in c.Skipped
	framing [3]atomic.Uint64
}

// record counts, decodes and hands over one message. It reports whether the event was
// delivered, and never blocks longer than the queue timeout (nil timer: non-blocking).
func (p *pipe) record(ctx context.Context, data []byte, origin source.Origin, pc *peerCounters, out chan<- source.Event, t *time.Timer) {
	p.c.Records.Add(1)
	pc.records.Add(1)
	ev := source.Event{}
	if err := p.decode(data, origin, &ev); err != nil {
		f, msg := source.FormatUnknown, origin.Where+": "+err.Error()
		var de *decode.Error
		if errors.As(err, &de) {
			f, msg = de.Format, err.Error() // already "where: decode format: reason"
		}
		p.c.DecodeError(f, msg)
		pc.decodeErrors.Add(1)
		return
	}
	p.c.Event(ev.Time)
	select {
	case out <- ev:
		return
	default:
	}
	if t == nil {
		p.c.Dropped.Add(1)
		pc.dropped.Add(1)
		return
	}
	t.Reset(p.queue)
	select {
	case out <- ev:
		t.Stop()
	case <-t.C:
		p.c.Dropped.Add(1)
		pc.dropped.Add(1)
	case <-ctx.Done():
		t.Stop()
		p.c.Dropped.Add(1)
		pc.dropped.Add(1)
	}
}

func (p *pipe) skipped(pc *peerCounters) {
	p.c.Records.Add(1)
	p.c.Skipped.Add(1)
	p.oversz.Add(1)
	pc.records.Add(1)
	pc.skipped.Add(1)
}

// serve reads framed messages from conn until it fails, the peer closes, or ctx is done.
// It returns why the stream ended (nil for a clean close or cancellation).
func (p *pipe) serve(ctx context.Context, conn net.Conn, where string, pc *peerCounters, out chan<- source.Event) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	dr := &deadlineReader{conn: conn, idle: p.idle, read: p.read, c: p.c, pc: pc}
	fr := newFramer(dr, p.max)
	dr.f = fr
	t := time.NewTimer(time.Hour)
	t.Stop()
	var counted bool
	for {
		m, err := fr.next()
		if !counted && fr.mode != framingUnknown {
			p.framing[fr.mode].Add(1)
			counted = true
		}
		if err != nil {
			switch {
			case ctx.Err() != nil, errors.Is(err, net.ErrClosed):
				return nil
			case errors.Is(err, errFrame):
				p.c.Records.Add(1)
				pc.records.Add(1)
				pc.decodeErrors.Add(1)
				p.c.DecodeError(source.FormatUnknown, where+": "+err.Error())
				return err
			case errors.Is(err, os.ErrDeadlineExceeded):
				if fr.pending() || dr.partial {
					return fmt.Errorf("read timeout: message incomplete after %s", p.read)
				}
				return fmt.Errorf("idle timeout: nothing received for %s", p.idle)
			case errors.Is(err, io.EOF):
				return nil
			}
			return err
		}
		if m.oversize {
			p.skipped(pc)
			continue
		}
		p.record(ctx, m.data, source.Origin{Feed: p.name, Where: where, Offset: m.offset}, pc, out, t)
	}
}

// deadlineReader arms the connection's read deadline before each read: IdleTimeout while
// the framer holds nothing, ReadTimeout from the first byte of a message (so a sender
// trickling one byte a minute cannot hold a connection slot forever). It also counts
// wire bytes.
type deadlineReader struct {
	conn       net.Conn
	f          *framer
	idle, read time.Duration
	partial    bool
	since      time.Time
	armed      time.Time // deadline last set; re-armed only when it moves by > 1/8
	c          *source.Counters
	pc         *peerCounters
}

func (d *deadlineReader) Read(b []byte) (int, error) {
	now := time.Now()
	var dl time.Time
	if d.f != nil && d.f.pending() {
		if !d.partial {
			d.partial, d.since = true, now
		}
		dl = d.since.Add(d.read)
	} else {
		d.partial = false
		dl = now.Add(d.idle)
	}
	// Setting a deadline costs a timer update; skip it while the armed one is close enough.
	if diff := dl.Sub(d.armed); diff < 0 || diff > d.idle/8 || d.partial {
		if err := d.conn.SetReadDeadline(dl); err != nil {
			return 0, err
		}
		d.armed = dl
	}
	n, err := d.conn.Read(b)
	if n > 0 {
		d.c.Bytes.Add(uint64(n))
		d.pc.bytes.Add(uint64(n))
	}
	return n, err
}

// parseURL splits "scheme://host:port" and checks the scheme against allowed.
func parseURL(raw string, allowed ...string) (scheme, hostport string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("syslog url %q: %w", raw, err)
	}
	ok := false
	for _, a := range allowed {
		ok = ok || u.Scheme == a
	}
	if !ok {
		return "", "", fmt.Errorf("syslog url %q: scheme must be one of %s", raw, strings.Join(allowed, ", "))
	}
	if u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", "", fmt.Errorf("syslog url %q: want %s://HOST:PORT and nothing else", raw, u.Scheme)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", "", fmt.Errorf("syslog url %q: %w", raw, err)
	}
	return u.Scheme, u.Host, nil
}
