package decode

import (
	"bytes"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// Top-level key classes, used to tell the JSON formats apart.
const (
	keyEvent      = 1 << iota
	keyWin        // Wazuh eventchannel as the ruleset tests write it
	keyWazuhAlert // manager, decoder: a Wazuh alert/archive with data.win
	keyECS        // winlog, event_data, @metadata, ecs, log_name; event/host/log objects
	keyAgent      // agent: ECS unless Wazuh alert keys are there too
	keyProcess    // process (ECS when nothing else claims the record)
	keyWMI        // InsertionStrings, EventCode, Logfile
	keyNXLog      // SourceModuleType, EventReceivedTime, EventTime
	keyFlat       // EventID, Image, NewProcessName, SourceName, Channel, Hostname
	keyPayload    // "payload" (QRadar CEE)
)

// scanJSON walks a JSON object once: leaves are named by their path (the naming rules
// are path-based, so no format needs to be known up front) while the top-level keys are
// classified; the format is settled from those keys at the end.
func (d *decoder) scanJSON() bool {
	p := d.rec
	i := skipSpace(p, 0)
	if i+3 <= len(p) && p[i] == 0xEF && p[i+1] == 0xBB && p[i+2] == 0xBF {
		i = skipSpace(p, i+3)
	}
	d.format, d.keys, d.xmljson = formatJSON, 0, false
	if i >= len(p) || p[i] != '{' {
		return d.fail("expected '{' at byte %d", d.base+i)
	}
	end, ok := d.walkValue(i, 0)
	d.format = guessFormat(d.keys)
	if d.format == source.FormatEVTXJSON && d.xmljson {
		d.format = source.FormatXMLJSON
	}
	if !ok {
		// Blame the format the keys seen so far point to.
		if d.err != nil {
			d.err.Format = d.format
		}
		return false
	}
	if d.format == source.FormatUnknown {
		return d.fail("JSON object has no Windows event keys (EventID, Event, winlog, win, ...)")
	}
	if j := skipSpace(p, end); j < len(p) {
		return d.fail("unexpected %q after the JSON object at byte %d", clip(p[j:], 16), d.base+j)
	}
	return true
}

func guessFormat(keys int) source.Format {
	switch {
	case keys&keyEvent != 0:
		return source.FormatEVTXJSON // XML-to-JSON is told apart during the walk
	case keys&(keyWin|keyWazuhAlert) != 0:
		return source.FormatWazuh
	case keys&(keyECS|keyAgent) != 0:
		return source.FormatECS
	case keys&keyWMI != 0:
		return source.FormatWMI
	case keys&keyNXLog != 0:
		return source.FormatNXLog
	case keys&keyFlat != 0:
		return source.FormatFlatJSON
	case keys&keyProcess != 0:
		return source.FormatECS
	}
	return source.FormatUnknown
}

// topKeys classifies the keys of the top-level object at i without emitting anything;
// a CEE wrapper needs to know whether it carries a "payload" before it is walked.
func (d *decoder) topKeys(i int) (int, bool) {
	p := d.rec
	if i >= len(p) || p[i] != '{' {
		return 0, d.fail("expected '{' at byte %d", d.base+i)
	}
	keys := 0
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return 0, true
	}
	for {
		if i >= len(p) || p[i] != '"' {
			return keys, d.failAt("expected a key", i)
		}
		ks := i + 1
		ke, ok := d.skipString(i)
		if !ok {
			return keys, false
		}
		i = skipSpace(p, ke)
		if i >= len(p) || p[i] != ':' {
			return keys, d.failAt("expected ':' after key", i)
		}
		v := skipSpace(p, i+1)
		obj := v < len(p) && p[v] == '{'
		keys |= classifyKey(p[ks:ke-1], obj)
		i, ok = d.skipValue(v, 1)
		if !ok {
			return keys, false
		}
		var done bool
		if i, done, ok = d.nextElement(i, '}'); !ok || done {
			return keys, ok
		}
	}
}

// classifyKey says what a top-level key tells about the format; obj reports that its
// value is an object.
func classifyKey(k []byte, obj bool) int {
	switch string(k) {
	case "Event":
		return keyEvent
	case "win":
		return keyWin
	case "winlog", "event_data", "@metadata", "ecs", "log_name", "user_data":
		return keyECS
	case "event", "host", "log":
		// As objects these are ECS (flat shapes use "host": "name").
		if obj {
			return keyECS
		}
	case "agent":
		return keyAgent // ECS, unless Wazuh alert keys say otherwise
	case "manager", "decoder":
		return keyWazuhAlert
	case "process":
		return keyProcess
	case "InsertionStrings", "EventCode", "Logfile":
		return keyWMI
	case "SourceModuleType", "EventReceivedTime", "EventTime":
		return keyNXLog
	case "EventID", "EventId", "Image", "NewProcessName", "SourceName", "Channel", "Hostname", "ProcessGuid":
		return keyFlat
	case "payload":
		return keyPayload
	}
	return 0
}

func (d *decoder) failAt(what string, i int) bool {
	if i >= len(d.rec) {
		return d.fail("%s at byte %d (end of record)", what, d.base+i)
	}
	return d.fail("%s at byte %d, found %q", what, d.base+i, clip(d.rec[i:], 8))
}

// skipString returns the index just past the closing quote of the string at i. It only
// finds the end (the walk validates the content).
func (d *decoder) skipString(i int) (int, bool) {
	p := d.rec
	start := i
	i++
	for {
		k := bytes.IndexByte(p[i:], '"')
		if k < 0 {
			return len(p), d.fail("unterminated string at byte %d", d.base+start)
		}
		i += k
		// An odd run of backslashes before the quote escapes it.
		n := 0
		for j := i - 1; j > start && p[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			if i-start > MaxStringLen {
				return i, d.fail("string at byte %d longer than %d bytes", d.base+start, MaxStringLen)
			}
			return i + 1, true
		}
		i++
	}
}

// skipValue skips one JSON value at i, bounded by MaxDepth.
func (d *decoder) skipValue(i, depth int) (int, bool) {
	p := d.rec
	if depth > MaxDepth {
		return i, d.fail("nesting deeper than %d at byte %d", MaxDepth, d.base+i)
	}
	if i >= len(p) {
		return i, d.failAt("expected a value", i)
	}
	switch c := p[i]; c {
	case '"':
		return d.skipString(i)
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(p, i+1)
		if i < len(p) && p[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(p) || p[i] != '"' {
					return i, d.failAt("expected a key", i)
				}
				var ok bool
				if i, ok = d.skipString(i); !ok {
					return i, false
				}
				i = skipSpace(p, i)
				if i >= len(p) || p[i] != ':' {
					return i, d.failAt("expected ':' after key", i)
				}
				i = skipSpace(p, i+1)
			}
			var ok bool
			if i, ok = d.skipValue(i, depth+1); !ok {
				return i, false
			}
			var done bool
			if i, done, ok = d.nextElement(i, closer); !ok || done {
				return i, ok
			}
		}
	default:
		return d.scanLiteral(i)
	}
}

// scanLiteral scans a number, true, false or null.
func (d *decoder) scanLiteral(i int) (int, bool) {
	p := d.rec
	switch {
	case hasPrefix(p[i:], "true"):
		return i + 4, true
	case hasPrefix(p[i:], "false"):
		return i + 5, true
	case hasPrefix(p[i:], "null"):
		return i + 4, true
	}
	j := i
	if j < len(p) && p[j] == '-' {
		j++
	}
	digits := 0
	for j < len(p) {
		c := p[j]
		if c >= '0' && c <= '9' {
			digits++
		} else if c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			break
		}
		j++
	}
	if digits == 0 {
		return i, d.failAt("invalid value", i)
	}
	if j-i > 64 {
		return i, d.fail("number longer than 64 bytes at byte %d", d.base+i)
	}
	return j, true
}

// readString parses the string at i and returns its content as an absolute span of buf,
// unescaping into buf only when the string has escapes.
func (d *decoder) readString(i int) (next, vOff, vEnd int, ok bool) {
	p := d.rec
	start := i + 1
	j := start
	for j < len(p) {
		c := p[j]
		if !strSpecial[c] {
			j++
			continue
		}
		if c == '"' {
			if j-start > MaxStringLen {
				return j, 0, 0, d.fail("string at byte %d longer than %d bytes", d.base+i, MaxStringLen)
			}
			return j + 1, d.base + start, d.base + j, true
		}
		if c == '\\' {
			return d.unescape(i, j)
		}
		if c < 0x20 {
			return j, 0, 0, d.fail("control character 0x%02x in string at byte %d", c, d.base+j)
		}
		j++
	}
	return j, 0, 0, d.fail("unterminated string at byte %d", d.base+i)
}

// unescape copies the string starting at quote q (first escape at j) into buf, unescaped.
func (d *decoder) unescape(q, j int) (next, vOff, vEnd int, ok bool) {
	p := d.rec
	off := len(d.buf)
	d.buf = append(d.buf, p[q+1:j]...)
	for j < len(p) {
		c := p[j]
		switch {
		case c == '"':
			if len(d.buf)-off > MaxStringLen {
				return j, 0, 0, d.fail("string at byte %d longer than %d bytes", d.base+q, MaxStringLen)
			}
			return j + 1, off, len(d.buf), true
		case c < 0x20:
			return j, 0, 0, d.fail("control character 0x%02x in string at byte %d", c, d.base+j)
		case c != '\\':
			k := j + 1
			for k < len(p) && p[k] != '"' && p[k] != '\\' && p[k] >= 0x20 {
				k++
			}
			d.buf = append(d.buf, p[j:k]...)
			j = k
			continue
		}
		if j+1 >= len(p) {
			break
		}
		switch e := p[j+1]; e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'n':
			d.buf = append(d.buf, '\n')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'u':
			r, n := hex4(p[j+2:])
			if n < 0 {
				return j, 0, 0, d.fail("bad \\u escape at byte %d", d.base+j)
			}
			j += 6
			if r >= 0xD800 && r < 0xDC00 {
				if j+1 < len(p) && p[j] == '\\' && p[j+1] == 'u' {
					if r2, n2 := hex4(p[j+2:]); n2 >= 0 && r2 >= 0xDC00 && r2 < 0xE000 {
						r = (r-0xD800)<<10 | (r2 - 0xDC00) + 0x10000
						j += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			d.buf = utf8.AppendRune(d.buf, r)
			continue
		default:
			return j, 0, 0, d.fail("bad escape \\%c at byte %d", e, d.base+j)
		}
		j += 2
	}
	return j, 0, 0, d.fail("unterminated string at byte %d", d.base+q)
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, -1
		}
	}
	return r, 4
}

// walkValue walks the value at i with d.path naming it, emitting leaves as fields.
func (d *decoder) walkValue(i, depth int) (int, bool) {
	p := d.rec
	if depth > MaxDepth {
		return i, d.fail("nesting deeper than %d at byte %d", MaxDepth, d.base+i)
	}
	if i >= len(p) {
		return i, d.failAt("expected a value", i)
	}
	switch p[i] {
	case '"':
		next, vo, ve, ok := d.readString(i)
		if !ok {
			return next, false
		}
		return next, d.leaf(vo, ve, true)
	case '{':
		return d.walkObject(i, depth)
	case '[':
		return d.walkArray(i, depth, false)
	case 'n':
		if hasPrefix(p[i:], "null") {
			return i + 4, d.leaf(0, 0, false)
		}
	}
	j, ok := d.scanLiteral(i)
	if !ok {
		return j, false
	}
	return j, d.leaf(d.base+i, d.base+j, false)
}

// readKey reads `"key":` at i, returning where the value starts and the key's span in
// d.buf (unescaped).
func (d *decoder) readKey(i int) (next, ko, ke int, ok bool) {
	p := d.rec
	if i >= len(p) || p[i] != '"' {
		return i, 0, 0, d.failAt("expected a key", i)
	}
	next, ko, ke, ok = d.readString(i)
	if !ok {
		return next, 0, 0, false
	}
	i = skipSpace(p, next)
	if i >= len(p) || p[i] != ':' {
		return i, 0, 0, d.failAt("expected ':' after key", i)
	}
	return skipSpace(p, i+1), ko, ke, true
}

// nextElement reads what follows an element of an object (closer '}') or array (']'):
// the closer ends it (done, next just past it), a ',' leads to the next element (next at
// its first byte); anything else, or the end of the record, is an error.
func (d *decoder) nextElement(i int, closer byte) (next int, done, ok bool) {
	p := d.rec
	i = skipSpace(p, i)
	if i >= len(p) {
		what := "unterminated array"
		if closer == '}' {
			what = "unterminated object"
		}
		return i, false, d.failAt(what, i)
	}
	if p[i] == closer {
		return i + 1, true, true
	}
	if p[i] != ',' {
		return i, false, d.failAt("expected ',' or '"+string(closer)+"'", i)
	}
	return skipSpace(p, i+1), false, true
}

func (d *decoder) walkObject(i, depth int) (int, bool) {
	p := d.rec
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return i + 1, true
	}
	for {
		next, ko, ke, ok := d.readKey(i)
		if !ok {
			return next, false
		}
		i = next
		if depth == 0 && !d.bare {
			d.keys |= classifyKey(d.buf[ko:ke], i < len(p) && p[i] == '{')
		}
		d.path = append(d.path, d.buf[ko:ke])
		if d.special(i) {
			i, ok = d.walkSpecial(i, depth+1)
		} else {
			i, ok = d.walkValue(i, depth+1)
		}
		d.path = d.path[:len(d.path)-1]
		if !ok {
			return i, false
		}
		var done bool
		if i, done, ok = d.nextElement(i, '}'); !ok || done {
			return i, ok
		}
	}
}

// walkArray emits every element under the array's own name (a list field becomes
// repeated fields of one name, in order). With named, object elements are XML-to-JSON's
// {"Name": n, "text": v} pairs and become fields n=v.
func (d *decoder) walkArray(i, depth int, named bool) (int, bool) {
	p := d.rec
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if named && i < len(p) && p[i] == '{' {
			i, ok = d.walkNamedData(i, depth+1)
		} else {
			i, ok = d.walkValue(i, depth+1)
		}
		if !ok {
			return i, false
		}
		var done bool
		if i, done, ok = d.nextElement(i, ']'); !ok || done {
			return i, ok
		}
	}
}

// special reports whether the value at i under the current path needs format-specific
// handling: XML-to-JSON's EventData.Data: [{Name, text}] list.
func (d *decoder) special(i int) bool {
	return len(d.path) == 3 && string(d.path[0]) == "Event" && string(d.path[1]) == "EventData" && string(d.path[2]) == "Data" &&
		i < len(d.rec) && d.rec[i] == '['
}

// walkSpecial decodes a [{"Name": n, "text": v}, ...] list into fields n=v. Elements that
// are not such objects are emitted under "Data".
func (d *decoder) walkSpecial(i, depth int) (int, bool) {
	d.xmljson = true
	return d.walkArray(i, depth, true)
}

func (d *decoder) walkNamedData(i, depth int) (int, bool) {
	p := d.rec
	nameOff, nameEnd, valOff, valEnd := -1, -1, -1, -1
	i = skipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return i + 1, true
	}
	for {
		next, ko, ke, ok := d.readKey(i)
		if !ok {
			return next, false
		}
		i = next
		key := string(d.buf[ko:ke])
		if (key == "Name" || key == "text" || key == "#text") && i < len(p) && p[i] == '"' {
			n2, vo, ve, ok := d.readString(i)
			if !ok {
				return n2, false
			}
			if key == "Name" {
				nameOff, nameEnd = vo, ve
			} else {
				valOff, valEnd = vo, ve
			}
			i = n2
		} else {
			d.path = append(d.path, d.buf[ko:ke])
			i, ok = d.walkValue(i, depth+1)
			d.path = d.path[:len(d.path)-1]
			if !ok {
				return i, false
			}
		}
		var done bool
		if i, done, ok = d.nextElement(i, '}'); !ok {
			return i, false
		}
		if done {
			break
		}
	}
	if valOff < 0 {
		valOff, valEnd = 0, 0 // <Data Name="x"/> has no text: an empty value, kept
	}
	if nameOff < 0 {
		return i, d.addRef("Data", valOff, valEnd)
	}
	return i, d.addRef(d.intern(d.buf[nameOff:nameEnd]), valOff, valEnd)
}

// leaf emits the value buf[vo:ve] under the name the current path gives it.
func (d *decoder) leaf(vo, ve int, isString bool) bool {
	name, skip := d.leafName()
	if skip {
		return true
	}
	if isString && wazuhEventData(d.path) {
		ve = collapseBackslashes(d.buf, vo, ve)
	}
	if isString && !d.bare && len(d.path) == 1 && string(d.path[0]) == "EventData" && ve > vo && d.buf[vo] == '{' {
		// Azure Monitor's WindowsEvent table carries EventData as a JSON string.
		return d.addRef(name, vo, ve) && d.walkEmbedded(vo, ve)
	}
	return d.addRef(name, vo, ve)
}

// wazuhEventData reports whether path is win.eventdata.X or data.win.eventdata.X.
func wazuhEventData(path [][]byte) bool {
	switch len(path) {
	case 3:
		return string(path[0]) == "win" && string(path[1]) == "eventdata"
	case 4:
		return string(path[0]) == "data" && string(path[1]) == "win" && string(path[2]) == "eventdata"
	}
	return false
}

// walkEmbedded walks the JSON object in buf[vo:ve] (a string value's content), naming
// its fields by their bare keys.
func (d *decoder) walkEmbedded(vo, ve int) bool {
	rec, base, path := d.rec, d.base, d.path
	d.rec, d.base, d.path, d.bare = d.buf[vo:ve], vo, path[len(path):], true
	end, ok := d.walkValue(0, len(path))
	if ok && skipSpace(d.rec, end) != len(d.rec) {
		ok = d.fail("unexpected data after the embedded EventData object at byte %d", d.base+end)
	}
	d.rec, d.base, d.path, d.bare = rec, base, path, false
	return ok
}

// collapseBackslashes undoes the second round of escaping Wazuh applies to eventdata
// values (`\\` -> `\`, `\"` -> `"`), in place. Only unescaped copies (beyond the
// record) can hold backslashes, so the record itself is never changed.
func collapseBackslashes(b []byte, vo, ve int) int {
	w := vo
	for r := vo; r < ve; r++ {
		if b[r] == '\\' && r+1 < ve && (b[r+1] == '\\' || b[r+1] == '"') {
			r++
		}
		b[w] = b[r]
		w++
	}
	return w
}

// leafName names the current path per docs/architecture.md. The rules look at the path
// only (Event.System.*, Event.EventData.*, winlog.event_data.*, win.eventdata.*, ...), so
// the walk needs no format decided beforehand; everything else keeps its dotted path.
func (d *decoder) leafName() (string, bool) {
	path := d.path
	if len(path) == 0 {
		return "", true // a bare scalar at the top: not a field (the walk rejects it)
	}
	if d.bare {
		return d.intern(path[len(path)-1]), false
	}
	switch string(path[0]) {
	case "Event":
		if len(path) < 2 {
			break
		}
		switch string(path[1]) {
		case "System":
			return d.joinSkipping(path[2:], '_'), false
		case "EventData", "UserData":
			// Bare Windows names: the last path element that is not an evtx-rs marker.
			for k := len(path) - 1; k >= 2; k-- {
				if s := string(path[k]); s != "#text" && s != "#attributes" {
					return d.intern(path[k]), false
				}
			}
			return d.intern(path[1]), false
		case "RenderingInfo":
			if string(path[len(path)-1]) == "Message" {
				return "Message", false
			}
			return d.joinSkipping(path[1:], '_'), false
		case "xmlns":
			d.xmljson = true // PT's converter puts xmlns straight into Event
			return "", true  // the namespace is not event data
		case "#attributes":
			return "", true
		}
	case "winlog":
		// Winlogbeat event data keeps its bare Windows names.
		if len(path) >= 3 && (string(path[1]) == "event_data" || string(path[1]) == "user_data") {
			return d.intern(path[len(path)-1]), false
		}
	case "event_data", "user_data":
		// Winlogbeat 6.x.
		if len(path) >= 2 {
			return d.intern(path[len(path)-1]), false
		}
	case "win":
		if len(path) == 3 && (string(path[1]) == "system" || string(path[1]) == "eventdata") {
			return d.wazuhName(path[2]), false
		}
	case "data":
		// A Wazuh alert or archive: the event is under data.win.
		if len(path) == 4 && string(path[1]) == "win" && (string(path[2]) == "system" || string(path[2]) == "eventdata") {
			return d.wazuhName(path[3]), false
		}
	}
	return d.joinSkipping(path, '.'), false
}

// joinSkipping joins path elements with sep, leaving out evtx-rs "#attributes"/"#text".
func (d *decoder) joinSkipping(path [][]byte, sep byte) string {
	if len(path) == 1 {
		return d.intern(path[0])
	}
	var tmp [128]byte
	b := tmp[:0]
	for _, e := range path {
		if string(e) == "#attributes" || string(e) == "#text" {
			continue
		}
		if len(b) > 0 {
			b = append(b, sep)
		}
		b = append(b, e...)
	}
	return d.intern(b)
}

// wazuhName restores the Windows name of a Wazuh lower-camel key: parentImage ->
// ParentImage, eventID -> EventID, providerName -> Provider_Name.
func (d *decoder) wazuhName(k []byte) string {
	switch string(k) {
	case "providerName":
		return "Provider_Name"
	case "providerGuid":
		return "Provider_Guid"
	case "systemTime":
		return "TimeCreated_SystemTime"
	case "processID":
		return "Execution_ProcessID"
	case "threadID":
		return "Execution_ThreadID"
	case "message":
		return "Message"
	}
	if len(k) == 0 || k[0] < 'a' || k[0] > 'z' {
		return d.intern(k)
	}
	var tmp [128]byte
	b := append(tmp[:0], k...)
	b[0] -= 'a' - 'A'
	return d.intern(b)
}

// strSpecial marks the bytes that end a plain run inside a JSON string.
var strSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()
