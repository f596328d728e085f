package decode

import (
	"time"

	"github.com/vigil-soc/vigil/source"
)

// span is a [off, end) range relative to the bytes a header was parsed from.
type span struct{ off, end int }

func (s span) ok() bool { return s.end > s.off }

// syslogHeader is what an RFC 3164 / RFC 5424 header says. Its host and time are used
// when the payload does not carry them.
type syslogHeader struct {
	pri, ts, host, app, procID, msgID, sd, tag span
	time                                       time.Time
}

// now is the clock used to give RFC 3164 timestamps (which have no year) a year.
var now = time.Now

// unwrapEnvelope strips a syslog header, returning the payload and what the header said.
func unwrapEnvelope(p []byte) ([]byte, source.Envelope, syslogHeader) {
	var h syslogHeader
	i := skipSpace(p, 0)
	start := i
	if i < len(p) && p[i] == '<' {
		j := i + 1
		for j < len(p) && j-i <= 4 && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if j == i+1 || j >= len(p) || p[j] != '>' {
			return p, source.EnvelopeNone, h
		}
		h.pri = span{i + 1, j}
		i = j + 1
		// RFC 5424: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]"
		if i+1 < len(p) && p[i] == '1' && p[i+1] == ' ' {
			if msg, ok := parse5424(p, i+2, &h); ok {
				return p[msg:], source.EnvelopeRFC5424, h
			}
		}
	}
	// RFC 3164 (with or without PRI): "Mmm dd hh:mm:ss HOST [TAG:] MSG", or rsyslog's
	// high-precision variant with an RFC 3339 timestamp.
	ts, t, ok := parse3164Time(p, i)
	if !ok {
		if h.pri.ok() {
			// "<01> @cee: {...}": a PRI and nothing else of a header.
			return p[skipSpace(p, i):], source.EnvelopeRFC3164, h
		}
		return p[start:], source.EnvelopeNone, h
	}
	h.ts, h.time = span{i, ts}, t
	i = ts
	if i >= len(p) || p[i] != ' ' {
		return p[start:], source.EnvelopeNone, syslogHeader{}
	}
	i++
	hs := i
	for i < len(p) && p[i] != ' ' && p[i] != '\t' {
		i++
	}
	h.host = span{hs, i}
	if i < len(p) {
		i++
	}
	// An optional TAG ("sysmon:", "nxlog[12]:") unless the payload starts right here.
	if i < len(p) && !payloadStart(p[i:]) {
		j := i
		for j < len(p) && j-i < 48 && p[j] != ' ' && p[j] != '\t' && p[j] != ':' {
			j++
		}
		if j < len(p) && p[j] == ':' && j+1 < len(p) && p[j+1] == ' ' {
			h.tag = span{i, j}
			i = j + 2
		}
	}
	return p[i:], source.EnvelopeRFC3164, h
}

func payloadStart(p []byte) bool {
	return len(p) > 0 && (p[0] == '{' || p[0] == '<' || hasPrefix(p, "@cee:") || hasPrefix(p, "MSWinEventLog"))
}

// parse5424 parses the header after "<PRI>1 " and returns where MSG starts.
func parse5424(p []byte, i int, h *syslogHeader) (int, bool) {
	field := func() (span, bool) {
		s := i
		for i < len(p) && p[i] != ' ' {
			i++
		}
		if i == s || i >= len(p) {
			return span{}, false
		}
		sp := span{s, i}
		i++
		if i-1-s == 1 && p[s] == '-' {
			sp = span{} // NILVALUE
		}
		return sp, true
	}
	var ok bool
	if h.ts, ok = field(); !ok {
		return 0, false
	}
	if h.ts.ok() {
		t, good := parseTime(string(p[h.ts.off:h.ts.end]))
		if !good {
			return 0, false
		}
		h.time = t
	}
	if h.host, ok = field(); !ok {
		return 0, false
	}
	if h.app, ok = field(); !ok {
		return 0, false
	}
	if h.procID, ok = field(); !ok {
		return 0, false
	}
	if h.msgID, ok = field(); !ok {
		// MSGID may end the record when there is no SD and no MSG.
		return 0, false
	}
	// STRUCTURED-DATA: "-" or one or more [id param="v" ...] (']' and '"' escaped with '\').
	if i < len(p) && p[i] == '-' {
		i++
	} else {
		s := i
		for i < len(p) && p[i] == '[' {
			inQ := false
			for i++; i < len(p); i++ {
				c := p[i]
				if c == '\\' {
					i++
					continue
				}
				if c == '"' {
					inQ = !inQ
				} else if c == ']' && !inQ {
					break
				}
			}
			if i >= len(p) {
				return 0, false
			}
			i++
		}
		if i == s {
			return 0, false
		}
		h.sd = span{s, i}
	}
	if i < len(p) && p[i] == ' ' {
		i++
	}
	// A UTF-8 BOM may start MSG.
	if hasPrefix(p[i:], "\xEF\xBB\xBF") {
		i += 3
	}
	return i, true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parse3164Time parses "Mmm dd hh:mm:ss" (dd space-padded) or an RFC 3339 timestamp at i.
func parse3164Time(p []byte, i int) (int, time.Time, bool) {
	if i+15 > len(p) {
		return 0, time.Time{}, false
	}
	if p[i] >= '0' && p[i] <= '9' {
		j := i
		for j < len(p) && p[j] != ' ' && j-i < 40 {
			j++
		}
		t, ok := parseTime(string(p[i:j]))
		return j, t, ok
	}
	mon := -1
	for k, m := range months {
		if string(p[i:i+3]) == m {
			mon = k + 1
			break
		}
	}
	if mon < 0 || p[i+3] != ' ' {
		return 0, time.Time{}, false
	}
	d1, d2 := p[i+4], p[i+5]
	if d1 == ' ' {
		d1 = '0'
	}
	dig := func(c byte) bool { return c >= '0' && c <= '9' }
	q := p[i+6 : i+15]
	if !dig(d1) || !dig(d2) || q[0] != ' ' || !dig(q[1]) || !dig(q[2]) || q[3] != ':' || !dig(q[4]) || !dig(q[5]) || q[6] != ':' || !dig(q[7]) || !dig(q[8]) {
		return 0, time.Time{}, false
	}
	day := int(d1-'0')*10 + int(d2-'0')
	hh := int(q[1]-'0')*10 + int(q[2]-'0')
	mm := int(q[4]-'0')*10 + int(q[5]-'0')
	ss := int(q[7]-'0')*10 + int(q[8]-'0')
	if day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, time.Time{}, false
	}
	// No year in RFC 3164: take the current one, or last year if that lands over a day
	// in the future (a December record read in January).
	n := now().UTC()
	t := time.Date(n.Year(), time.Month(mon), day, hh, mm, ss, 0, time.UTC)
	if t.After(n.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return i + 15, t, true
}

// addHeaderFields emits the header's parts as syslog.* fields (start is where the
// header's bytes begin in buf).
func (d *decoder) addHeaderFields(start int, h *syslogHeader) {
	add := func(name string, s span) {
		if s.ok() {
			d.addRef(name, start+s.off, start+s.end)
		}
	}
	add("syslog.priority", h.pri)
	add("syslog.timestamp", h.ts)
	add("syslog.hostname", h.host)
	add("syslog.appname", h.app)
	add("syslog.procid", h.procID)
	add("syslog.msgid", h.msgID)
	add("syslog.structured_data", h.sd)
	add("syslog.tag", h.tag)
	if h.host.ok() {
		d.hdrHost = span{start + h.host.off, start + h.host.end}
	}
}

// scanCEE decodes "@cee: {...}". A QRadar-style wrapper whose "payload" holds another
// record is decoded as that record, with the wrapper's keys kept as fields; otherwise
// the JSON itself is the event.
func (d *decoder) scanCEE() bool {
	p := d.rec
	i := skipSpace(p, 0)
	i = skipSpace(p, i+len("@cee:"))
	d.rec, d.base = p[i:], d.base+i
	keys, ok := d.topKeys(0)
	if !ok {
		d.format = source.FormatUnknown
		return false
	}
	if keys&keyPayload == 0 {
		return d.scanJSON()
	}
	// Walk the wrapper with plain dotted names, then decode its payload.
	d.format = formatJSON
	n := len(d.refs)
	if _, ok := d.walkValue(0, 0); !ok {
		d.format = source.FormatUnknown
		return false
	}
	for k := n; k < len(d.refs); k++ {
		if d.refs[k].name == "payload" {
			r := d.refs[k]
			ok := d.decodeRecord(int(r.vOff), int(r.vEnd))
			d.env = source.EnvelopeCEE
			return ok
		}
	}
	return d.scanJSON()
}
