package decode

import "bytes"

// DefaultMaxRecord is the record size limit feeds use unless configured otherwise.
const DefaultMaxRecord = 1 << 20

// Record is one framed record.
type Record struct {
	Data     []byte // valid until the next call on the Framer
	Line     int64  // 1-based line of the record's first byte
	Offset   int64  // byte offset of the record's first byte
	End      int64  // byte offset just past the record: a checkpoint after it resumes exactly
	Oversize bool   // longer than maxRecord: Data is nil, the record was skipped (count it)
}

type frameState uint8

const (
	stIdle   frameState = iota
	stLine              // a plain line (syslog, Snare, garbage): up to '\n'
	stJSON              // a JSON object or array: up to the matching close
	stScalar            // a non-container element of a JSON array: up to ',' or ']'
	stXML               // <Event ...> ... </Event>
	stSkip              // markup between events: <?xml?>, <!-- -->, <Events>, </Events>
)

// Framer cuts a byte stream into records: NDJSON lines, JSON arrays (one record per
// element, also inside an {"events": [...]} test-fixture wrapper), pretty-printed JSON
// objects back to back, multi-line <Event>...</Event> documents (and <Events> wrappers),
// and plain lines (syslog, Snare). It is push-based so a tailer can feed it partial data:
// a record is returned only when complete. Every byte scanned is scanned once. A Framer
// is not safe for concurrent use.
type Framer struct {
	max  int
	buf  []byte
	base int64 // stream offset of buf[0]
	pos  int   // scan position in buf
	line int64 // line number at pos

	st        frameState
	start     int   // record start in buf
	startLine int64 // line of start
	startOff  int64 // stream offset of start (kept across discards when oversize)
	oversize  bool

	depth   int    // stJSON nesting
	arrays  uint64 // stJSON: bit d-1 set when the container at depth d is an array
	inStr   bool   // stJSON / stScalar inside a string
	esc     bool   // after a backslash inside a string
	inTag   bool   // stXML: still inside the <Event ...> start tag
	skipEnd string

	inArray      bool // between elements of a top-level JSON array
	wrapperClose bool // a '}' closing {"events": [...]} is due after the array
	closed       bool
}

// NewFramer returns a Framer that skips records longer than maxRecord bytes
// (DefaultMaxRecord when maxRecord <= 0).
func NewFramer(maxRecord int) *Framer {
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	return &Framer{max: maxRecord, line: 1}
}

// Write appends bytes read from the stream.
func (f *Framer) Write(p []byte) {
	f.compact()
	f.buf = append(f.buf, p...)
	f.closed = false
}

// Reset forgets buffered bytes and restarts at line 1, offset 0 (after truncation).
func (f *Framer) Reset() {
	m := f.max
	buf := f.buf[:0]
	*f = Framer{max: m, line: 1, buf: buf}
}

// compact drops the bytes before the current record (or scan position when idle).
func (f *Framer) compact() {
	keep := f.pos
	if f.st != stIdle && f.st != stSkip {
		keep = f.start
	}
	if keep == 0 {
		return
	}
	n := copy(f.buf, f.buf[keep:])
	f.buf = f.buf[:n]
	f.base += int64(keep)
	f.pos -= keep
	f.start -= keep
	if f.start < 0 {
		f.start = 0
	}
}

// Next returns the next complete record; ok=false means more bytes are needed.
func (f *Framer) Next() (Record, bool) {
	return f.next(false)
}

// Close returns, at the end of a one-shot read, the trailing partial record if any
// (a line without its newline, or an unterminated object or event, which will then fail
// to decode and be counted). Call Next until it returns false first.
func (f *Framer) Close() (Record, bool) {
	if f.closed {
		return Record{}, false
	}
	rec, ok := f.next(true)
	if !ok {
		f.closed = true
	}
	return rec, ok
}

func (f *Framer) begin(st frameState) {
	f.st = st
	f.start = f.pos
	f.startLine = f.line
	f.startOff = f.base + int64(f.pos)
	f.oversize = false
	f.depth, f.inStr, f.esc, f.inTag = 0, false, false, true
}

// emit finishes the current record at buf[start:dataEnd], with End at buf offset end.
func (f *Framer) emit(dataEnd, end int) Record {
	r := Record{Line: f.startLine, Offset: f.startOff, End: f.base + int64(end), Oversize: f.oversize}
	if !f.oversize {
		r.Data = f.buf[f.start:dataEnd]
	}
	f.st = stIdle
	f.oversize = false
	return r
}

// checkSize switches the record to oversize (dropping its buffered bytes) once it has
// grown past the limit; scanning continues to find its end.
func (f *Framer) checkSize() {
	if f.pos-f.start <= f.max || f.oversize {
		if f.oversize && f.pos-f.start > 64 {
			f.dropOversize()
		}
		return
	}
	f.oversize = true
	f.dropOversize()
}

func (f *Framer) dropOversize() {
	// Keep the last bytes: a multi-byte terminator may straddle the cut.
	keep := f.pos - 16
	if keep <= f.start {
		return
	}
	n := copy(f.buf, f.buf[keep:])
	f.buf = f.buf[:n]
	f.base += int64(keep)
	f.pos -= keep
	f.start = 0
}

func (f *Framer) next(eof bool) (Record, bool) {
	for {
		switch f.st {
		case stIdle:
			if !f.idle(eof) {
				return Record{}, false
			}
		case stLine:
			k := bytes.IndexByte(f.buf[f.pos:], '\n')
			if k < 0 {
				f.pos = len(f.buf)
				f.checkSize()
				if eof && f.pos > f.start {
					return f.emit(trimCR(f.buf, f.start, f.pos), f.pos), true
				}
				return Record{}, false
			}
			nl := f.pos + k
			f.pos = nl + 1
			f.checkSize()
			nl = f.pos - 1
			f.line++
			return f.emit(trimCR(f.buf, f.start, nl), f.pos), true
		case stJSON, stScalar:
			if r, ok := f.scanJSON(eof); ok {
				return r, true
			}
			if f.st != stIdle {
				return Record{}, false
			}
		case stXML:
			if r, ok := f.scanXML(eof); ok {
				return r, true
			}
			return Record{}, false
		case stSkip:
			k := bytes.Index(f.buf[f.pos:], []byte(f.skipEnd))
			if (k >= 0 && f.pos+k+len(f.skipEnd)-f.start > f.max) || (k < 0 && len(f.buf)-f.start > f.max) {
				// Markup longer than a record may be is not a prolog or comment worth
				// waiting for: frame it as lines (they fail to decode and are counted).
				f.st = stLine
				continue
			}
			if k < 0 {
				if eof {
					// Unterminated markup at the end: hand the rest over as one record so
					// it is counted as an error, not lost.
					f.countLines(f.pos, len(f.buf))
					f.pos = len(f.buf)
					f.checkSize()
					return f.emit(trimSpaceEnd(f.buf, f.start, f.pos), f.pos), true
				}
				return Record{}, false
			}
			for _, c := range f.buf[f.pos : f.pos+k+len(f.skipEnd)] {
				if c == '\n' {
					f.line++
				}
			}
			f.pos += k + len(f.skipEnd)
			f.st = stIdle
		}
	}
}

func trimCR(b []byte, start, end int) int {
	if end > start && b[end-1] == '\r' {
		return end - 1
	}
	return end
}

// idle skips separators and decides what the next record is. It returns false when
// more bytes are needed to decide.
func (f *Framer) idle(eof bool) bool {
	b := f.buf
	for f.pos < len(b) {
		c := b[f.pos]
		switch c {
		case '\n':
			f.line++
			f.pos++
			continue
		case ' ', '\t', '\r':
			f.pos++
			continue
		case 0xEF: // UTF-8 BOM
			if f.pos+3 <= len(b) && b[f.pos+1] == 0xBB && b[f.pos+2] == 0xBF {
				f.pos += 3
				continue
			}
			if f.pos+3 > len(b) && !eof {
				return false
			}
		}
		if f.wrapperClose && !f.inArray {
			f.wrapperClose = false
			if c == '}' {
				f.pos++
				continue
			}
		}
		if f.inArray {
			switch c {
			case ',':
				f.pos++
				continue
			case ']':
				f.pos++
				f.inArray = false
				continue
			case '{', '[':
				f.begin(stJSON)
				return true
			case '"':
				f.begin(stScalar)
				return true
			default:
				if c != '<' {
					f.begin(stScalar)
					return true
				}
			}
		}
		switch c {
		case '[':
			f.pos++
			f.inArray = true
			continue
		case ',', ']', '}':
			// Array punctuation outside an array: a reader resumed from a checkpoint
			// inside a JSON array (or its wrapper). None of them is a record.
			f.pos++
			continue
		case '{':
			if n, ok, need := wrapperPrefix(b[f.pos:]); need && !eof {
				return false
			} else if ok {
				f.countLines(f.pos, f.pos+n)
				f.pos += n
				f.inArray, f.wrapperClose = true, true
				continue
			}
			f.begin(stJSON)
			return true
		case '<':
			st, end, need := xmlMarkup(b[f.pos:])
			if need && !eof {
				return false
			}
			if st == stSkip {
				f.begin(stSkip)
				f.skipEnd = end
				return true
			}
			f.begin(st)
			return true
		}
		f.begin(stLine)
		return true
	}
	return false
}

func (f *Framer) countLines(from, to int) {
	f.line += int64(bytes.Count(f.buf[from:to], []byte{'\n'}))
}

// wrapperPrefix matches `{ "events": [` or `{ "expected": [` (Elastic pipeline test
// files) and returns its length. need reports that more bytes could change the answer.
func wrapperPrefix(b []byte) (n int, ok, need bool) {
	b = b[:min(len(b), 128)] // bounded look-ahead: a wrapper's key comes right away
	i := skipSpace(b, 1)
	for _, key := range []string{`"events"`, `"expected"`} {
		rest := b[i:]
		if len(rest) < len(key) {
			if bytes.HasPrefix([]byte(key), rest) {
				return 0, false, len(b) < 128
			}
			continue
		}
		if !bytes.HasPrefix(rest, []byte(key)) {
			continue
		}
		j := skipSpace(b, i+len(key))
		if j >= len(b) {
			return 0, false, len(b) < 128
		}
		if b[j] != ':' {
			return 0, false, false
		}
		j = skipSpace(b, j+1)
		if j >= len(b) {
			return 0, false, len(b) < 128
		}
		if b[j] != '[' {
			return 0, false, false
		}
		return j + 1, true, false
	}
	if i >= len(b) {
		return 0, false, len(b) < 128
	}
	return 0, false, false
}

// xmlMarkup decides what a '<' at the start of b begins.
func xmlMarkup(b []byte) (st frameState, end string, need bool) {
	switch {
	case hasPrefix(b, "<?"):
		return stSkip, "?>", false
	case hasPrefix(b, "<!--"):
		return stSkip, "-->", false
	case len(b) < 4 && bytes.HasPrefix([]byte("<!--"), b):
		return stLine, "", true
	}
	for _, tag := range []string{"<Events", "</Events", "<Event"} {
		if len(b) <= len(tag) {
			if bytes.HasPrefix([]byte(tag), b) || bytes.HasPrefix(b, []byte(tag)) {
				return stLine, "", true
			}
			continue
		}
		if !bytes.HasPrefix(b, []byte(tag)) {
			continue
		}
		c := b[len(tag)]
		if !(c == '>' || c == '/' || isSpace(c)) {
			continue
		}
		if tag == "<Event" {
			return stXML, "", false
		}
		return stSkip, ">", false
	}
	return stLine, "", false
}

// scanJSON advances through a JSON object/array (or array scalar) record.
func (f *Framer) scanJSON(eof bool) (Record, bool) {
	b := f.buf
	i := f.pos
	for ; i < len(b); i++ {
		c := b[i]
		if f.inStr {
			switch {
			case c == '\n':
				// A raw newline cannot be inside a JSON string: the record is broken (a
				// truncated line). End it here so the next line still frames.
				f.pos = i + 1
				f.checkSize()
				f.line++
				f.inArray = false
				f.esc = false
				return f.emit(trimCR(f.buf, f.start, f.pos-1), f.pos), true
			case f.esc:
				f.esc = false
			case c == '\\':
				f.esc = true
			case c == '"':
				f.inStr = false
			}
			continue
		}
		switch c {
		case '"':
			f.inStr = true
		case '{', '[':
			if f.st == stJSON {
				f.depth++
				if f.depth <= 64 {
					bit := uint64(1) << (f.depth - 1)
					if c == '[' {
						f.arrays |= bit
					} else {
						f.arrays &^= bit
					}
				}
			}
		case '}', ']':
			if f.st == stScalar {
				if c == ']' {
					f.pos = i
					f.checkSize()
					return f.emit(trimSpaceEnd(f.buf, f.start, f.pos), f.pos), true
				}
				continue
			}
			f.depth--
			if f.depth == 0 {
				f.pos = i + 1
				f.checkSize()
				return f.emit(f.pos, f.pos), true
			}
		case ',':
			if f.st == stScalar {
				f.pos = i
				f.checkSize()
				return f.emit(trimSpaceEnd(f.buf, f.start, f.pos), f.pos), true
			}
		case '\n':
			if f.st == stJSON {
				if i+1 >= len(b) && !eof {
					// Decide on this newline once the next byte is known.
					f.pos = i
					f.checkSize()
					return Record{}, false
				}
				if i+1 < len(b) && b[i+1] == '{' && !f.innermostArray() {
					// No encoder starts a line with '{' inside an object: the object
					// was cut short (a truncated NDJSON line). End it here so the next
					// line still frames instead of being swallowed.
					f.pos = i + 1
					f.checkSize()
					f.line++
					f.inArray = false
					return f.emit(trimCR(f.buf, f.start, f.pos-1), f.pos), true
				}
			}
			f.line++
		}
	}
	f.pos = i
	f.checkSize()
	if eof && f.pos > f.start {
		f.inArray = false
		return f.emit(trimSpaceEnd(f.buf, f.start, f.pos), f.pos), true
	}
	return Record{}, false
}

// innermostArray reports whether the innermost open JSON container is an array (where a
// line may start with '{'). Past 64 levels it answers yes, which never cuts a record.
func (f *Framer) innermostArray() bool {
	if f.depth < 1 || f.depth > 64 {
		return true
	}
	return f.arrays&(uint64(1)<<(f.depth-1)) != 0
}

func trimSpaceEnd(b []byte, start, end int) int {
	for end > start && isSpace(b[end-1]) {
		end--
	}
	return end
}

// scanXML advances through an <Event> document: to the '>' of its start tag (done if it
// is "/>"), then to "</Event>" (allowing spaces before '>'; "</EventData>" is not it).
func (f *Framer) scanXML(eof bool) (Record, bool) {
	b := f.buf
	i := f.pos
	if f.inTag {
		k := bytes.IndexByte(b[i:], '>')
		if k < 0 {
			f.countLines(i, len(b))
			f.pos = len(b)
			f.checkSize()
			return f.xmlEOF(eof)
		}
		f.countLines(i, i+k+1)
		i += k + 1
		f.inTag = false
		if b[i-2] == '/' {
			f.pos = i
			f.checkSize()
			return f.emit(f.pos, f.pos), true
		}
	}
	for {
		k := bytes.Index(b[i:], []byte("</Event"))
		if k < 0 {
			// Keep the last bytes unscanned: the terminator may be split across writes.
			stop := max(i, len(b)-len("</Event")-1)
			f.countLines(i, stop)
			f.pos = stop
			f.checkSize()
			return f.xmlEOF(eof)
		}
		j := i + k + len("</Event")
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j >= len(b) {
			f.countLines(i, i+k)
			f.pos = i + k
			f.checkSize()
			return f.xmlEOF(eof)
		}
		if b[j] == '>' {
			f.countLines(i, j+1)
			f.pos = j + 1
			f.checkSize()
			return f.emit(f.pos, f.pos), true
		}
		f.countLines(i, i+k+1)
		i += k + 1
	}
}

func (f *Framer) xmlEOF(eof bool) (Record, bool) {
	if !eof {
		return Record{}, false
	}
	f.countLines(f.pos, len(f.buf))
	f.pos = len(f.buf)
	return f.emit(trimSpaceEnd(f.buf, f.start, f.pos), f.pos), true
}
