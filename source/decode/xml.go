package decode

import (
	"bytes"
	"unicode/utf8"
)

// xmlElem is one open element while scanning Windows event XML.
type xmlElem struct {
	name     []byte // local name (namespace prefix dropped)
	hasChild bool
	hasAttr  bool
	dataName string // <Data Name="X">: the field name its text gets
	text     bool
	tOff     int // text span in buf (absolute)
	tEnd     int
}

// scanXML decodes one <Event> document: System children become System names
// (EventID, Provider_Name, TimeCreated_SystemTime), EventData's <Data Name="X"> become X,
// UserData leaves keep their element names, RenderingInfo's Message becomes Message.
func (d *decoder) scanXML() bool {
	p := d.rec
	var stack [MaxDepth]xmlElem
	depth := 0
	seenEvent, done := false, false
	i := 0
	for {
		i = skipSpace(p, i)
		if i+3 <= len(p) && p[i] == 0xEF && p[i+1] == 0xBB && p[i+2] == 0xBF {
			i += 3
			continue
		}
		if i >= len(p) {
			break
		}
		if p[i] != '<' {
			if depth == 0 {
				return d.fail("text %q outside the <Event> element at byte %d", clip(p[i:], 16), d.base+i)
			}
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				return d.fail("unterminated element <%s> at byte %d", stack[depth-1].name, d.base+len(p))
			}
			d.xmlText(&stack[depth-1], i, i+j)
			i += j
			continue
		}
		// markup
		switch {
		case hasPrefix(p[i:], "<!--"):
			j := bytes.Index(p[i+4:], []byte("-->"))
			if j < 0 {
				return d.fail("unterminated comment at byte %d", d.base+i)
			}
			i += 4 + j + 3
		case hasPrefix(p[i:], "<![CDATA["):
			j := bytes.Index(p[i+9:], []byte("]]>"))
			if j < 0 {
				return d.fail("unterminated CDATA at byte %d", d.base+i)
			}
			if depth == 0 {
				return d.fail("CDATA outside the <Event> element at byte %d", d.base+i)
			}
			d.xmlRawText(&stack[depth-1], d.base+i+9, d.base+i+9+j)
			i += 9 + j + 3
		case hasPrefix(p[i:], "<?"), hasPrefix(p[i:], "<!"):
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				return d.fail("unterminated declaration at byte %d", d.base+i)
			}
			i += j + 1
		case hasPrefix(p[i:], "</"):
			j := i + 2
			for j < len(p) && p[j] != '>' && !isSpace(p[j]) {
				j++
			}
			name := localName(p[i+2 : j])
			j = skipSpace(p, j)
			if j >= len(p) || p[j] != '>' {
				return d.fail("unterminated end tag at byte %d", d.base+i)
			}
			i = j + 1
			if depth == 0 {
				if string(name) == "Events" && seenEvent {
					continue // the wrapper python-evtx and wevtutil write around events
				}
				return d.fail("unexpected end tag </%s> at byte %d", name, d.base+i)
			}
			top := &stack[depth-1]
			if !bytes.Equal(top.name, name) {
				return d.fail("end tag </%s> at byte %d does not match <%s>", name, d.base+i, top.name)
			}
			if !d.xmlEnd(stack[:depth]) {
				return false
			}
			depth--
			if depth == 0 {
				done = true
			}
		default:
			j := i + 1
			for j < len(p) && p[j] != '>' && p[j] != '/' && !isSpace(p[j]) {
				j++
			}
			if j == i+1 {
				return d.fail("bad tag at byte %d", d.base+i)
			}
			name := localName(p[i+1 : j])
			if depth == 0 {
				if string(name) == "Events" && !seenEvent {
					k := bytes.IndexByte(p[j:], '>')
					if k < 0 {
						return d.fail("unterminated tag <Events> at byte %d", d.base+i)
					}
					i = j + k + 1
					continue
				}
				if seenEvent {
					return d.fail("second element <%s> at byte %d: one record holds one <Event>", name, d.base+i)
				}
				if string(name) != "Event" {
					return d.fail("root element <%s> at byte %d is not <Event>", name, d.base+i)
				}
				seenEvent = true
			}
			if depth == MaxDepth {
				return d.fail("nesting deeper than %d at byte %d", MaxDepth, d.base+i)
			}
			if depth > 0 {
				stack[depth-1].hasChild = true
			}
			stack[depth] = xmlElem{name: name}
			depth++
			var selfClose, ok bool
			i, selfClose, ok = d.xmlAttrs(stack[:depth], j)
			if !ok {
				return false
			}
			if selfClose {
				if !d.xmlEnd(stack[:depth]) {
					return false
				}
				depth--
				if depth == 0 {
					done = true
				}
			}
		}
	}
	if !seenEvent {
		return d.fail("no <Event> element")
	}
	if !done || depth != 0 {
		return d.fail("unterminated element <%s> at end of record (byte %d)", stack[max(depth-1, 0)].name, d.base+len(p))
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func localName(b []byte) []byte {
	if k := bytes.IndexByte(b, ':'); k >= 0 {
		return b[k+1:]
	}
	return b
}

// xmlAttrs parses the attributes of the start tag whose name ends at i, emitting them
// where the element's position gives them a name. It returns the index past '>'.
func (d *decoder) xmlAttrs(stack []xmlElem, i int) (int, bool, bool) {
	p := d.rec
	el := &stack[len(stack)-1]
	for {
		i = skipSpace(p, i)
		if i >= len(p) {
			return i, false, d.fail("unterminated tag <%s> at byte %d", el.name, d.base+i)
		}
		switch p[i] {
		case '>':
			return i + 1, false, true
		case '/':
			if i+1 < len(p) && p[i+1] == '>' {
				return i + 2, true, true
			}
			return i, false, d.fail("bad '/' in tag <%s> at byte %d", el.name, d.base+i)
		}
		ns := i
		for i < len(p) && p[i] != '=' && p[i] != '>' && p[i] != '/' && !isSpace(p[i]) {
			i++
		}
		an := p[ns:i]
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != '=' {
			return i, false, d.fail("attribute %q without value in <%s> at byte %d", clip(an, 32), el.name, d.base+ns)
		}
		i = skipSpace(p, i+1)
		if i >= len(p) || (p[i] != '"' && p[i] != '\'') {
			return i, false, d.fail("unquoted attribute %q in <%s> at byte %d", clip(an, 32), el.name, d.base+ns)
		}
		q := p[i]
		k := bytes.IndexByte(p[i+1:], q)
		if k < 0 {
			return i, false, d.fail("unterminated attribute %q in <%s> at byte %d", clip(an, 32), el.name, d.base+ns)
		}
		vo, ve := d.xmlDecode(i+1, i+1+k)
		i += k + 2
		if len(an) >= 5 && string(an[:5]) == "xmlns" {
			continue // namespaces are not event data
		}
		an = localName(an)
		el.hasAttr = true
		if !d.xmlAttr(stack, an, vo, ve) {
			return i, false, false
		}
	}
}

// xmlAttr emits one attribute (or remembers <Data Name="X">).
func (d *decoder) xmlAttr(stack []xmlElem, an []byte, vo, ve int) bool {
	el := &stack[len(stack)-1]
	switch len(stack) {
	case 1, 2: // <Event ...>, <System ...>: nothing but namespaces in practice
		return d.addRef(d.joinName(el.name, an, '_'), vo, ve)
	}
	switch string(stack[1].name) {
	case "System":
		return d.addRef(d.joinName(el.name, an, '_'), vo, ve)
	case "EventData":
		if string(an) == "Name" && len(stack) == 3 {
			el.dataName = d.intern(d.buf[vo:ve])
			return true
		}
		return d.addRef(d.joinName(el.name, an, '_'), vo, ve)
	case "RenderingInfo":
		return d.addRef(d.joinName([]byte("RenderingInfo"), an, '_'), vo, ve)
	default: // UserData and anything else: attribute names as they are
		return d.addRef(d.intern(an), vo, ve)
	}
}

func (d *decoder) joinName(a, b []byte, sep byte) string {
	var tmp [128]byte
	n := append(append(append(tmp[:0], a...), sep), b...)
	return d.intern(n)
}

// xmlText records the text p[i:j] of el (entity-decoded).
func (d *decoder) xmlText(el *xmlElem, i, j int) {
	vo, ve := d.xmlDecode(i, j)
	d.xmlRawText(el, vo, ve)
}

// xmlRawText appends an absolute buf span to el's text.
func (d *decoder) xmlRawText(el *xmlElem, vo, ve int) {
	if !el.text {
		el.text, el.tOff, el.tEnd = true, vo, ve
		return
	}
	// A second chunk (after a comment or CDATA): concatenate in buf.
	off := len(d.buf)
	d.buf = append(d.buf, d.buf[el.tOff:el.tEnd]...)
	d.buf = append(d.buf, d.buf[vo:ve]...)
	el.tOff, el.tEnd = off, len(d.buf)
}

// xmlEnd emits the closing element's text under the name its position gives it.
func (d *decoder) xmlEnd(stack []xmlElem) bool {
	el := &stack[len(stack)-1]
	if el.hasChild || len(stack) < 2 {
		return true
	}
	vo, ve := el.tOff, el.tEnd
	if !el.text {
		vo, ve = 0, 0
	}
	if len(stack) == 2 {
		// <EventData/> with no data, <System/>: nothing to keep.
		if el.text && len(bytes.TrimSpace(d.buf[vo:ve])) > 0 {
			return d.addRef(d.intern(el.name), vo, ve)
		}
		return true
	}
	switch string(stack[1].name) {
	case "System":
		if el.hasAttr && !el.text {
			return true // <Provider Name=.../>: the attributes were the data
		}
		return d.addRef(d.joinPath(stack[2:], '_'), vo, ve)
	case "EventData":
		if el.dataName != "" {
			return d.addRef(el.dataName, vo, ve)
		}
		return d.addRef(d.intern(el.name), vo, ve)
	case "RenderingInfo":
		if string(el.name) == "Message" {
			return d.addRef("Message", vo, ve)
		}
		return d.addRef(d.joinName([]byte("RenderingInfo"), el.name, '_'), vo, ve)
	default:
		if el.hasAttr && !el.text {
			return true
		}
		return d.addRef(d.intern(el.name), vo, ve)
	}
}

func (d *decoder) joinPath(stack []xmlElem, sep byte) string {
	if len(stack) == 1 {
		return d.intern(stack[0].name)
	}
	var tmp [128]byte
	b := tmp[:0]
	for k, e := range stack {
		if k > 0 {
			b = append(b, sep)
		}
		b = append(b, e.name...)
	}
	return d.intern(b)
}

// xmlDecode returns the absolute buf span of rec[i:j] with entities decoded, copying
// only when there is an entity.
func (d *decoder) xmlDecode(i, j int) (int, int) {
	p := d.rec[i:j]
	k := bytes.IndexByte(p, '&')
	if k < 0 {
		return d.base + i, d.base + j
	}
	off := len(d.buf)
	d.buf = append(d.buf, p[:k]...)
	p = p[k:]
	for len(p) > 0 {
		if p[0] != '&' {
			k := bytes.IndexByte(p, '&')
			if k < 0 {
				k = len(p)
			}
			d.buf = append(d.buf, p[:k]...)
			p = p[k:]
			continue
		}
		semi := bytes.IndexByte(p[:min(len(p), 12)], ';')
		if semi < 0 {
			d.buf = append(d.buf, '&') // a bare '&': kept, not fatal
			p = p[1:]
			continue
		}
		ent := p[1:semi]
		switch string(ent) {
		case "lt":
			d.buf = append(d.buf, '<')
		case "gt":
			d.buf = append(d.buf, '>')
		case "amp":
			d.buf = append(d.buf, '&')
		case "quot":
			d.buf = append(d.buf, '"')
		case "apos":
			d.buf = append(d.buf, '\'')
		default:
			r, ok := charRef(ent)
			if !ok {
				d.buf = append(d.buf, p[:semi+1]...) // unknown entity: kept verbatim
				p = p[semi+1:]
				continue
			}
			d.buf = utf8.AppendRune(d.buf, r)
		}
		p = p[semi+1:]
	}
	return off, len(d.buf)
}

// charRef decodes "#174" or "#xAE".
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	var r rune
	if ent[1] == 'x' || ent[1] == 'X' {
		if len(ent) == 2 {
			return 0, false
		}
		for _, c := range ent[2:] {
			switch {
			case c >= '0' && c <= '9':
				r = r<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
			if r > utf8.MaxRune {
				return 0, false
			}
		}
	} else {
		for _, c := range ent[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			r = r*10 + rune(c-'0')
			if r > utf8.MaxRune {
				return 0, false
			}
		}
	}
	if !utf8.ValidRune(r) {
		r = utf8.RuneError
	}
	return r, true
}
