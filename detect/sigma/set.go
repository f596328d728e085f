package sigma

import (
	"fmt"

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
}

// bucket holds rules that share a route; within it, rules that can only match when a
// file-name field (Image, ParentImage, OriginalFileName) has one of a few base names are
// indexed by those names, so an event is only checked against rules it could match.
type bucket struct {
	plain  []int32
	groups []idxGroup
}

type idxGroup struct {
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
		for _, name := range f.FilterRules {
			for _, i := range byKey[name] {
				if !containsRule(s.filters[i], f) {
					s.filters[i] = append(s.filters[i], f)
				}
			}
		}
	}
	for i, r := range s.det {
		for _, b := range s.bucketsFor(&r.route) {
			b.add(int32(i), r)
		}
	}
	return s, refused
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
	start := len(dst)
	switch ev.Kind {
	case source.KindProcessStart:
		dst = s.scan(&s.procStart, ev, dst, start)
	case source.KindProcessEnd:
		dst = s.scan(&s.procEnd, ev, dst, start)
	}
	if b := s.byID[ev.EventID]; b != nil {
		dst = s.scan(b, ev, dst, start)
	}
	dst = s.scan(&s.channel, ev, dst, start)
	dst = s.scan(&s.anyEv, ev, dst, start)
	return dst
}

func (s *Set) scan(b *bucket, ev *source.Event, dst []*Rule, start int) []*Rule {
	for _, i := range b.plain {
		dst = s.try(i, ev, dst, start)
	}
	for g := range b.groups {
		grp := &b.groups[g]
		v, ok := grp.acc.get(ev)
		if !ok || v.isNum {
			continue
		}
		h, ascii := foldHash(baseName(v.s))
		if !ascii {
			for _, i := range grp.all {
				dst = s.try(i, ev, dst, start)
			}
			continue
		}
		for _, i := range grp.byName[h] {
			dst = s.try(i, ev, dst, start)
		}
	}
	return dst
}

func (s *Set) try(i int32, ev *source.Event, dst []*Rule, start int) []*Rule {
	r := s.det[i]
	if !r.route.admits(ev) || !r.det.match(ev) {
		return dst
	}
	for _, f := range s.filters[i] {
		if f.route.admits(ev) && f.det.match(ev) {
			return dst
		}
	}
	for _, x := range dst[start:] {
		if x == r {
			return dst // reached through two index entries
		}
	}
	return append(dst, r)
}

func (b *bucket) add(i int32, r *Rule) {
	reqs := reqCond(r.det, r.det.cond)
	if reqs == nil {
		b.plain = append(b.plain, i)
		return
	}
	for _, q := range reqs {
		var g *idxGroup
		for k := range b.groups {
			if b.groups[k].acc == q.acc {
				g = &b.groups[k]
				break
			}
		}
		if g == nil {
			b.groups = append(b.groups, idxGroup{acc: q.acc, byName: map[uint64][]int32{}})
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

// req says: the rule can only match when baseName(acc(ev)) equals name (folded).
// A list of reqs is a disjunction.
type req struct {
	acc  accessor
	name string
}

func reqCond(d *detection, n *cnode) []req {
	switch n.op {
	case cSel:
		return reqSel(&d.sels[n.sel])
	case cAnd:
		for _, k := range n.kids {
			if r := reqCond(d, k); r != nil {
				return r
			}
		}
	case cAllOf:
		for _, i := range n.sels {
			if r := reqSel(&d.sels[i]); r != nil {
				return r
			}
		}
	case cOr:
		var out []req
		for _, k := range n.kids {
			r := reqCond(d, k)
			if r == nil {
				return nil
			}
			out = append(out, r...)
		}
		return out
	case cOneOf:
		var out []req
		for _, i := range n.sels {
			r := reqSel(&d.sels[i])
			if r == nil {
				return nil
			}
			out = append(out, r...)
		}
		return out
	}
	return nil
}

func reqSel(sel *selection) []req {
	var out []req
	for _, alt := range sel.alts {
		var got []req
		for i := range alt {
			if got = reqField(&alt[i]); got != nil {
				break
			}
		}
		if got == nil {
			return nil
		}
		out = append(out, got...)
	}
	return out
}

// ASCII-only names are indexable: the fold hash covers ASCII case only, and a needle
// with non-ASCII letters could fold-match differently spelt bytes.
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

func reqField(f *fieldMatcher) []req {
	switch f.acc.kind {
	case accImage, accParentImage, accOriginalFileName:
	default:
		return nil
	}
	if f.neq || len(f.vals) == 0 {
		return nil
	}
	if f.all {
		if name, ok := indexName(&f.vals[0]); ok {
			return []req{{acc: f.acc, name: name}}
		}
		return nil
	}
	out := make([]req, 0, len(f.vals))
	for i := range f.vals {
		name, ok := indexName(&f.vals[i])
		if !ok {
			return nil
		}
		out = append(out, req{acc: f.acc, name: name})
	}
	return out
}
