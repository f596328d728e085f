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
//
// Decoding is the costly step, so a TCP or TLS stream is decoded in batches by one worker
// per CPU, and the events are handed over in the order they arrived on the connection.
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
	// MaxMessageLimit bounds MaxMessage: each connection's framer allocates a buffer of
	// MaxMessage plus a few bytes, and its batches may hold as much again.
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
	queue   time.Duration // how long a stream waits for room on out before dropping
	c       *source.Counters
	oversz  atomic.Uint64                  // oversize messages, also counted in c.Skipped
	jobs    chan *batch                    // to the decode workers (startWorkers)
	framing [framingLine + 1]atomic.Uint64 // connections per detected framing
}

// record counts, decodes and hands over one message inline (the UDP path).
func (p *pipe) record(data []byte, origin source.Origin, pc *peerCounters, out chan<- source.Event, t *time.Timer) {
	p.c.Records.Add(1)
	pc.records.Add(1)
	ev := source.Event{}
	if p.decodeOne(data, origin, pc, &ev) {
		p.deliver(ev, pc, out, t, p.queue)
	}
}

// decodeOne decodes into ev and counts the outcome; false means a decode error.
func (p *pipe) decodeOne(data []byte, origin source.Origin, pc *peerCounters, ev *source.Event) bool {
	if err := p.decode(data, origin, ev); err != nil {
		f, msg := source.FormatUnknown, origin.Where+": "+err.Error()
		var de *decode.Error
		if errors.As(err, &de) {
			f, msg = de.Format, err.Error() // already "where: decode format: reason"
		}
		p.c.DecodeError(f, msg)
		pc.decodeErrors.Add(1)
		return false
	}
	p.c.Event(ev.Time)
	return true
}

// deliver hands ev over on out, waiting at most wait for room (with a nil timer it never
// waits: UDP). A failed hand-off is counted as Dropped.
func (p *pipe) deliver(ev source.Event, pc *peerCounters, out chan<- source.Event, t *time.Timer, wait time.Duration) {
	select {
	case out <- ev:
		return
	default:
	}
	if t != nil && wait > 0 {
		t.Reset(wait)
		select {
		case out <- ev:
			t.Stop()
			return
		case <-t.C:
		}
	}
	p.c.Dropped.Add(1)
	pc.dropped.Add(1)
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
//
// A stream is a pipeline so that decoding, the costly part, uses every core while the
// connection's order is kept: this goroutine frames messages into batches, the pipe's
// workers decode batches in parallel, and an emitter goroutine hands the events over in
// batch order. At most inFlight batches per connection are between reader and emitter;
// when out is full the emitter waits, the reader stops reading, and TCP slows the sender.
func (p *pipe) serve(ctx context.Context, conn net.Conn, where string, pc *peerCounters, out chan<- source.Event) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	futures := make(chan *batch, inFlight)
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		p.emit(ctx, futures, out)
	}()
	bs := newBatches(where, pc)
	cur := bs.get()
	flush := func() {
		if len(cur.ends) == 0 {
			return
		}
		cur.done = make(chan struct{})
		p.jobs <- cur  // workers always finish a batch, so this cannot block forever
		futures <- cur // the emitter always drains (dropping once ctx is done)
		cur = bs.get()
	}
	defer func() {
		flush()
		close(futures)
		<-emitted
	}()

	// Flush before every read: a batch never waits for bytes that may not come.
	dr := &deadlineReader{conn: conn, idle: p.idle, read: p.read, c: p.c, pc: pc, before: flush}
	fr := newFramer(dr, p.max)
	dr.f = fr
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
		p.c.Records.Add(1)
		pc.records.Add(1)
		cur.add(m.data, m.offset)
		if cur.full() {
			flush()
		}
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
	partialAt  int64 // framer offset of the partial message
	since      time.Time
	armed      time.Time // deadline last set; re-armed only when it moves by > 1/8
	c          *source.Counters
	pc         *peerCounters
	before     func() // called before each read
}

func (d *deadlineReader) Read(b []byte) (int, error) {
	if d.before != nil {
		d.before()
	}
	now := time.Now()
	var dl time.Time
	if d.f != nil && d.f.pending() {
		// A new partial message (the framer moved on since the last one) restarts the clock.
		if at := d.f.consumed(); !d.partial || at != d.partialAt {
			d.partial, d.since, d.partialAt = true, now, at
		}
		dl = d.since.Add(d.read)
	} else {
		d.partial = false
		dl = now.Add(d.idle)
	}
	// Setting a deadline costs a timer update; skip it while the armed one is close enough
	// (never later than wanted by more than slack).
	slack := min(d.idle, d.read) / 8
	if diff := dl.Sub(d.armed); diff < 0 || diff > slack {
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
