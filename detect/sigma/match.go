package sigma

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// vop is what a compiled value matcher does.
type vop uint8

const (
	vEq       vop = iota // whole value equals s
	vPrefix              // starts with s
	vSuffix              // ends with s
	vContains            // contains s
	vAny                 // a lone "*": any value, present
	vGlob                // wildcard pattern
	vRegex
	vCIDR
	vNum     // numeric comparison (lt, lte, gt, gte, or equality after a time part)
	vNull    // null: field absent or empty
	vExists  // exists: true/false (want in s == "1")
	vFieldEq // fieldref: compare with another field (op in refOp)
)

type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLte
	cmpGt
	cmpGte
)

type timePart uint8

const (
	timeNone timePart = iota
	timeMinute
	timeHour
	timeDay
	timeWeek
	timeMonth
	timeYear
)

// gtok is one element of a wildcard pattern.
type gtok struct {
	k byte // 'l' literal rune, '*' any run, '?' one rune, '-' one windash character
	r rune
}

// valueMatcher matches one Sigma value against one field value.
type valueMatcher struct {
	op    vop
	cased bool
	s     string // needle (lower-cased when not cased)
	// bare: a suffix needle beginning with a backslash also matches a value equal to the
	// needle without it, so a bare file name ("dns.exe", ECS process.parent.name only)
	// still matches `ParentImage|endswith: '\dns.exe'`.
	bare bool
	// nonASCII: only a value holding a non-ASCII byte can match (homoglyph lists).
	nonASCII bool
	// asciiContains: a case-insensitive contains with an ASCII needle.
	asciiContains bool
	glob          []gtok
	// star (vGlob): the literal runs when the glob has no '?' or windash class, matched
	// left to right by substring search instead of backtracking.
	star      []string
	inNameSet bool   // covered by fieldMatcher.nameSet
	seq       int32  // number within the rule, for a Set's per-rule tables
	lit       string // vGlob, vRegex: a literal every match contains (prefilter)
	// needs (vRegex): groups of literals, one of each group in every match (case-folded).
	needs [][]string
	re    *regexp.Regexp
	pfx   netip.Prefix
	num   float64
	cmp   cmpOp
	tpart timePart
	ref   accessor // fieldref
	refOp vop      // vEq, vPrefix, vSuffix, vContains for fieldref
}

// matchString applies a string matcher to s.
func (m *valueMatcher) matchString(s string) bool {
	switch m.op {
	case vEq:
		if m.cased {
			return s == m.s
		}
		return equalFold(s, m.s)
	case vPrefix:
		if m.cased {
			return len(s) >= len(m.s) && s[:len(m.s)] == m.s
		}
		return hasPrefixFold(s, m.s)
	case vSuffix:
		var ok bool
		if m.cased {
			ok = len(s) >= len(m.s) && s[len(s)-len(m.s):] == m.s
		} else {
			ok = hasSuffixFold(s, m.s)
		}
		if !ok && m.bare && len(s) == len(m.s)-1 {
			if m.cased {
				ok = s == m.s[1:]
			} else {
				ok = equalFold(s, m.s[1:])
			}
		}
		return ok
	case vContains:
		if m.cased {
			return indexCased(s, m.s)
		}
		return containsFold(s, m.s)
	case vAny:
		return true
	case vGlob:
		// The longest literal run must occur somewhere: a cheap test before the glob.
		if m.lit != "" {
			if m.cased {
				if !indexCased(s, m.lit) {
					return false
				}
			} else if !containsFold(s, m.lit) {
				return false
			}
		}
		if m.star != nil {
			return starMatch(m.star, m.glob[0].k == '*', m.glob[len(m.glob)-1].k == '*', s, m.cased)
		}
		return globMatch(m.glob, s, m.cased)
	case vRegex:
		for _, g := range m.needs {
			if !containsAnyFold(s, g) {
				return false
			}
		}
		return m.re.MatchString(s)
	case vCIDR:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		return m.pfx.Contains(a.Unmap())
	case vNum:
		if m.tpart != timeNone {
			t, ok := parseTime(s)
			if !ok {
				return false
			}
			return m.cmpNum(float64(timeField(t, m.tpart)))
		}
		f, ok := parseNum(s)
		return ok && m.cmpNum(f)
	}
	return false
}

func indexCased(s, p string) bool { return strings.Contains(s, p) }

// containsAnyFold reports whether one of ps occurs in s under case folding.
func containsAnyFold(s string, ps []string) bool {
	for _, p := range ps {
		if containsFold(s, p) {
			return true
		}
	}
	return false
}

func (m *valueMatcher) cmpNum(f float64) bool {
	switch m.cmp {
	case cmpLt:
		return f < m.num
	case cmpLte:
		return f <= m.num
	case cmpGt:
		return f > m.num
	case cmpGte:
		return f >= m.num
	}
	return f == m.num
}

// matchValue applies the matcher to a field value that the event has.
func (m *valueMatcher) matchValue(v value) bool {
	if !v.isNum {
		return m.matchString(v.s)
	}
	switch m.op {
	case vNum:
		if m.tpart == timeNone {
			return m.cmpNum(float64(v.n))
		}
	case vRegex:
		// The regexp package may keep its input; format on the heap in this rare case.
		return m.re.MatchString(strconv.FormatUint(v.n, 10))
	}
	var buf [20]byte
	return m.matchString(string(strconv.AppendUint(buf[:0], v.n, 10)))
}

// parseNum parses a decimal, float or 0x-hex number without allocating.
func parseNum(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		var n uint64
		for i := 2; i < len(s); i++ {
			c := s[i]
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return 0, false
			}
			if n > (1<<60)-1 {
				return 0, false
			}
			n = n<<4 | uint64(d)
		}
		return float64(n), true
	}
	if s == "" || len(s) > 64 {
		return 0, false
	}
	// Validate by hand first: strconv's error path allocates.
	dot, digits := false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case (c == '-' || c == '+') && i == 0:
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// parseTime reads "YYYY-MM-DD[T ]hh:mm[:ss...]" (the shapes Windows and ECS use), UTC.
func parseTime(s string) (time.Time, bool) {
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, 0, 0, time.UTC), true
}

func timeField(t time.Time, p timePart) int {
	switch p {
	case timeMinute:
		return t.Minute()
	case timeHour:
		return t.Hour()
	case timeDay:
		return t.Day()
	case timeWeek:
		_, w := t.ISOWeek()
		return w
	case timeMonth:
		return int(t.Month())
	case timeYear:
		return t.Year()
	}
	return 0
}

func isWinDash(r rune) bool {
	return r == '-' || r == '/' || r == '–' || r == '—' || r == '―'
}

// globMatch matches s against a wildcard pattern: '*' any run (including none), '?'
// exactly one character, '-' one windash character. Single-star backtracking keeps it
// linear in practice and never recursive.
func globMatch(p []gtok, s string, cased bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			t := p[pi]
			switch t.k {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				_, w := utf8.DecodeRuneInString(s[si:])
				si += w
				pi++
				continue
			case '-':
				r, w := utf8.DecodeRuneInString(s[si:])
				if isWinDash(r) {
					si += w
					pi++
					continue
				}
			default:
				r, w := utf8.DecodeRuneInString(s[si:])
				if r == t.r || (!cased && equalFoldRune(r, t.r)) {
					si += w
					pi++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi].k == '*' {
		pi++
	}
	return pi == len(p)
}

// starMatch matches s against lead* runs[0] * runs[1] * ... *trail. Taking each run at
// its leftmost occurrence is optimal: folded runes correspond one to one, so an
// occurrence that starts later never ends earlier.
func starMatch(runs []string, lead, trail bool, s string, cased bool) bool {
	if len(runs) == 0 {
		return lead || trail || s == ""
	}
	ascii := !cased && isASCII(s)
	pos := 0
	if !lead {
		n, ok := len(runs[0]), false
		if cased {
			ok = strings.HasPrefix(s, runs[0])
		} else {
			n, ok = prefixLenFold(s, runs[0])
		}
		if !ok {
			return false
		}
		pos, runs = n, runs[1:]
		if len(runs) == 0 {
			return trail || pos == len(s)
		}
	}
	last := ""
	if !trail {
		last, runs = runs[len(runs)-1], runs[:len(runs)-1]
	}
	for _, p := range runs {
		var end int
		switch {
		case cased:
			i := strings.Index(s[pos:], p)
			if i < 0 {
				return false
			}
			end = i + len(p)
		case ascii && isASCII(p):
			i := indexFoldASCII(s[pos:], p)
			if i < 0 {
				return false
			}
			end = i + len(p)
		default:
			e, ok := indexEndFold(s[pos:], p)
			if !ok {
				return false
			}
			end = e
		}
		pos += end
	}
	if trail {
		return true
	}
	if cased {
		return strings.HasSuffix(s[pos:], last)
	}
	return hasSuffixFold(s[pos:], last)
}

// fieldMatcher is one `field|modifiers: values` entry of a selection.
type fieldMatcher struct {
	acc  accessor
	vals []valueMatcher
	all  bool // values AND-ed (|all)
	neq  bool // the field must differ from every value
	// anyNonASCII: some value needs a non-ASCII haystack; check the value once.
	anyNonASCII bool
	allNonASCII bool // every value needs a non-ASCII byte (emoji lists)
	// anyContains: some value is a case-insensitive ASCII contains, which has a fast path
	// for ASCII values.
	anyContains bool
	// nameSet maps the folded base-name hashes of the values marked inNameSet to them;
	// rest lists the other values.
	nameSet map[uint64][]int32
	rest    []int32
	probe   int32 // first value with asciiContains (its automaton slot tells ASCII-ness), or -1
}

func (f *fieldMatcher) match(ev *source.Event, hx *hits) bool {
	if f.acc.kind == accKeywords {
		return f.matchKeywords(ev)
	}
	v, ok := hx.get(f, ev)
	if f.neq {
		if !ok {
			return false
		}
		for i := range f.vals {
			if f.vals[i].matchField(ev, v, ok) {
				return false
			}
		}
		return true
	}
	ascii := false
	if (f.anyNonASCII || f.anyContains) && ok && !v.isNum {
		var known bool
		if ascii, known = hx.asciiVerdict(f); !known {
			ascii = isASCII(v.s)
		}
	}
	if ascii && f.allNonASCII {
		return false // no value can match an ASCII value
	}
	if f.all {
		for i := range f.vals {
			m := &f.vals[i]
			switch {
			case ascii && m.nonASCII:
				return false
			case ascii && m.asciiContains:
				if !hx.contains(m, v.s) {
					return false
				}
			case m.asciiContains && ok:
				if found, known := hx.found(m); known && !found || !known && !m.matchField(ev, v, ok) {
					return false
				}
			case m.lit != "" && ok && hx.litMissing(m):
				return false
			case !m.matchField(ev, v, ok):
				return false
			}
		}
		return true
	}
	if f.nameSet != nil && ok && !v.isNum {
		if h, hashed := foldHash(baseName(v.s)); hashed {
			// Only values with the value's base-name hash can match (an ASCII match
			// implies equal folded base names); the hash may collide, so they are
			// still checked in full.
			for _, i := range f.nameSet[h] {
				if f.matchOne(&f.vals[i], ascii, ev, v, ok, hx) {
					return true
				}
			}
			for _, i := range f.rest {
				if f.matchOne(&f.vals[i], ascii, ev, v, ok, hx) {
					return true
				}
			}
			return false
		}
	}
	for i := range f.vals {
		if f.matchOne(&f.vals[i], ascii, ev, v, ok, hx) {
			return true
		}
	}
	return false
}

// matchOne applies one of f's values, reading contains answers from the automaton pass
// when it has them (ascii: the value is known to be all ASCII).
func (f *fieldMatcher) matchOne(m *valueMatcher, ascii bool, ev *source.Event, v value, ok bool, hx *hits) bool {
	if ascii && m.nonASCII {
		return false
	}
	if ascii && m.asciiContains {
		return hx.contains(m, v.s)
	}
	if m.asciiContains && ok {
		// A non-ASCII value: the automaton read it folding runes as containsFold does.
		if found, known := hx.found(m); known {
			return found
		}
	}
	if m.lit != "" && ok && hx.litMissing(m) {
		return false
	}
	return m.matchField(ev, v, ok)
}

// matchField applies one value to a field, handling the presence-based operators.
func (m *valueMatcher) matchField(ev *source.Event, v value, ok bool) bool {
	switch m.op {
	case vNull:
		return !ok || (!v.isNum && v.s == "")
	case vExists:
		return ok == (m.s == "1")
	case vFieldEq:
		if !ok {
			return false
		}
		r, rok := m.ref.get(ev)
		if !rok || v.isNum || r.isNum {
			return rok && v.isNum && r.isNum && v.n == r.n
		}
		return fieldCompare(m.refOp, m.cased, v.s, r.s)
	}
	if !ok {
		// Time parts fall back to the event's own time when the field is absent.
		if m.op == vNum && m.tpart != timeNone && !ev.Time.IsZero() {
			return m.cmpNum(float64(timeField(ev.Time.UTC(), m.tpart)))
		}
		return false
	}
	return m.matchValue(v)
}

func fieldCompare(op vop, cased bool, s, ref string) bool {
	switch op {
	case vPrefix:
		if cased {
			return len(s) >= len(ref) && s[:len(ref)] == ref
		}
		return hasPrefixFold(s, ref)
	case vSuffix:
		if cased {
			return len(s) >= len(ref) && s[len(s)-len(ref):] == ref
		}
		return hasSuffixFold(s, ref)
	case vContains:
		if cased {
			return indexCased(s, ref)
		}
		return containsFold(s, ref)
	}
	if cased {
		return s == ref
	}
	return equalFold(s, ref)
}

// matchKeywords searches every original field value and the message.
func (f *fieldMatcher) matchKeywords(ev *source.Event) bool {
	one := func(m *valueMatcher) bool {
		if ev.Message != "" && m.matchString(ev.Message) {
			return true
		}
		for i := range ev.Fields {
			if m.matchString(ev.Fields[i].Value) {
				return true
			}
		}
		return false
	}
	if f.all {
		for i := range f.vals {
			if !one(&f.vals[i]) {
				return false
			}
		}
		return true
	}
	for i := range f.vals {
		if one(&f.vals[i]) {
			return true
		}
	}
	return false
}
