package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// framing is how a stream delimits its messages. It is detected once per connection
// from the first byte (RFC 6587 section 3.4): a digit starts an octet count, anything
// else is a delimiter-terminated stream.
type framing uint8

const (
	framingUnknown framing = iota
	framingOctet           // "LEN SP MSG" (RFC 6587 3.4.1, RFC 5425 4.3)
	framingLine            // MSG terminated by LF, CRLF or NUL (RFC 6587 3.4.2)
)

func (f framing) String() string {
	switch f {
	case framingOctet:
		return "octet-counting"
	case framingLine:
		return "lf"
	default:
		return "unknown"
	}
}

// maxLenDigits bounds the octet count's digits: 9 digits already exceed any MaxMessage.
const maxLenDigits = 9

// errFrame is a stream that cannot be framed any further (bad octet count, truncated
// frame at EOF). The connection is closed: resynchronising on garbage would decode noise.
var errFrame = errors.New("bad frame")

// frame is one message cut out of a stream.
type frame struct {
	data     []byte // valid until the next call to next; nil when oversize
	offset   int64  // stream offset of the frame's first byte (its length prefix, if any)
	oversize bool   // longer than the maximum: skipped, data is nil
}

// framer cuts a byte stream into syslog messages. Its buffer is fixed at construction
// (max plus room for a length prefix), so an attacker cannot grow it: an oversize
// message is skipped in place, never buffered whole.
type framer struct {
	r      io.Reader
	max    int
	mode   framing
	buf    []byte
	start  int   // first unconsumed byte in buf
	end    int   // end of valid bytes in buf
	base   int64 // stream offset of buf[0]
	eof    error // sticky read error
	frames frameCounts
}

// frameCounts accounts for every byte the framer consumed: each is either in a
// delivered message, framing overhead (length prefixes, delimiters, stripped CR/LF),
// or discarded (oversize messages, an unframeable tail).
type frameCounts struct {
	messages, oversize           uint64
	msgBytes, overhead, discards int64
}

func newFramer(r io.Reader, max int) *framer {
	return &framer{r: r, max: max, buf: make([]byte, max+maxLenDigits+2)}
}

// consumed is the number of stream bytes the framer has accounted for.
func (f *framer) consumed() int64 { return f.base + int64(f.start) }

// pending reports whether a partial message is buffered (used for read deadlines).
func (f *framer) pending() bool { return f.end > f.start }

// fill reads more bytes, compacting the buffer first. It returns the read error, if any.
func (f *framer) fill() error {
	if f.eof != nil {
		return f.eof
	}
	if f.start > 0 {
		n := copy(f.buf, f.buf[f.start:f.end])
		f.base += int64(f.start)
		f.start, f.end = 0, n
	}
	if f.end == len(f.buf) {
		return nil // caller handles a full buffer
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.eof = err
		if n > 0 {
			return nil // deliver the bytes first
		}
	}
	return err
}

// next returns the next message. At a clean end of stream it returns io.EOF; a stream
// that breaks the framing returns an error wrapping errFrame (the bytes are counted as
// discarded); read errors are returned as they are.
func (f *framer) next() (frame, error) {
	for {
		if f.start < f.end {
			if f.mode == framingUnknown {
				if c := f.buf[f.start]; c >= '1' && c <= '9' {
					f.mode = framingOctet
				} else {
					f.mode = framingLine
				}
			}
			var (
				fr   frame
				ok   bool
				ferr error
			)
			before := f.start
			if f.mode == framingOctet {
				fr, ok, ferr = f.octet()
			} else {
				fr, ok = f.line()
			}
			if ferr != nil {
				f.discardRest()
				return frame{}, ferr
			}
			if ok {
				return fr, nil
			}
			if f.start != before {
				continue // an empty frame was consumed; more may be buffered
			}
		}
		if err := f.fill(); err != nil {
			return f.atEOF(err)
		}
	}
}

// atEOF flushes a final LF-mode line without its delimiter (logger and socat may end
// without one); a partial octet-counted frame is an error.
func (f *framer) atEOF(err error) (frame, error) {
	if f.start == f.end {
		return frame{}, err
	}
	if f.mode == framingLine && err == io.EOF {
		off := f.consumed()
		data := bytes.TrimRight(f.buf[f.start:f.end], "\r\n")
		f.frames.overhead += int64(f.end-f.start) - int64(len(data))
		f.start = f.end
		if len(data) == 0 {
			return frame{}, err
		}
		f.frames.messages++
		f.frames.msgBytes += int64(len(data))
		return frame{data: data, offset: off}, nil
	}
	n := f.end - f.start
	off := f.consumed()
	f.discardRest()
	if err == io.EOF {
		return frame{}, fmt.Errorf("%w: stream ended inside a message at offset %d (%d bytes lost)", errFrame, off, n)
	}
	return frame{}, err
}

func (f *framer) discardRest() {
	f.frames.discards += int64(f.end - f.start)
	f.start = f.end
}

// line cuts one delimiter-terminated message. Empty lines are framing overhead.
func (f *framer) line() (frame, bool) {
	for {
		b := f.buf[f.start:f.end]
		i := indexDelim(b)
		if i < 0 {
			if len(b) > f.max {
				// Over the limit with no delimiter in sight: skip up to the next one.
				return f.skipLine(), true
			}
			return frame{}, false
		}
		off := f.consumed()
		f.start += i + 1
		data := b[:i]
		if len(data) > f.max {
			f.frames.oversize++
			f.frames.discards += int64(len(data))
			f.frames.overhead++
			return frame{offset: off, oversize: true}, true
		}
		trimmed := bytes.TrimRight(data, "\r")
		f.frames.overhead += int64(1 + len(data) - len(trimmed))
		if len(trimmed) == 0 {
			continue
		}
		f.frames.messages++
		f.frames.msgBytes += int64(len(trimmed))
		return frame{data: trimmed, offset: off}, true
	}
}

// skipLine discards an oversize line through its delimiter, reading as needed. A read
// error leaves the rest to next (which reports it); the message is counted once.
func (f *framer) skipLine() frame {
	off := f.consumed()
	f.frames.oversize++
	for {
		b := f.buf[f.start:f.end]
		if i := indexDelim(b); i >= 0 {
			f.frames.discards += int64(i)
			f.frames.overhead++
			f.start += i + 1
			return frame{offset: off, oversize: true}
		}
		f.frames.discards += int64(len(b))
		f.start = f.end
		if err := f.fill(); err != nil {
			return frame{offset: off, oversize: true}
		}
	}
}

func indexDelim(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	// NUL is rare (some old senders); only look for it before the first LF.
	lim := b
	if i >= 0 {
		lim = b[:i]
	}
	if j := bytes.IndexByte(lim, 0); j >= 0 {
		return j
	}
	return i
}

// octet cuts one "LEN SP MSG" frame. ok=false means more bytes are needed.
func (f *framer) octet() (frame, bool, error) {
	// Tolerate delimiters between frames: some senders end each counted frame with LF too.
	for f.start < f.end && (f.buf[f.start] == '\n' || f.buf[f.start] == '\r' || f.buf[f.start] == 0) {
		f.start++
		f.frames.overhead++
	}
	b := f.buf[f.start:f.end]
	if len(b) == 0 {
		return frame{}, false, nil
	}
	n, digits := 0, 0
	for digits < len(b) && b[digits] >= '0' && b[digits] <= '9' {
		if digits == maxLenDigits {
			return frame{}, false, fmt.Errorf("%w: octet count longer than %d digits at offset %d", errFrame, maxLenDigits, f.consumed())
		}
		n = n*10 + int(b[digits]-'0')
		digits++
	}
	if digits == len(b) {
		return frame{}, false, nil
	}
	if digits == 0 || b[0] == '0' || b[digits] != ' ' {
		return frame{}, false, fmt.Errorf("%w: expected octet count and space at offset %d, got %q", errFrame, f.consumed(), clip(b, 16))
	}
	off := f.consumed()
	hdr := digits + 1
	if n > f.max {
		f.frames.overhead += int64(hdr)
		f.start += hdr
		f.frames.oversize++
		f.skipN(int64(n))
		return frame{offset: off, oversize: true}, true, nil
	}
	if len(b) < hdr+n {
		return frame{}, false, nil
	}
	data := b[hdr : hdr+n]
	f.start += hdr + n
	// Some senders put a trailing LF inside the counted bytes; it is not part of the message.
	trimmed := bytes.TrimRight(data, "\r\n")
	f.frames.overhead += int64(hdr + len(data) - len(trimmed))
	if len(trimmed) == 0 {
		return frame{}, false, nil // empty frame: pure overhead, look for the next
	}
	f.frames.messages++
	f.frames.msgBytes += int64(len(trimmed))
	return frame{data: trimmed, offset: off}, true, nil
}

// skipN discards n bytes of an oversize frame, reading as needed. If the stream ends
// first, next reports the read error.
func (f *framer) skipN(n int64) {
	for n > 0 {
		avail := int64(f.end - f.start)
		if avail >= n {
			f.start += int(n)
			f.frames.discards += n
			return
		}
		f.frames.discards += avail
		n -= avail
		f.start = f.end
		if f.fill() != nil {
			return
		}
	}
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
