package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-soc/vigil/source"
)

// detection is a compiled detection (or filter) section.
type detection struct {
	nvals int // value matchers, numbered by valueMatcher.seq
	names []string
	sels  []selection
	cond  *cnode
}

// selection is OR over alternatives, each an AND of field matchers.
type selection struct {
	alts [][]fieldMatcher
}

func (d *detection) match(ev *source.Event) bool { return d.eval(d.cond, ev, nil) }

func (d *detection) eval(n *cnode, ev *source.Event, hx *hits) bool {
	switch n.op {
	case cSel:
		return d.sels[n.sel].match(ev, hx)
	case cAnd:
		for _, k := range n.kids {
			if !d.eval(k, ev, hx) {
				return false
			}
		}
		return true
	case cOr:
		for _, k := range n.kids {
			if d.eval(k, ev, hx) {
				return true
			}
		}
		return false
	case cNot:
		return !d.eval(n.kids[0], ev, hx)
	case cOneOf:
		for _, i := range n.sels {
			if d.sels[i].match(ev, hx) {
				return true
			}
		}
		return false
	case cAllOf:
		for _, i := range n.sels {
			if !d.sels[i].match(ev, hx) {
				return false
			}
		}
		return true
	}
	return false
}

func (s *selection) match(ev *source.Event, hx *hits) bool {
	for _, alt := range s.alts {
		ok := true
		for i := range alt {
			if !alt[i].match(ev, hx) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Limits on what one rule may compile into: event data is attacker-controlled but rules
// may come from anywhere too, and a rule must not exhaust memory.
const (
	maxValuesPerField = 4096
	maxValueLen       = 64 << 10
	maxSelections     = 1024
)

// compiler carries what one rule's compilation needs: the config and a budget of values,
// so YAML aliases cannot multiply a small document into a huge matcher.
type compiler struct {
	cfg  *Config
	left int
	seq  int32 // next valueMatcher.seq
	// fieldVals: values the field being compiled already has, so optional expansions
	// (windash permutations) never push a field over its limit.
	fieldVals int
}

const maxValuesPerRule = 1 << 16

// compileError is a refusal reason tied to a YAML line.
type compileError struct {
	line   int
	reason string
}

func (e *compileError) Error() string { return e.reason }

func errAt(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &compileError{line: line, reason: fmt.Sprintf(format, args...)}
}

// compileDetection compiles a detection mapping. skip names keys that are not
// selections (a filter's "rules").
func compileDetection(det *yaml.Node, c *compiler, skip string) (*detection, error) {
	det = resolve(det)
	if det == nil || det.Kind != yaml.MappingNode {
		return nil, errAt(det, "detection must be a map of selections and a condition")
	}
	d := &detection{}
	var condNode *yaml.Node
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], resolve(det.Content[i+1])
		switch k.Value {
		case "condition":
			condNode = v
			continue
		case "timeframe":
			continue // v1 aggregation window; meaningless without an aggregation
		case skip:
			continue
		}
		if len(d.sels) >= maxSelections {
			return nil, errAt(k, "more than %d selections", maxSelections)
		}
		sel, err := compileSelection(k.Value, v, c)
		if err != nil {
			return nil, err
		}
		d.names = append(d.names, k.Value)
		d.sels = append(d.sels, sel)
	}
	if condNode == nil {
		return nil, errAt(det, "detection has no condition")
	}
	var conds []*yaml.Node
	switch condNode.Kind {
	case yaml.ScalarNode:
		conds = []*yaml.Node{condNode}
	case yaml.SequenceNode:
		for _, c := range condNode.Content {
			conds = append(conds, resolve(c))
		}
	}
	if len(conds) == 0 {
		return nil, errAt(condNode, "condition must be a string or a list of strings")
	}
	var roots []*cnode
	for _, c := range conds {
		if c == nil || c.Kind != yaml.ScalarNode {
			return nil, errAt(condNode, "condition must be a string or a list of strings")
		}
		n, err := parseCondition(c.Value, d.names)
		if err != nil {
			return nil, errAt(c, "%v", err)
		}
		roots = append(roots, n)
	}
	d.nvals = int(c.seq)
	if len(roots) == 1 {
		d.cond = roots[0]
	} else {
		d.cond = &cnode{op: cOr, kids: roots}
	}
	return d, nil
}

func compileSelection(name string, v *yaml.Node, c *compiler) (selection, error) {
	var sel selection
	switch v.Kind {
	case yaml.MappingNode:
		alt, err := compileMap(v, c)
		if err != nil {
			return sel, err
		}
		sel.alts = append(sel.alts, alt)
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return sel, errAt(v, "selection %q is an empty list", name)
		}
		maps, scalars := 0, 0
		for _, it := range v.Content {
			if resolve(it).Kind == yaml.MappingNode {
				maps++
			} else {
				scalars++
			}
		}
		if maps > 0 && scalars > 0 {
			return sel, errAt(v, "selection %q mixes maps and plain values in one list", name)
		}
		if maps > 0 {
			for _, it := range v.Content {
				alt, err := compileMap(resolve(it), c)
				if err != nil {
					return sel, err
				}
				sel.alts = append(sel.alts, alt)
			}
			break
		}
		fm, err := compileField(&yaml.Node{Kind: yaml.ScalarNode, Value: "", Line: v.Line}, v, c)
		if err != nil {
			return sel, err
		}
		sel.alts = append(sel.alts, []fieldMatcher{fm})
	case yaml.ScalarNode:
		fm, err := compileField(&yaml.Node{Kind: yaml.ScalarNode, Value: "", Line: v.Line}, v, c)
		if err != nil {
			return sel, err
		}
		sel.alts = append(sel.alts, []fieldMatcher{fm})
	default:
		return sel, errAt(v, "selection %q must be a map, a list or a value", name)
	}
	return sel, nil
}

func compileMap(m *yaml.Node, c *compiler) ([]fieldMatcher, error) {
	if len(m.Content) == 0 {
		return nil, errAt(m, "empty map in a selection")
	}
	var out []fieldMatcher
	for i := 0; i+1 < len(m.Content); i += 2 {
		fm, err := compileField(m.Content[i], resolve(m.Content[i+1]), c)
		if err != nil {
			return nil, err
		}
		out = append(out, fm)
	}
	return out, nil
}

// modifier flags collected from a key.
type mods struct {
	op                               string // "", "contains", "startswith", "endswith"
	all, windash, re, cidr, fieldref bool
	exists, cased, neq, expand       bool
	reI, reM, reS                    bool
	cmp                              cmpOp
	hasCmp                           bool
	tpart                            timePart
	encodings                        []string // utf16le, utf16be, utf16, base64, base64offset in order
	hasEncoding                      bool
}

func parseMods(key *yaml.Node, list []string) (mods, error) {
	var m mods
	seen := map[string]bool{}
	for _, raw := range list {
		name := strings.ToLower(raw)
		if seen[name] {
			return m, errAt(key, "modifier %q given twice in %q", raw, key.Value)
		}
		seen[name] = true
		switch name {
		case "contains", "startswith", "endswith":
			if m.op != "" {
				return m, errAt(key, "modifiers %q and %q cannot combine in %q", m.op, name, key.Value)
			}
			m.op = name
		case "all":
			m.all = true
		case "windash":
			m.windash = true
		case "re":
			m.re = true
		case "i", "m", "s":
			if !m.re {
				return m, errAt(key, "modifier %q is a sub-modifier of 're' and must follow it in %q", raw, key.Value)
			}
			switch name {
			case "i":
				m.reI = true
			case "m":
				m.reM = true
			default:
				m.reS = true
			}
		case "base64", "base64offset", "utf16le", "wide", "utf16be", "utf16":
			if name == "wide" {
				name = "utf16le"
			}
			m.encodings = append(m.encodings, name)
			m.hasEncoding = true
		case "cidr":
			m.cidr = true
		case "fieldref":
			m.fieldref = true
		case "exists":
			m.exists = true
		case "cased":
			m.cased = true
		case "neq":
			m.neq = true
		case "lt", "lte", "gt", "gte":
			if m.hasCmp {
				return m, errAt(key, "two comparison modifiers in %q", key.Value)
			}
			m.hasCmp = true
			m.cmp = map[string]cmpOp{"lt": cmpLt, "lte": cmpLte, "gt": cmpGt, "gte": cmpGte}[name]
		case "minute", "hour", "day", "week", "month", "year":
			if m.tpart != timeNone {
				return m, errAt(key, "two time modifiers in %q", key.Value)
			}
			m.tpart = map[string]timePart{"minute": timeMinute, "hour": timeHour, "day": timeDay, "week": timeWeek, "month": timeMonth, "year": timeYear}[name]
		case "expand":
			m.expand = true
		default:
			return m, errAt(key, "unknown modifier %q in %q", raw, key.Value)
		}
	}
	// Combinations the spec gives no meaning to.
	special := 0
	for _, b := range []bool{m.re, m.cidr, m.exists, m.hasCmp || m.tpart != timeNone, m.fieldref} {
		if b {
			special++
		}
	}
	switch {
	case special > 1:
		return m, errAt(key, "modifiers in %q cannot combine (re, cidr, exists, numeric/time and fieldref exclude each other)", key.Value)
	case (m.re || m.cidr || m.exists || m.hasCmp || m.tpart != timeNone) && (m.op != "" || m.windash || m.hasEncoding):
		return m, errAt(key, "string modifiers cannot combine with re, cidr, exists or numeric modifiers in %q", key.Value)
	case m.fieldref && (m.windash || m.hasEncoding || m.expand):
		return m, errAt(key, "fieldref cannot combine with windash, encodings or expand in %q", key.Value)
	case m.windash && m.hasEncoding:
		return m, errAt(key, "windash cannot combine with an encoding modifier in %q", key.Value)
	case m.exists && (m.neq || m.all || m.cased):
		return m, errAt(key, "exists takes no other modifier in %q", key.Value)
	}
	return m, nil
}

// compileField compiles `key: value(s)`; an empty key name is a keyword search.
func compileField(key, val *yaml.Node, c *compiler) (fieldMatcher, error) {
	parts := strings.Split(key.Value, "|")
	field := parts[0]
	m, err := parseMods(key, parts[1:])
	if err != nil {
		return fieldMatcher{}, err
	}
	fm := fieldMatcher{all: m.all, neq: m.neq, probe: -1}
	if field == "" {
		fm.acc = accessor{kind: accKeywords}
		if m.exists || m.fieldref || m.neq {
			return fm, errAt(key, "keyword search %q cannot use exists, fieldref or neq", key.Value)
		}
	} else {
		fm.acc = resolveField(field)
	}
	var items []*yaml.Node
	switch val.Kind {
	case yaml.SequenceNode:
		if len(val.Content) == 0 {
			return fm, errAt(val, "field %q has an empty value list", key.Value)
		}
		if len(val.Content) > maxValuesPerField {
			return fm, errAt(val, "field %q has %d values, over the %d limit", key.Value, len(val.Content), maxValuesPerField)
		}
		for _, it := range val.Content {
			items = append(items, resolve(it))
		}
	case yaml.ScalarNode:
		items = []*yaml.Node{val}
	default:
		return fm, errAt(val, "field %q: value must be a value or a list of values, not a map", key.Value)
	}
	for _, it := range items {
		if it == nil || it.Kind != yaml.ScalarNode {
			return fm, errAt(val, "field %q: list items must be plain values", key.Value)
		}
		c.fieldVals = len(fm.vals)
		vms, err := compileValue(key, it, &m, fm.acc.kind == accKeywords, c)
		if err != nil {
			return fm, err
		}
		if len(fm.vals)+len(vms) > maxValuesPerField {
			return fm, errAt(it, "field %q expands to more than %d values", key.Value, maxValuesPerField)
		}
		for i := range vms {
			vms[i].seq = c.seq
			c.seq++
			if vms[i].nonASCII {
				fm.anyNonASCII = true
			}
			if vms[i].op == vContains && !vms[i].cased && isASCII(vms[i].s) {
				vms[i].asciiContains = true
				fm.anyContains = true
				if fm.probe < 0 && vms[i].s != "" {
					fm.probe = int32(len(fm.vals) + i)
				}
			}
		}
		fm.vals = append(fm.vals, vms...)
		if c.left -= len(vms); c.left < 0 {
			return fm, errAt(it, "rule compiles to more than %d values (YAML aliases?)", maxValuesPerRule)
		}
	}
	fm.buildNameSet()
	fm.allNonASCII = len(fm.vals) > 0
	for i := range fm.vals {
		if !fm.vals[i].nonASCII {
			fm.allNonASCII = false
			break
		}
	}
	return fm, nil
}

// minNameSet is how many base-name values a field needs before a hash set pays off.
const minNameSet = 4

// buildNameSet lets long OR lists of equality and backslash-suffix values (lists of
// tool names) be tested with one hash lookup of the value's base name.
func (f *fieldMatcher) buildNameSet() {
	if f.all || f.neq || f.acc.kind == accKeywords {
		return
	}
	n := 0
	for i := range f.vals {
		if _, ok := indexName(&f.vals[i]); ok {
			n++
		}
	}
	if n < minNameSet {
		return
	}
	f.nameSet = make(map[uint64][]int32, n)
	for i := range f.vals {
		if name, ok := indexName(&f.vals[i]); ok {
			h, _ := foldHash(name)
			f.nameSet[h] = append(f.nameSet[h], int32(i))
			f.vals[i].inNameSet = true
		} else {
			f.rest = append(f.rest, int32(i))
		}
	}
}

// seg is one piece of a Sigma string value: literal bytes or a wildcard.
type seg struct {
	k byte // 'l' literal, '*', '?', '-' (windash character)
	s string
}

// ValuePart is one piece of a Sigma string value: a literal run, or a wildcard.
type ValuePart struct {
	Wildcard byte   // '*' or '?'; 0 for a literal
	Literal  string // unescaped text when Wildcard is 0
}

// SplitValue applies the specification's escaping to a Sigma string value: a backslash
// escapes '*', '?' and itself; any other backslash is literal. Other tools that read or
// write Sigma values (the allowlist's filter import) use it so both agree.
func SplitValue(s string) []ValuePart {
	var out []ValuePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, ValuePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\'):
			lit.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			out = append(out, ValuePart{Wildcard: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out
}

// parseSigmaString is SplitValue in the matcher's segment form.
func parseSigmaString(s string) []seg {
	parts := SplitValue(s)
	out := make([]seg, len(parts))
	for i, p := range parts {
		if p.Wildcard != 0 {
			out[i] = seg{k: p.Wildcard}
		} else {
			out[i] = seg{k: 'l', s: p.Literal}
		}
	}
	return out
}

func literalOf(segs []seg) (string, bool) {
	var b strings.Builder
	for _, s := range segs {
		if s.k != 'l' {
			return "", false
		}
		b.WriteString(s.s)
	}
	return b.String(), true
}

func compileValue(key, it *yaml.Node, m *mods, keyword bool, c *compiler) ([]valueMatcher, error) {
	isNull := it.Tag == "!!null"
	raw := it.Value
	if len(raw) > maxValueLen {
		return nil, errAt(it, "value of %q is %d bytes, over the %d limit", key.Value, len(raw), maxValueLen)
	}
	switch {
	case m.exists:
		switch strings.ToLower(raw) {
		case "true", "yes":
			return []valueMatcher{{op: vExists, s: "1"}}, nil
		case "false", "no":
			return []valueMatcher{{op: vExists}}, nil
		}
		return nil, errAt(it, "%q: exists takes true or false, not %q", key.Value, raw)
	case isNull:
		if keyword {
			return nil, errAt(it, "null is not a keyword")
		}
		return []valueMatcher{{op: vNull}}, nil
	case m.re:
		flags := ""
		if m.reI {
			flags += "i"
		}
		if m.reM {
			flags += "m"
		}
		if m.reS {
			flags += "s"
		}
		expr := raw
		if flags != "" {
			expr = "(?" + flags + ")" + raw
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, errAt(it, "%q: regular expression %q does not compile in RE2: %v", key.Value, raw, err)
		}
		m := valueMatcher{op: vRegex, re: re}
		m.needs = regexNeeds(expr)
		if best := bestNeed(m.needs); len(best) == 1 {
			m.lit = best[0]
		}
		return []valueMatcher{m}, nil
	case m.cidr:
		p, err := netip.ParsePrefix(strings.TrimSpace(raw))
		if err != nil {
			return nil, errAt(it, "%q: %q is not a CIDR network: %v", key.Value, raw, err)
		}
		return []valueMatcher{{op: vCIDR, pfx: p.Masked()}}, nil
	case m.hasCmp || m.tpart != timeNone:
		f, ok := parseNum(strings.TrimSpace(raw))
		if !ok {
			return nil, errAt(it, "%q: %q is not a number", key.Value, raw)
		}
		return []valueMatcher{{op: vNum, num: f, cmp: m.cmp, tpart: m.tpart}}, nil
	case m.fieldref:
		if raw == "" {
			return nil, errAt(it, "%q: fieldref needs a field name", key.Value)
		}
		op := map[string]vop{"": vEq, "contains": vContains, "startswith": vPrefix, "endswith": vSuffix}[m.op]
		return []valueMatcher{{op: vFieldEq, ref: resolveField(raw), refOp: op, cased: m.cased}}, nil
	}

	raws := []string{raw}
	if m.expand {
		var err error
		raws, err = expandPlaceholders(raw, c.cfg)
		if err != nil {
			return nil, errAt(it, "%q: %v", key.Value, err)
		}
	}
	var pats [][]seg
	for _, r := range raws {
		segs := parseSigmaString(r)
		if m.windash {
			// Spelt-out permutations are an optimisation: only while they fit well
			// within the limits, else the windash class matches the same values.
			if alts := windashExpand(segs); alts != nil && c.fieldVals+len(pats)+len(alts) <= maxValuesPerField/2 && len(alts) <= c.left/2 {
				pats = append(pats, alts...)
				continue
			}
			segs = windashSegs(segs)
		}
		if m.hasEncoding {
			lit, ok := literalOf(segs)
			if !ok {
				return nil, errAt(it, "%q: wildcards cannot be encoded (%q)", key.Value, r)
			}
			outs := []string{lit}
			for _, enc := range m.encodings {
				outs = encode(enc, outs)
			}
			for _, o := range outs {
				pats = append(pats, []seg{{k: 'l', s: o}})
			}
			continue
		}
		pats = append(pats, segs)
	}
	op := m.op
	if keyword && op == "" {
		op = "contains" // keywords match anywhere in the event
	}
	cased := m.cased || m.hasEncoding // encoded bytes are case-significant
	out := make([]valueMatcher, 0, len(pats))
	for _, segs := range pats {
		switch op {
		case "contains":
			segs = append(append([]seg{{k: '*'}}, segs...), seg{k: '*'})
		case "startswith":
			segs = append(segs, seg{k: '*'})
		case "endswith":
			segs = append([]seg{{k: '*'}}, segs...)
		}
		out = append(out, buildMatcher(segs, cased))
	}
	return out, nil
}

// maxNeedAlts bounds one group of alternative literals a regex prefilter tries.
const maxNeedAlts = 32

// regexNeeds returns what any match of expr must contain, as groups of literals
// (ASCII-lower-cased): every group has one of its literals in the value under case
// folding. Adjacent literal pieces ("[Pp]rogram[Dd]ata") join into one literal, and an
// alternation needs one literal from each branch. nil when nothing is certain.
func regexNeeds(expr string) [][]string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	if re.Op == syntax.OpConcat {
		return concatNeeds(re.Sub)
	}
	if n := regexNeed(re); n != nil {
		return [][]string{n}
	}
	return nil
}

// concatNeeds is one group per literal run or child with a need of its own.
func concatNeeds(subs []*syntax.Regexp) [][]string {
	var out [][]string
	var run []rune
	flush := func() {
		if len(run) > 0 {
			out = append(out, []string{lowerASCIIString(string(run))})
			run = run[:0]
		}
	}
	for _, s := range subs {
		if s.Op == syntax.OpLiteral {
			run = append(run, s.Rune...)
			continue
		}
		flush()
		if n := regexNeed(s); n != nil {
			out = append(out, n)
		}
	}
	flush()
	return out
}

// regexNeed is a set of literals one of which every match of re contains, or nil.
func regexNeed(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{lowerASCIIString(string(re.Rune))}
	case syntax.OpCapture, syntax.OpPlus:
		return regexNeed(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return regexNeed(re.Sub[0])
		}
	case syntax.OpConcat:
		return bestNeed(concatNeeds(re.Sub))
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			n := regexNeed(s)
			if n == nil {
				return nil
			}
			for _, l := range n {
				if !slices.Contains(out, l) {
					out = append(out, l)
				}
			}
			if len(out) > maxNeedAlts {
				return nil
			}
		}
		return out
	}
	return nil
}

// bestNeed picks the most selective group: the one whose shortest literal is longest.
func bestNeed(groups [][]string) []string {
	var best []string
	bs := 0
	for _, g := range groups {
		short := -1
		for _, l := range g {
			if short < 0 || len(l) < short {
				short = len(l)
			}
		}
		if short > bs {
			best, bs = g, short
		}
	}
	return best
}

// lowerASCIIString lower-cases the ASCII letters of s only: under simple case folding
// the result still matches exactly what s matched.
func lowerASCIIString(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lowerASCII[b[i]]
	}
	return string(b)
}

// buildMatcher picks the cheapest matcher for a pattern.
func buildMatcher(segs []seg, cased bool) valueMatcher {
	lead, trail := false, false
	for len(segs) > 0 && segs[0].k == '*' {
		segs, lead = segs[1:], true
	}
	for len(segs) > 0 && segs[len(segs)-1].k == '*' {
		segs, trail = segs[:len(segs)-1], true
	}
	norm := func(s string) string {
		if cased {
			return s
		}
		return strings.ToLower(s)
	}
	if lit, ok := literalOf(segs); ok {
		// A needle whose every rune has no case variants (emoji, digits, punctuation)
		// folds to itself: the exact, vectorised comparison gives the same answer.
		if !cased && !isASCII(lit) && caseless(lit) {
			cased = true
		}
		m := valueMatcher{cased: cased, s: norm(lit)}
		m.nonASCII = needsNonASCII(lit) || (cased && !isASCII(lit))
		switch {
		case lit == "" && (lead || trail):
			m.op = vAny
		case lead && trail:
			m.op = vContains
		case lead:
			m.op = vSuffix
			m.bare = strings.HasPrefix(lit, `\`) && len(lit) > 1
		case trail:
			m.op = vPrefix
		default:
			m.op = vEq
		}
		return m
	}
	m := valueMatcher{op: vGlob, cased: cased}
	if lead {
		m.glob = append(m.glob, gtok{k: '*'})
	}
	for _, s := range segs {
		if s.k != 'l' {
			m.glob = append(m.glob, gtok{k: s.k})
			continue
		}
		if n := norm(s.s); len(n) > len(m.lit) {
			m.lit = n
		}
		for _, r := range norm(s.s) {
			m.glob = append(m.glob, gtok{k: 'l', r: r})
		}
	}
	if trail {
		m.glob = append(m.glob, gtok{k: '*'})
	}
	m.star = starRuns(m.glob)
	return m
}

// starRuns returns the literal runs of a glob made of literals and '*' only, or nil
// when it has '?', a windash class or U+FFFD (which the rune matcher equates with any
// invalid byte).
func starRuns(g []gtok) []string {
	var runs []string
	var run []rune
	for _, t := range g {
		switch t.k {
		case 'l':
			if t.r == utf8.RuneError {
				return nil
			}
			run = append(run, t.r)
		case '*':
			if len(run) > 0 {
				runs = append(runs, string(run))
				run = run[:0]
			}
		default:
			return nil
		}
	}
	if len(run) > 0 {
		runs = append(runs, string(run))
	}
	return runs
}

// windashSegs turns every dash-like character of literal segments into a windash class,
// which is what "all permutations of -, /, en dash, em dash, horizontal bar" amounts to,
// without enumerating 5^n strings.
func windashSegs(segs []seg) []seg {
	var out []seg
	for _, s := range segs {
		if s.k != 'l' {
			out = append(out, s)
			continue
		}
		start := 0
		for i, r := range s.s {
			if isWinDash(r) {
				if i > start {
					out = append(out, seg{k: 'l', s: s.s[start:i]})
				}
				out = append(out, seg{k: '-'})
				start = i + utf8.RuneLen(r)
			}
		}
		if start < len(s.s) {
			out = append(out, seg{k: 'l', s: s.s[start:]})
		}
	}
	return out
}

// windashVariants are the characters windash substitutes for one another.
var windashVariants = [...]string{"-", "/", "–", "—", "―"}

// maxWindashDashes bounds windashExpand: 5^2 literal values; more dashes use the
// windash glob class instead.
const maxWindashDashes = 2

// windashExpand spells out every windash permutation of a value with few dashes as
// literal values, which the substring automaton can then index; nil when it has none
// or too many.
func windashExpand(segs []seg) [][]seg {
	dashes := 0
	for _, s := range segs {
		if s.k == 'l' {
			for _, r := range s.s {
				if isWinDash(r) {
					dashes++
				}
			}
		}
	}
	if dashes == 0 || dashes > maxWindashDashes {
		return nil
	}
	out := [][]seg{nil}
	for _, s := range segs {
		if s.k != 'l' {
			for i := range out {
				out[i] = append(out[i], s)
			}
			continue
		}
		lits := []string{""}
		for k := 0; k < len(s.s); {
			r, w := utf8.DecodeRuneInString(s.s[k:])
			raw := s.s[k : k+w] // the bytes as written, even when not valid UTF-8
			k += w
			if !isWinDash(r) {
				for i := range lits {
					lits[i] += raw
				}
				continue
			}
			next := make([]string, 0, len(lits)*len(windashVariants))
			for _, l := range lits {
				for _, v := range windashVariants {
					next = append(next, l+v)
				}
			}
			lits = next
		}
		next := make([][]seg, 0, len(out)*len(lits))
		for _, o := range out {
			for _, l := range lits {
				next = append(next, append(append([]seg(nil), o...), seg{k: 'l', s: l}))
			}
		}
		out = next
	}
	return out
}

func encode(enc string, in []string) []string {
	var out []string
	for _, s := range in {
		switch enc {
		case "utf16le", "utf16be", "utf16":
			u := utf16.Encode([]rune(s))
			b := make([]byte, 0, 2*len(u)+2)
			if enc == "utf16" {
				b = append(b, 0xFF, 0xFE)
			}
			for _, c := range u {
				if enc == "utf16be" {
					b = append(b, byte(c>>8), byte(c))
				} else {
					b = append(b, byte(c), byte(c>>8))
				}
			}
			out = append(out, string(b))
		case "base64":
			out = append(out, base64.StdEncoding.EncodeToString([]byte(s)))
		case "base64offset":
			// The value may sit at any of three byte offsets in the encoded text; drop
			// the characters that depend on the unknown neighbouring bytes.
			for shift := 0; shift < 3; shift++ {
				enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), s...))
				start := [3]int{0, 2, 3}[shift]
				end := len(enc) - [3]int{0, 3, 2}[(len(s)+shift)%3]
				if start < end {
					out = append(out, enc[start:end])
				}
			}
		}
	}
	return out
}

const maxExpansions = 1024

// expandPlaceholders replaces %name% with every configured value (cross product when a
// value holds several placeholders); "\%" is a literal percent sign.
func expandPlaceholders(s string, cfg *Config) ([]string, error) {
	outs := []string{""}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '%' {
			for j := range outs {
				outs[j] += "%"
			}
			i++
			continue
		}
		if c == '%' {
			end := strings.IndexByte(s[i+1:], '%')
			if end > 0 {
				name := s[i+1 : i+1+end]
				var vals []string
				if cfg != nil {
					vals = cfg.Placeholders[name]
				}
				if len(vals) == 0 {
					return nil, fmt.Errorf("unknown placeholder %%%s%% (|expand needs it in the config)", name)
				}
				if len(outs)*len(vals) > maxExpansions {
					return nil, fmt.Errorf("placeholders expand to more than %d values", maxExpansions)
				}
				var next []string
				for _, o := range outs {
					for _, v := range vals {
						next = append(next, o+v)
					}
				}
				outs = next
				i += end + 1
				continue
			}
		}
		for j := range outs {
			outs[j] += s[i : i+1]
		}
	}
	return outs, nil
}
