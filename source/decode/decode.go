// Package decode turns one raw record (Windows event XML, EVTX-JSON, Winlogbeat/ECS,
// NXLog, Wazuh eventchannel and legacy WinEvtLog lines, Snare, flat JSON, XML-to-JSON,
// WMI, optionally inside an RFC 3164/5424 syslog header or an "@cee:" wrapper) into a
// source.Event, and cuts byte streams into records (Framer).
//
// The scanners are hand-written: attacker-controlled event data goes through them at
// feed speed, so they avoid encoding/json and encoding/xml, bound every size, and build
// all of an event's strings from one allocation.
//
// Field names follow docs/architecture.md. Beyond the record's own fields, Decode adds:
//   - TokenElevationTypeName: the meaning of a 4688 TokenElevationType ("%%1936" ->
//     "Type 1: full token (TokenElevationTypeDefault)"), next to the original.
//   - syslog.priority, syslog.timestamp, syslog.hostname, syslog.appname, syslog.procid,
//     syslog.msgid, syslog.structured_data, syslog.tag: the envelope's header parts.
//   - Snare columns as Criticality, Channel, SnareCounter, SnareTime, EventID, SourceName,
//     UserName, SIDType, EventType, Computer, Category, DataString, Message,
//     SnareEventCounter; for 4688/4689 and Sysmon 1/5 (Snare and WinEvtLog lines) the
//     Windows names cut out of the rendered message (NewProcessName, ParentProcessName,
//     CommandLine, SubjectUserName, Image, ParentImage, ...).
//   - WMI 4688/4689: the Windows names of the positional InsertionStrings.
//   - NXLog: ProcessId from the rendered message when NXLog's case-folding lost it.
//
// Normalization: Process/Parent GUIDs are written "{lower-case}" whatever the shape;
// parent values "-", "?" and "" leave Parent fields empty (Fields keep the original);
// 4688 PIDs are hex, Sysmon's decimal; times without a zone are taken as UTC.
package decode

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/vigil-soc/vigil/source"
)

// Limits on what one record may contain. Event data is attacker-controlled, so every
// dimension is bounded; a record over a limit is an *Error, never a panic or a truncation.
const (
	MaxDepth       = 64       // JSON/XML nesting
	MaxFields      = 4096     // fields per event
	MaxStringLen   = 1 << 20  // one value or name, after unescaping
	MaxRecordBytes = 16 << 20 // records Decode accepts at all (the Framer's limit is usually lower)
)

// Error is what Decode returns for a bad record: it names the format, where, and why.
// Err is the underlying cause when there is one (scanner failures have none: Reason says
// what was found at which byte).
type Error struct {
	Format source.Format
	Origin source.Origin
	Reason string
	Err    error
}

// Error renders "FILE:LINE: decode FORMAT: reason".
func (e *Error) Error() string {
	where := e.Origin.String()
	msg := "decode " + e.Format.String() + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if where == "" {
		return msg
	}
	return where + ": " + msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Decode sniffs one record's format (and syslog/CEE envelope) and fills ev. It reuses
// ev.Fields' capacity; ev.Raw is set to a copy of rec. origin is copied into ev.Origin.
// On error it returns a *Error and leaves ev a zero Event except Format, Envelope, Origin
// and Raw, so a caller can still count and show what arrived.
func Decode(rec []byte, origin source.Origin, ev *source.Event) error {
	d := decoderPool.Get().(*decoder)
	err := d.decode(rec, origin, ev)
	d.release()
	decoderPool.Put(d)
	return err
}

// Sniff reports the format Decode would use, without decoding.
func Sniff(rec []byte) (source.Format, source.Envelope) {
	// Decoding is the only way to tell some shapes apart (a CEE wrapper's payload, the
	// JSON formats' keys), and it keeps Sniff and Decode from ever disagreeing.
	ev := eventPool.Get().(*source.Event)
	_ = Decode(rec, source.Origin{}, ev)
	f, env := ev.Format, ev.Envelope
	*ev = source.Event{Fields: ev.Fields[:0]}
	eventPool.Put(ev)
	return f, env
}

var eventPool = sync.Pool{New: func() any { return new(source.Event) }}

var decoderPool = sync.Pool{New: func() any { return newDecoder() }}

// ref is a field under construction: its name (interned, or a span of buf) and its value
// (a span of buf). Spans become substrings of one string once the record is scanned.
type ref struct {
	name       string
	nOff, nEnd int32
	vOff, vEnd int32
}

// decoder holds the per-record scratch state; it is pooled, so every slice is reused.
type decoder struct {
	rec     []byte // the payload being scanned (a subslice of buf's first len(rec) bytes)
	base    int    // offset of rec inside buf
	buf     []byte // copy of the record, then unescaped text and built names
	refs    []ref
	path    [][]byte
	names   map[string]string // per-decoder intern cache (bounded)
	format  source.Format
	env     source.Envelope
	hdrHost span      // absolute span of the syslog header's host
	hdrTime time.Time // the syslog header's time
	altTime time.Time // a format's own non-ISO time (Snare, WinEvtLog)
	origin  source.Origin
	err     *Error
	sv      slots
	bare    bool // naming an embedded EventData object: bare keys
	nest    int  // envelope nesting (CEE payloads)
	keys    int  // classes of the top-level JSON keys seen (key* constants)
	xmljson bool // the JSON walk met XML-to-JSON's shapes (Data: [{Name, text}], Event.xmlns)
}

func newDecoder() *decoder {
	d := &decoder{names: make(map[string]string, len(knownNames)+256)}
	d.seedNames()
	return d
}

// seedNames starts the intern cache with the well-known names, so a name costs one map
// lookup whether it is well known or was seen before.
func (d *decoder) seedNames() {
	for k, v := range knownNames {
		d.names[k] = v
	}
}

func (d *decoder) release() {
	d.rec = nil
	if cap(d.buf) > 4<<20 {
		d.buf = nil // don't pin a huge buffer in the pool
	}
	d.buf = d.buf[:0]
	d.refs = d.refs[:0]
	clear(d.path[:cap(d.path)]) // don't let a pooled decoder pin old records
	d.path = d.path[:0]
	d.err = nil
	d.bare = false
	d.nest = 0
	if len(d.names) > len(knownNames)+maxInternCache {
		clear(d.names)
		d.seedNames()
	}
}

const maxInternCache = 2048

// maxNest bounds records inside records ("@cee:" payloads holding another wrapper).
const maxNest = 4

// fail records the first error; scanners return false after calling it.
func (d *decoder) fail(format string, args ...any) bool {
	if d.err == nil {
		d.err = &Error{Format: publicFormat(d.format), Origin: d.origin, Reason: fmt.Sprintf(format, args...)}
	}
	return false
}

func (d *decoder) decode(rec []byte, origin source.Origin, ev *source.Event) error {
	fields := ev.Fields[:0]
	*ev = source.Event{Origin: origin, Fields: fields}
	d.origin = origin
	d.format = source.FormatUnknown
	d.env = source.EnvelopeNone
	d.hdrHost, d.hdrTime, d.altTime = span{}, time.Time{}, time.Time{}
	d.sv = slots{}
	if len(rec) > MaxRecordBytes {
		return &Error{Format: source.FormatUnknown, Origin: origin, Reason: fmt.Sprintf("record of %d bytes exceeds the %d byte limit", len(rec), MaxRecordBytes)}
	}
	d.buf = append(d.buf[:0], rec...)
	ok := d.decodeRecord(0, len(rec))
	ev.Format, ev.Envelope = publicFormat(d.format), d.env
	if !ok {
		if d.err == nil {
			d.err = &Error{Format: d.format, Origin: origin, Reason: "unrecognized record"}
		}
		e := d.err
		d.err = nil
		ev.Fields = fields
		ev.Raw = append([]byte(nil), rec...)
		return e
	}
	d.finish(ev, len(rec))
	return nil
}

// decodeRecord decodes buf[start:end] (a record or an envelope's payload).
func (d *decoder) decodeRecord(start, end int) bool {
	// A CEE payload is itself a record; bound how deep wrappers may nest.
	if d.nest++; d.nest > maxNest {
		return d.fail("envelopes nested deeper than %d", maxNest)
	}
	defer func() { d.nest-- }()
	p := d.buf[start:end]
	payload, env, hdr := unwrapEnvelope(p)
	if env != source.EnvelopeNone {
		d.env = env
		if !hdr.time.IsZero() {
			d.hdrTime = hdr.time
		}
		d.addHeaderFields(start, &hdr)
		start += len(p) - len(payload)
		p = payload
		if len(p) > 1 && p[0] == '<' && p[1] >= '0' && p[1] <= '9' {
			// A relay wrapped a syslog line in its own header (rsyslog imfile on a syslog
			// file, then omfwd): unwrap the inner one too. Its host and time, the original
			// sender's, win; both headers' fields are kept (the relay's first).
			return d.decodeRecord(start, end)
		}
	}
	d.rec, d.base = p, start
	switch f := sniffPayload(p); f {
	case source.FormatXML:
		d.format = f
		return d.scanXML()
	case formatJSON:
		return d.scanJSON()
	case formatCEE:
		d.env = source.EnvelopeCEE
		return d.scanCEE()
	case source.FormatSnare:
		d.format = f
		return d.scanSnare()
	case formatWazuhLegacy:
		d.format = source.FormatWazuh
		return d.scanWinEvtLog()
	default:
		d.format = source.FormatUnknown
		if len(p) == 0 {
			return d.fail("empty record")
		}
		return d.fail("format not recognized (starts %q)", clip(p, 24))
	}
}

// Pseudo-formats used only while sniffing.
const (
	formatJSON        source.Format = 200 + iota // some JSON object; the keys decide which
	formatCEE                                    // "@cee:" + JSON
	formatWazuhLegacy                            // "WinEvtLog:" lines
)

// publicFormat hides the sniffing pseudo-formats from callers.
func publicFormat(f source.Format) source.Format {
	if int(f) >= source.FormatCount {
		return source.FormatUnknown
	}
	return f
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// sniffPayload looks at the first bytes of an unwrapped record.
func sniffPayload(p []byte) source.Format {
	i := skipSpace(p, 0)
	if i+3 <= len(p) && p[i] == 0xEF && p[i+1] == 0xBB && p[i+2] == 0xBF {
		i = skipSpace(p, i+3)
	}
	if i >= len(p) {
		return source.FormatUnknown
	}
	switch p[i] {
	case '{':
		return formatJSON
	case '<':
		return source.FormatXML
	case '@':
		if hasPrefix(p[i:], "@cee:") {
			return formatCEE
		}
	}
	if snareStart(p[i:]) >= 0 {
		return source.FormatSnare
	}
	if winEvtLogStart(p[i:]) >= 0 {
		return formatWazuhLegacy
	}
	return source.FormatUnknown
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
		i++
	}
	return i
}

func hasPrefix(p []byte, s string) bool {
	return len(p) >= len(s) && string(p[:len(s)]) == s
}

// addRef appends a field whose value is buf[vOff:vEnd] (absolute offsets).
func (d *decoder) addRef(name string, vOff, vEnd int) bool {
	if len(d.refs) >= MaxFields {
		return d.fail("more than %d fields", MaxFields)
	}
	d.refs = append(d.refs, ref{name: name, vOff: int32(vOff), vEnd: int32(vEnd)})
	return true
}

// intern returns a string for b, allocating only for names not seen before.
func (d *decoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < len(knownNames)+maxInternCache {
		d.names[s] = s
	}
	return s
}

// finish turns refs into ev.Fields (one string allocation for every value) and maps them.
func (d *decoder) finish(ev *source.Event, recLen int) {
	// One block holds the record (ev.Raw) and the unescaped values after it; every field
	// string points into it. Raw is capped at its length so an append never writes into
	// the strings, and source.Event documents that Raw is read-only.
	block := make([]byte, len(d.buf))
	copy(block, d.buf)
	ev.Raw = block[:recLen:recLen]
	all := unsafe.String(unsafe.SliceData(block), len(block))
	fields := ev.Fields[:0]
	if cap(fields) < len(d.refs) {
		// One right-sized allocation: a fresh event (each one sent on a channel is) would
		// otherwise grow its slice through every power of two.
		fields = make([]source.Field, 0, len(d.refs))
	}
	for _, r := range d.refs {
		name := r.name
		if name == "" {
			name = all[r.nOff:r.nEnd]
		}
		fields = append(fields, source.Field{Name: name, Value: all[r.vOff:r.vEnd]})
	}
	ev.Fields = fields
	hdrHost := ""
	if d.hdrHost.ok() {
		hdrHost = all[d.hdrHost.off:d.hdrHost.end]
	}
	mapEvent(d, ev, hdrHost)
}
