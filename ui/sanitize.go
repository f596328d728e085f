package ui

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFieldBytes bounds how much of one event field is ever processed for display:
// event data is attacker-controlled and a 1 MiB command line must not stall a frame.
const maxFieldBytes = 8 << 10

// sanitize makes event text display-safe: C0 controls, DEL, C1 controls, invalid UTF-8
// bytes and format characters (bidi overrides, zero-width) are escaped visibly in Go
// style (\x1b, \u202e), so an analyst sees that something was hidden. With singleLine,
// tab, CR and LF become \t \r \n too; otherwise newlines are kept and tabs become
// spaces. Input longer than maxFieldBytes is cut with a visible marker.
func sanitize(s string, singleLine bool) string { return sanitizeN(s, singleLine, maxFieldBytes) }

// sanitizeN is sanitize with a caller-chosen bound (the Raw tab shows more).
func sanitizeN(s string, singleLine bool, limit int) string {
	cut := false
	if len(s) > limit {
		s, cut = s[:limit], true
	}
	if isPlain(s) {
		if cut {
			return s + "…[cut]"
		}
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
			i++
			continue
		}
		i += n
		switch {
		case r == '\n' && !singleLine:
			b.WriteByte('\n')
		case r == '\t' && !singleLine:
			b.WriteString("    ")
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRuneToASCII(r) // '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	if cut {
		b.WriteString("…[cut]")
	}
	return b.String()
}

// isPlain reports whether s is printable ASCII, the common case, which needs no copy.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// cell is sanitize for a single-line cell.
func cell(s string) string { return sanitize(s, true) }
