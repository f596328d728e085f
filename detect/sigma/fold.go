package sigma

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive comparison without allocating: an ASCII table for the common case
// and simple Unicode case folding (the same relation strings.EqualFold uses) once a
// non-ASCII byte is met. Both sides are folded, so needles need no pre-lowering for
// correctness; compile lower-cases them anyway so the first-byte scan is cheap.

var lowerASCII = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return t
}()

// equalFoldRune reports whether a and b are equal under simple Unicode case folding.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII[a] == lowerASCII[b]
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// prefixLenFold reports whether s starts with p under case folding, and how many bytes
// of s the match used (folded runes may differ in byte length).
func prefixLenFold(s, p string) (int, bool) {
	i, j := 0, 0
	for j < len(p) {
		if i >= len(s) {
			return 0, false
		}
		a, b := s[i], p[j]
		if a < utf8.RuneSelf && b < utf8.RuneSelf {
			if lowerASCII[a] != lowerASCII[b] {
				return 0, false
			}
			i++
			j++
			continue
		}
		ra, wa := utf8.DecodeRuneInString(s[i:])
		rb, wb := utf8.DecodeRuneInString(p[j:])
		if !equalFoldRune(ra, rb) {
			return 0, false
		}
		i += wa
		j += wb
	}
	return i, true
}

func hasPrefixFold(s, p string) bool {
	_, ok := prefixLenFold(s, p)
	return ok
}

func hasSuffixFold(s, p string) bool {
	i, j := len(s), len(p)
	for j > 0 {
		if i <= 0 {
			return false
		}
		a, b := s[i-1], p[j-1]
		if a < utf8.RuneSelf && b < utf8.RuneSelf {
			if lowerASCII[a] != lowerASCII[b] {
				return false
			}
			i--
			j--
			continue
		}
		ra, wa := utf8.DecodeLastRuneInString(s[:i])
		rb, wb := utf8.DecodeLastRuneInString(p[:j])
		if !equalFoldRune(ra, rb) {
			return false
		}
		i -= wa
		j -= wb
	}
	return true
}

func equalFold(s, p string) bool {
	n, ok := prefixLenFold(s, p)
	return ok && n == len(s)
}

// containsFold reports whether p occurs in s under case folding.
func containsFold(s, p string) bool {
	if p == "" {
		return true
	}
	c0 := p[0]
	if c0 < utf8.RuneSelf {
		l0 := lowerASCII[c0]
		if l0 != 'k' && l0 != 's' {
			// Only k and s have non-ASCII case partners (Kelvin sign, long s): any other
			// ASCII first byte must occur as itself in either case, so jump between those.
			u0 := l0
			if 'a' <= l0 && l0 <= 'z' {
				u0 = l0 - ('a' - 'A')
			}
			nl, nu := -2, -2 // next positions of l0 and u0 at or after i; -2: unknown, -1: none
			if u0 == l0 {
				nu = -1
			}
			for i := 0; i < len(s); {
				if nl != -1 && nl < i {
					if k := strings.IndexByte(s[i:], l0); k >= 0 {
						nl = i + k
					} else {
						nl = -1
					}
				}
				if nu != -1 && nu < i {
					if k := strings.IndexByte(s[i:], u0); k >= 0 {
						nu = i + k
					} else {
						nu = -1
					}
				}
				j := nl
				if nu >= 0 && (j < 0 || nu < j) {
					j = nu
				}
				if j < 0 {
					return false
				}
				if hasPrefixFold(s[j:], p) {
					return true
				}
				i = j + 1
			}
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			// A non-ASCII byte may start a rune that folds to ASCII (Kelvin sign, long s).
			if c < utf8.RuneSelf && lowerASCII[c] != l0 {
				continue
			}
			if c >= utf8.RuneSelf && !utf8.RuneStart(c) {
				continue
			}
			if hasPrefixFold(s[i:], p) {
				return true
			}
		}
		return false
	}
	// A non-ASCII first rune: unless it folds to an ASCII letter, only positions holding
	// a non-ASCII rune can start a match.
	r0, _ := utf8.DecodeRuneInString(p)
	ascii := hasASCIIFold(r0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < utf8.RuneSelf && !ascii) || !utf8.RuneStart(c) {
			continue
		}
		if hasPrefixFold(s[i:], p) {
			return true
		}
	}
	return false
}

// hasASCIIFold reports whether r folds to an ASCII character (Kelvin sign to k, long s to s).
func hasASCIIFold(r rune) bool {
	if r < utf8.RuneSelf {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// needsNonASCII reports whether every string that fold-matches p holds a non-ASCII
// byte: p has a rune none of whose case variants is ASCII.
func needsNonASCII(p string) bool {
	for _, r := range p {
		if !hasASCIIFold(r) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		// Eight bytes at a time; the compiler merges these loads into one.
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldHash hashes the ASCII-lower-cased bytes of s (FNV-1a). ok is false when s holds
// a non-ASCII byte, whose folding the hash cannot represent.
func foldHash(s string) (h uint64, ok bool) {
	h = 14695981039346656037
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return 0, false
		}
		h ^= uint64(lowerASCII[c])
		h *= 1099511628211
	}
	return h, true
}

// baseName returns what follows the last backslash of s (all of s when it has none).
func baseName(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\\' {
			return s[i+1:]
		}
	}
	return s
}

// indexEndFold returns where the first occurrence of p in s under case folding ends.
func indexEndFold(s, p string) (int, bool) {
	if p == "" {
		return 0, true
	}
	c0 := p[0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf {
			if c0 < utf8.RuneSelf && lowerASCII[c] != lowerASCII[c0] {
				continue
			}
		} else if !utf8.RuneStart(c) {
			continue
		}
		if n, ok := prefixLenFold(s[i:], p); ok {
			return i + n, true
		}
	}
	return 0, false
}

// containsFoldASCII is containsFold for an ASCII haystack and an ASCII needle.
func containsFoldASCII(s, p string) bool { return indexFoldASCII(s, p) >= 0 }

// indexFoldASCII returns the first index of ASCII p in ASCII s under ASCII case folding,
// or -1: it jumps between occurrences of the needle's first byte (either case) with
// strings.IndexByte.
func indexFoldASCII(s, p string) int {
	if p == "" {
		return 0
	}
	if len(p) > len(s) {
		return -1
	}
	lc := lowerASCII[p[0]]
	uc := lc
	if 'a' <= lc && lc <= 'z' {
		uc = lc - ('a' - 'A')
	}
	last := len(s) - len(p) // last possible start
	nl, nu := -2, -2        // next positions of lc and uc at or after i; -2: unknown, -1: none
	for i := 0; i <= last; {
		if nl != -1 && nl < i {
			if k := strings.IndexByte(s[i:last+1], lc); k >= 0 {
				nl = i + k
			} else {
				nl = -1
			}
		}
		if uc != lc && nu != -1 && nu < i {
			if k := strings.IndexByte(s[i:last+1], uc); k >= 0 {
				nu = i + k
			} else {
				nu = -1
			}
		}
		j := nl
		if uc != lc && nu >= 0 && (j < 0 || nu < j) {
			j = nu
		}
		if j < 0 {
			return -1
		}
		k := 1
		for k < len(p) && lowerASCII[s[j+k]] == lowerASCII[p[k]] {
			k++
		}
		if k == len(p) {
			return j
		}
		i = j + 1
	}
	return -1
}

// caseless reports whether no rune of s has another case form.
func caseless(s string) bool {
	for _, r := range s {
		if unicode.SimpleFold(r) != r {
			return false
		}
	}
	return true
}
