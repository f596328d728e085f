package sigma

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/vigil-soc/vigil/source"
)

// Set is a compiled, indexed collection of rules. It is immutable after NewSet and safe
// for concurrent use.
type Set struct {
	all     []*Rule   // every accepted rule, filters included, in input order
	det     []*Rule   // detection rules; index i is rule number i below
	filters [][]*Rule // filters attached to det[i]

	// Routing: each detection rule lives in exactly one bucket, chosen by its logsource.
	procStart, procEnd, channel, anyEv bucket
	byID                               map[uint32]*bucket

	acs     []*acIndex // every substring index, numbered for scratch.needles
	ngroups int        // base-name groups over all buckets
	// pre holds, per detection rule, further requirements its condition implies beyond
	// the one that made it a candidate, checked against the event's automaton and
	// base-name results before the rule is evaluated.
	pre   [][][]preItem
	slots [][]int32 // per detection rule: valueMatcher.seq -> automaton needle (see hits)
	// fields, per detection rule: the seq of a field matcher's first value -> the
	// automaton reading the same field, whose per-event value cache the rule then reads
	// instead of looking the field up by name again; -1: none.
	fields [][]int32
	pool   sync.Pool // *scratch, so Match allocates nothing in steady state
}

// bucket holds rules that share a route; within it, rules that can only match when a
// file-name field (Image, ParentImage, OriginalFileName) has one of a few base names are
// indexed by those names, so an event is only checked against rules it could match.
type bucket struct {
	plain  []int32
	groups []idxGroup
	subs   []int // indexes into Set.acs: rules that need a substring in a field
}

type idxGroup struct {
	gid    int // number across all buckets, for scratch.gh
	acc    accessor
	byName map[uint64][]int32
	all    []int32 // every rule in the group: the fallback for non-ASCII names
}

// Matches reports whether this rule alone (no filters) matches ev, logsource included.
func (r *Rule) Matches(ev *source.Event) bool {
	return r.det != nil && r.route.admits(ev) && r.det.match(ev)
}

// NewSet compiles rules into an indexed set. It refuses duplicate ids (the later rule),
// rules not produced by ParseRules, and attaches each filter rule to the rules it names
// by id or title.
func NewSet(rules []*Rule) (*Set, []Refused) {
	s := &Set{byID: map[uint32]*bucket{}}
	var refused []Refused
	firstByID := map[string]*Rule{}
	for _, r := range rules {
		if r == nil {
			continue
		}
		if r.det == nil {
			refused = append(refused, Refused{File: r.File, Line: r.Line, ID: r.ID, Title: r.Title, Reason: "rule was not compiled (load it with ParseRules)"})
			continue
		}
		if r.ID != "" {
			if f, dup := firstByID[r.ID]; dup {
				refused = append(refused, Refused{File: r.File, Line: r.Line, ID: r.ID, Title: r.Title,
					Reason: fmt.Sprintf("duplicate id %s (already used by %q at %s:%d)", r.ID, f.Title, f.File, f.Line)})
				continue
			}
			firstByID[r.ID] = r
		}
		s.all = append(s.all, r)
		if !r.IsFilter {
			s.det = append(s.det, r)
		}
	}
	s.filters = make([][]*Rule, len(s.det))
	byKey := map[string][]int{}
	for i, r := range s.det {
		if r.ID != "" {
			byKey[r.ID] = append(byKey[r.ID], i)
		}
		if r.Title != "" && r.Title != r.ID {
			byKey[r.Title] = append(byKey[r.Title], i)
		}
	}
	for _, f := range s.all {
		if !f.IsFilter {
			continue
		}
		attach := func(i int) {
			if logsourceContains(s.det[i].Logsource, f.Logsource) && !containsRule(s.filters[i], f) {
				s.filters[i] = append(s.filters[i], f)
			}
		}
		for _, name := range f.FilterRules {
			if name == FilterAnyRule {
				for i := range s.det {
					attach(i)
				}
				continue
			}
			for _, i := range byKey[name] {
				attach(i)
			}
		}
	}
	s.slots = make([][]int32, len(s.det))
	for i, r := range s.det {
		s.slots[i] = make([]int32, r.det.nvals)
		for k := range s.slots[i] {
			s.slots[i][k] = -1
		}
		for _, b := range s.bucketsFor(&r.route) {
			s.add(b, int32(i), r)
		}
	}
	s.pre = make([][][]preItem, len(s.det))
	for i, r := range s.det {
		if bs := s.bucketsFor(&r.route); len(bs) == 1 {
			s.pre[i] = s.prechecks(bs[0], r)
		}
	}
	for _, a := range s.acs {
		a.build()
	}
	s.fields = make([][]int32, len(s.det))
	for i, r := range s.det {
		s.fields[i] = s.fieldCache(r.det)
	}
	nRules, nAC := len(s.det), len(s.acs)
	needleWords := make([]int, nAC)
	for k, a := range s.acs {
		needleWords[k] = (len(a.rules) + 63) / 64
	}
	s.pool.New = func() any {
		sc := &scratch{rules: make([]uint64, (nRules+63)/64), needles: make([][]uint64, nAC), scanned: make([]bool, nAC), ascii: make([]bool, nAC),
			vals: make([]value, nAC), oks: make([]bool, nAC), vgen: make([]uint64, nAC),
			gh: make([]uint64, s.ngroups), gok: make([]bool, s.ngroups), gin: make([]bool, s.ngroups)}
		for k := range sc.needles {
			sc.needles[k] = make([]uint64, needleWords[k])
		}
		return sc
	}
	return s, refused
}

// FilterAnyRule is the filter "rules" value that applies a filter to every rule.
const FilterAnyRule = "any"

// logsourceContains reports whether a filter with logsource f applies to a rule with
// logsource r: every field the filter sets, the rule sets to the same value.
func logsourceContains(r, f Logsource) bool {
	eq := func(rv, fv string) bool { return fv == "" || strings.EqualFold(rv, fv) }
	return eq(r.Category, f.Category) && eq(r.Product, f.Product) && eq(r.Service, f.Service)
}

func containsRule(rs []*Rule, r *Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func (s *Set) bucketsFor(rt *route) []*bucket {
	switch {
	case rt.any:
		return []*bucket{&s.anyEv}
	case rt.kind == source.KindProcessStart:
		return []*bucket{&s.procStart}
	case rt.kind == source.KindProcessEnd:
		return []*bucket{&s.procEnd}
	case len(rt.ids) > 0:
		// An event has one ID, so a rule listed under several IDs is still checked once.
		var out []*bucket
		for _, id := range rt.ids {
			b := s.byID[id]
			if b == nil {
				b = &bucket{}
				s.byID[id] = b
			}
			out = append(out, b)
		}
		return out
	default:
		return []*bucket{&s.channel}
	}
}

// Rules returns every rule in the set (detection and filter rules), in load order.
// The slice is shared: do not modify it.
func (s *Set) Rules() []*Rule { return s.all }

// Match appends to dst every detection rule that matches ev and none of whose filters
// matches, and returns it. It allocates nothing when dst has the capacity.
func (s *Set) Match(ev *source.Event, dst []*Rule) []*Rule {
	sc := s.pool.Get().(*scratch)
	clear(sc.rules)
	for _, k := range sc.touched {
		clear(sc.needles[k])
		sc.scanned[k] = false
	}
	sc.touched = sc.touched[:0]
	sc.gen++ // invalidates the previous event's cached field values
	start := len(dst)
	switch ev.Kind {
	case source.KindProcessStart:
		dst = s.scan(&s.procStart, ev, dst, start, sc)
	case source.KindProcessEnd:
		dst = s.scan(&s.procEnd, ev, dst, start, sc)
	}
	if b := s.byID[ev.EventID]; b != nil {
		dst = s.scan(b, ev, dst, start, sc)
	}
	dst = s.scan(&s.channel, ev, dst, start, sc)
	dst = s.scan(&s.anyEv, ev, dst, start, sc)
	s.pool.Put(sc)
	return dst
}

func (s *Set) scan(b *bucket, ev *source.Event, dst []*Rule, start int, sc *scratch) []*Rule {
	// Run every automaton first, so rules evaluated below can read its results.
	for _, k := range b.subs {
		s.runAC(k, ev, sc)
	}
	s.hashNames(b, ev, sc)
	for _, i := range b.plain {
		dst = s.try(i, ev, dst, start, sc)
	}
	for _, k := range b.subs {
		dst = s.trySub(k, ev, dst, start, sc)
	}
	for g := range b.groups {
		grp := &b.groups[g]
		if !sc.gin[grp.gid] {
			continue
		}
		if !sc.gok[grp.gid] {
			for _, i := range grp.all {
				dst = s.try(i, ev, dst, start, sc)
			}
			continue
		}
		for _, i := range grp.byName[sc.gh[grp.gid]] {
			dst = s.try(i, ev, dst, start, sc)
		}
	}
	return dst
}

// hashNames computes each base-name group's folded hash for the event (gok false: the
// field is absent, a number, or not ASCII, which the hash cannot represent).
func (s *Set) hashNames(b *bucket, ev *source.Event, sc *scratch) {
	for g := range b.groups {
		grp := &b.groups[g]
		v, ok := grp.acc.get(ev)
		sc.gok[grp.gid] = false
		sc.gin[grp.gid] = ok && !v.isNum
		if ok && !v.isNum {
			sc.gh[grp.gid], sc.gok[grp.gid] = foldHash(baseName(v.s))
		}
	}
}

// runAC runs substring index k over its field, recording the needles found and whether
// the value is all ASCII.
func (s *Set) runAC(k int, ev *source.Event, sc *scratch) {
	a := s.acs[k]
	v, ok := a.acc.get(ev)
	sc.vals[k], sc.oks[k], sc.vgen[k] = v, ok, sc.gen
	if !ok || v.isNum {
		return // not scanned: trySub falls back, hits.contains scans itself
	}
	sc.scanned[k] = true
	sc.touched = append(sc.touched, k)
	sc.ascii[k] = a.scan(v.s, sc.needles[k])
}

// trySub tries the rules of substring index k whose needles occur in the value.
func (s *Set) trySub(k int, ev *source.Event, dst []*Rule, start int, sc *scratch) []*Rule {
	a := s.acs[k]
	if !sc.scanned[k] {
		if !sc.oks[k] { // runAC(k) read the field for this event just before
			return dst // every rule here needs the field
		}
		// A number: the automaton does not read those, so check all.
		for _, i := range a.all {
			dst = s.try(i, ev, dst, start, sc)
		}
		return dst
	}
	if !sc.ascii[k] {
		for _, i := range a.nonASCII {
			dst = s.try(i, ev, dst, start, sc)
		}
	}
	for w, x := range sc.needles[k] {
		for x != 0 {
			id := w<<6 | bits.TrailingZeros64(x)
			x &= x - 1
			for _, i := range a.rules[id] {
				dst = s.try(i, ev, dst, start, sc)
			}
		}
	}
	return dst
}

func (s *Set) try(i int32, ev *source.Event, dst []*Rule, start int, sc *scratch) []*Rule {
	if !sc.firstRule(i) {
		return dst
	}
	for _, list := range s.pre[i] {
		if !sc.anyPre(list) {
			return dst
		}
	}
	r := s.det[i]
	hx := hits{sc: sc, slots: s.slots[i], fields: s.fields[i]}
	if !r.route.admits(ev) || !r.det.eval(r.det.cond, ev, &hx) {
		return dst
	}
	// A filter's condition is ANDed into the rule's (filters spec v2.1.0, as pySigma
	// applies it): "condition: not selection" drops the events its selection matches.
	for _, f := range s.filters[i] {
		if !f.det.match(ev) {
			return dst
		}
	}
	return append(dst, r)
}

// fieldCache maps each field matcher of d (by its first value's seq) to an automaton
// reading the same field, or -1.
func (s *Set) fieldCache(d *detection) []int32 {
	out := make([]int32, d.nvals)
	for k := range out {
		out[k] = -1
	}
	for si := range d.sels {
		for _, alt := range d.sels[si].alts {
			for fi := range alt {
				f := &alt[fi]
				if f.acc.kind == accKeywords || len(f.vals) == 0 {
					continue
				}
				for k, a := range s.acs {
					if a.acc == f.acc {
						out[f.vals[0].seq] = int32(k)
						break
					}
				}
			}
		}
	}
	return out
}

// acFor returns bucket b's substring index for acc, creating it.
func (s *Set) acFor(b *bucket, acc accessor) (int, *acIndex) {
	for _, k := range b.subs {
		if s.acs[k].acc == acc {
			return k, s.acs[k]
		}
	}
	a := newACIndex(acc)
	b.subs = append(b.subs, len(s.acs))
	s.acs = append(s.acs, a)
	return len(s.acs) - 1, a
}

func (s *Set) add(b *bucket, i int32, r *Rule) {
	// Every case-insensitive ASCII contains needle joins its field's automaton, so the
	// rule reads the answer from the event's one pass instead of scanning again.
	for si := range r.det.sels {
		for _, alt := range r.det.sels[si].alts {
			for fi := range alt {
				f := &alt[fi]
				if f.acc.kind == accKeywords {
					continue
				}
				for vi := range f.vals {
					m := &f.vals[vi]
					needle := m.s
					if !m.asciiContains {
						// A glob's or regex's required literal: the pass can rule it out.
						needle = ""
						if (m.op == vGlob || m.op == vRegex) && isASCII(m.lit) {
							needle = m.lit
						}
					}
					if needle == "" {
						continue
					}
					k, a := s.acFor(b, f.acc)
					if id := a.addNeedle(needle); k < 1<<(31-slotBits) && id < 1<<slotBits {
						s.slots[i][m.seq] = int32(k)<<slotBits | id
					}
				}
			}
		}
	}
	reqs, _ := reqCond(r.det, r.det.cond)
	if reqs == nil {
		b.plain = append(b.plain, i)
		return
	}
	for _, q := range reqs {
		if q.sub {
			_, a := s.acFor(b, q.acc)
			if q.nonASCII {
				a.addNonASCII(i)
			} else {
				a.add(q.name, i)
			}
			continue
		}
		var g *idxGroup
		for k := range b.groups {
			if b.groups[k].acc == q.acc {
				g = &b.groups[k]
				break
			}
		}
		if g == nil {
			b.groups = append(b.groups, idxGroup{gid: s.ngroups, acc: q.acc, byName: map[uint64][]int32{}})
			s.ngroups++
			g = &b.groups[len(b.groups)-1]
		}
		if len(g.all) == 0 || g.all[len(g.all)-1] != i {
			g.all = append(g.all, i)
		}
		h, _ := foldHash(q.name)
		if l := g.byName[h]; len(l) == 0 || l[len(l)-1] != i {
			g.byName[h] = append(l, i)
		}
	}
}

// req says what an event must have for a rule to possibly match: the base name of a
// file-name field equals name (folded), or (sub) the field contains name (ASCII-folded).
// A list of reqs is a disjunction; any one of them makes the rule a candidate.
type req struct {
	acc  accessor
	name string
	sub  bool
	// nonASCII (with sub): the value must hold a non-ASCII byte (homoglyph lists).
	nonASCII bool
}

// Scores rank how selective a requirement list is (the weakest member counts): an
// exact base name beats any substring, and longer substrings beat shorter ones.
const scoreBaseName = 1000

func score(rs []req) int {
	best := scoreBaseName
	for _, r := range rs {
		if r.sub && !r.nonASCII && len(r.name) < best {
			best = len(r.name)
		}
	}
	// Between equals, fewer alternatives are more selective ('\msdt.exe' beats a list
	// of eleven parent names).
	return best<<12 - min(len(rs), 1<<12-1)
}

// reqCond derives a requirement list for a condition, or nil when it has none
// (negations, keyword searches, regexes, ...).
func reqCond(d *detection, n *cnode) ([]req, int) {
	pickAnd := func(cands [][]req) ([]req, int) {
		var best []req
		bs := -1
		for _, c := range cands {
			if c == nil {
				continue
			}
			if sc := score(c); sc > bs {
				best, bs = c, sc
			}
		}
		return best, bs
	}
	union := func(cands [][]req) ([]req, int) {
		var out []req
		for _, c := range cands {
			if c == nil {
				return nil, 0
			}
			out = append(out, c...)
		}
		return out, score(out)
	}
	var cands [][]req
	switch n.op {
	case cSel:
		r := reqSel(&d.sels[n.sel])
		return r, score(r)
	case cAnd, cOr:
		for _, k := range n.kids {
			r, _ := reqCond(d, k)
			cands = append(cands, r)
		}
	case cAllOf, cOneOf:
		for _, i := range n.sels {
			cands = append(cands, reqSel(&d.sels[i]))
		}
	default:
		return nil, 0
	}
	if n.op == cAnd || n.op == cAllOf {
		return pickAnd(cands)
	}
	return union(cands)
}

func reqSel(sel *selection) []req {
	var out []req
	for _, alt := range sel.alts {
		var best []req
		bs := -1
		for i := range alt {
			if r := reqField(&alt[i]); r != nil {
				if sc := score(r); sc > bs {
					best, bs = r, sc
				}
			}
		}
		if best == nil {
			return nil
		}
		out = append(out, best...)
	}
	return out
}

// indexName is the base name an equality or backslash-suffix needle requires.
// ASCII-only names are indexable: the fold hash covers ASCII case only.
func indexName(m *valueMatcher) (string, bool) {
	if m.op != vEq && !(m.op == vSuffix && len(m.s) > 1 && m.s[0] == '\\') {
		return "", false
	}
	name := baseName(m.s)
	if name == "" {
		return "", false
	}
	if _, ok := foldHash(name); !ok {
		return "", false
	}
	return name, true
}

// subName is the substring a literal matcher requires of the value, if it is ASCII.
func subName(m *valueMatcher) (string, bool) {
	n := m.s
	switch m.op {
	case vEq, vPrefix, vSuffix, vContains:
	case vGlob, vRegex:
		n = m.lit
	default:
		return "", false
	}
	if m.bare {
		n = n[1:] // the bare file name matches without the backslash
	}
	if n == "" || !isASCII(n) {
		return "", false
	}
	return n, true
}

func reqField(f *fieldMatcher) []req {
	if f.acc.kind == accKeywords || f.neq || len(f.vals) == 0 {
		return nil
	}
	fileName := f.acc.kind == accImage || f.acc.kind == accParentImage || f.acc.kind == accOriginalFileName
	if f.all {
		// Every value must match: the most selective single value is a requirement.
		var best []req
		bs := -1
		for i := range f.vals {
			var r []req
			if name, ok := indexName(&f.vals[i]); ok && fileName {
				r = []req{{acc: f.acc, name: name}}
			} else {
				r = subReqs(f.acc, &f.vals[i])
			}
			if r != nil && score(r) > bs {
				best, bs = r, score(r)
			}
		}
		return best
	}
	if fileName {
		out := make([]req, 0, len(f.vals))
		for i := range f.vals {
			name, ok := indexName(&f.vals[i])
			if !ok {
				out = nil
				break
			}
			out = append(out, req{acc: f.acc, name: name})
		}
		if out != nil {
			return out
		}
	}
	out := make([]req, 0, len(f.vals))
	for i := range f.vals {
		qs := subReqs(f.acc, &f.vals[i])
		if qs == nil {
			return nil
		}
		out = append(out, qs...)
	}
	return out
}

// subReqs is what one value requires of the field value, as alternatives: a substring,
// one of a regex's alternative literals, or for a value only a non-ASCII field value
// can match, that. nil when nothing is required.
func subReqs(acc accessor, m *valueMatcher) []req {
	if name, ok := subName(m); ok {
		return []req{{acc: acc, name: name, sub: true}}
	}
	if m.op == vRegex {
		best := bestNeed(m.needs)
		out := make([]req, 0, len(best))
		for _, n := range best {
			if n == "" || !isASCII(n) {
				return nil
			}
			out = append(out, req{acc: acc, name: n, sub: true})
		}
		if len(out) > 0 {
			return out
		}
	}
	if m.nonASCII {
		return []req{{acc: acc, sub: true, nonASCII: true}}
	}
	return nil
}

// preItem is one alternative of a precheck list: a needle (or, id -1, any non-ASCII
// byte) in automaton k's field, or (name) a base name of group k's field.
type preItem struct {
	k    int32
	id   int32
	h    uint64
	name bool
}

// maxPre bounds the precheck lists kept per rule.
const maxPre = 4

// prechecks turns the requirements a rule's condition implies, other than its trigger,
// into lists the event's automaton and base-name results answer; requirements on fields
// bucket b has no automaton or group for are left out (they only save time).
func (s *Set) prechecks(b *bucket, r *Rule) [][]preItem {
	trigger, _ := reqCond(r.det, r.det.cond)
	var out [][]preItem
	for _, list := range necessary(r.det, r.det.cond) {
		if slices.Equal(list, trigger) {
			continue
		}
		if items := s.preItems(b, list); items != nil {
			out = append(out, items)
			if len(out) == maxPre {
				break
			}
		}
	}
	return out
}

func (s *Set) preItems(b *bucket, list []req) []preItem {
	items := make([]preItem, 0, len(list))
	for _, q := range list {
		if !q.sub {
			g := slices.IndexFunc(b.groups, func(g idxGroup) bool { return g.acc == q.acc })
			h, ok := foldHash(q.name)
			if g < 0 || !ok {
				return nil
			}
			items = append(items, preItem{k: int32(b.groups[g].gid), h: h, name: true})
			continue
		}
		k := slices.IndexFunc(b.subs, func(k int) bool { return s.acs[k].acc == q.acc })
		if k < 0 {
			return nil
		}
		k = b.subs[k]
		id := int32(-1)
		if !q.nonASCII {
			id = s.acs[k].addNeedle(q.name)
		}
		items = append(items, preItem{k: int32(k), id: id})
	}
	return items
}

// necessary lists requirement lists that must all hold for condition n to match: each
// field of a single-alternative selection, every operand of an AND, and the combined
// list of an OR.
func necessary(d *detection, n *cnode) [][]req {
	var out [][]req
	switch n.op {
	case cSel:
		return necessarySel(&d.sels[n.sel])
	case cAnd:
		for _, k := range n.kids {
			out = append(out, necessary(d, k)...)
		}
	case cAllOf:
		for _, i := range n.sels {
			out = append(out, necessarySel(&d.sels[i])...)
		}
	case cOr, cOneOf:
		if r, _ := reqCond(d, n); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func necessarySel(sel *selection) [][]req {
	if len(sel.alts) != 1 {
		if r := reqSel(sel); r != nil {
			return [][]req{r}
		}
		return nil
	}
	var out [][]req
	for i := range sel.alts[0] {
		if r := reqField(&sel.alts[0][i]); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// anyPre reports whether the event may meet one of the list's alternatives: unknowns
// (a field the pass did not read, a name the hash cannot hold) count as met.
func (sc *scratch) anyPre(list []preItem) bool {
	for _, it := range list {
		if it.name {
			if !sc.gok[it.k] || sc.gh[it.k] == it.h {
				return true
			}
			continue
		}
		if !sc.scanned[it.k] {
			return true
		}
		if it.id < 0 {
			if !sc.ascii[it.k] {
				return true
			}
			continue
		}
		if sc.needles[it.k][it.id>>6]&(1<<(uint(it.id)&63)) != 0 {
			return true
		}
	}
	return false
}
