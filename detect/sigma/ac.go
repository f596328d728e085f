package sigma

import (
	"unicode"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// acIndex finds which of many case-insensitive ASCII needles occur in a field value in
// one pass (Aho-Corasick over ASCII-lower-cased bytes, as a dense automaton on the
// needles' byte classes). Set uses it to pick the few rules whose required substrings
// occur in an event's command line instead of evaluating all of them.
type acIndex struct {
	acc       accessor
	classes   [256]uint16 // lower-cased byte -> class; 0 = a byte no needle has
	cls       [256]uint16 // raw byte -> class of its ASCII lower case (0 for non-ASCII bytes)
	nclass    int
	row       []int32  // while building: state -> its dense row, or -1 for a sparse (deep) state
	ndense    int32    // states below this (the shallow ones, after renumber) are dense
	denseEnd  int32    // ndense*nclass: state codes below it are dense row offsets
	delta     []int32  // dense row offset + class -> next state code (with outFlag)
	fail      []int32  // state -> failure state (a state code after renumber)
	edgeStart []int32  // while building: edges of state st: edgeStart[st] .. edgeStart[st+1]
	edgeClass []uint16 // while building: edge's byte class
	edgeNext  []int32  // while building: edge's target
	// sp, edges: what the scan reads of sparse state code denseEnd+j: sp[j] (its failure
	// state code and first edge; sp[j+1].start ends its edges), packed so that one step
	// touches two cache lines, not four.
	sp       []acSparse
	edges    []acEdge
	dict     []int32   // while building: state -> nearest state on its failure chain (itself included) ending a needle; -1: none
	dictNext []int32   // while building: state -> the next such state further along the chain
	outs     [][]int32 // while building: state -> needles ending exactly here
	// outStart, outList: every needle ending at state i or along its failure chain is
	// outList[outStart[i]:outStart[i+1]], one contiguous run instead of a chain walk
	// (about one byte in seven of a command line reaches an output state).
	outStart []int32
	outList  []int32
	rules    [][]int32 // needle -> rules requiring it
	all      []int32   // every rule of the index, for values the automaton cannot read
	nonASCII []int32   // rules that can only match a value holding a non-ASCII byte
	needles  map[string]int32
	maxLen   int // the longest needle's length in bytes
}

func newACIndex(acc accessor) *acIndex {
	return &acIndex{acc: acc, needles: map[string]int32{}}
}

// addNeedle records a needle (ASCII) and returns its id.
func (a *acIndex) addNeedle(needle string) int32 {
	b := []byte(needle)
	for k := range b {
		b[k] = lowerASCII[b[k]]
	}
	id, ok := a.needles[string(b)]
	if !ok {
		id = int32(len(a.rules))
		a.needles[string(b)] = id
		a.rules = append(a.rules, nil)
	}
	return id
}

// add records that rule i can only match when needle (ASCII) occurs in the value.
func (a *acIndex) add(needle string, i int32) {
	id := a.addNeedle(needle)
	if l := a.rules[id]; len(l) == 0 || l[len(l)-1] != i {
		a.rules[id] = append(l, i)
	}
	if len(a.all) == 0 || a.all[len(a.all)-1] != i {
		a.all = append(a.all, i)
	}
}

// addNonASCII records that rule i can only match when the value holds a non-ASCII byte.
func (a *acIndex) addNonASCII(i int32) {
	if l := a.nonASCII; len(l) == 0 || l[len(l)-1] != i {
		a.nonASCII = append(l, i)
	}
	if len(a.all) == 0 || a.all[len(a.all)-1] != i {
		a.all = append(a.all, i)
	}
}

// denseDepth: states up to this depth get a full transition row (they are few and hot);
// deeper states, nearly all with a single child, keep sparse edges and a failure link.
const denseDepth = 3

// build compiles the automaton once every needle is added.
func (a *acIndex) build() {
	a.nclass = 1
	for n := range a.needles {
		for k := 0; k < len(n); k++ {
			if a.classes[n[k]] == 0 {
				a.classes[n[k]] = uint16(a.nclass)
				a.nclass++
			}
		}
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		a.cls[c] = a.classes[lowerASCII[c]]
	}
	type edge struct {
		st    int32
		class uint16
	}
	trie := map[edge]int32{}
	depth := []int32{0}
	outs := [][]int32{nil}
	for n, id := range a.needles {
		st := int32(0)
		for k := 0; k < len(n); k++ {
			e := edge{st, a.classes[n[k]]}
			nx, ok := trie[e]
			if !ok {
				nx = int32(len(depth))
				trie[e] = nx
				depth = append(depth, depth[st]+1)
				outs = append(outs, nil)
			}
			st = nx
		}
		outs[st] = append(outs[st], id)
	}
	nstates := len(depth)
	nc := a.nclass
	// Children lists, sorted by class, for every state (used to build, kept for deep ones).
	children := make([][]edge, nstates) // edge.st holds the child state here
	for e, nx := range trie {
		children[e.st] = append(children[e.st], edge{nx, e.class})
	}
	a.row = make([]int32, nstates)
	ndense := 0
	for st := range depth {
		if depth[st] <= denseDepth {
			a.row[st] = int32(ndense)
			ndense++
		} else {
			a.row[st] = -1
		}
	}
	a.delta = make([]int32, ndense*nc)
	a.fail = make([]int32, nstates)
	a.edgeStart = make([]int32, nstates+1)
	a.dict = make([]int32, nstates)
	a.dictNext = make([]int32, nstates)
	child := func(st int32, c uint16) int32 {
		for _, e := range children[st] {
			if e.class == c {
				return e.st
			}
		}
		return -1
	}
	// BFS over the trie: failure links, then dense rows completed through them.
	queue := make([]int32, 0, nstates)
	queue = append(queue, 0)
	for q := 0; q < len(queue); q++ {
		st := queue[q]
		for _, e := range children[st] {
			queue = append(queue, e.st)
			if st == 0 {
				a.fail[e.st] = 0
				continue
			}
			f := a.fail[st]
			for {
				if nx := child(f, e.class); nx >= 0 {
					a.fail[e.st] = nx
					break
				}
				if f == 0 {
					a.fail[e.st] = 0
					break
				}
				f = a.fail[f]
			}
		}
	}
	for _, st := range queue {
		if r := a.row[st]; r >= 0 {
			for c := 0; c < nc; c++ {
				nx := child(st, uint16(c))
				if nx < 0 {
					if st == 0 {
						nx = 0
					} else {
						nx = a.delta[int(a.row[a.fail[st]])*nc+c] // failure states are shallower: done
					}
				}
				a.delta[int(r)*nc+c] = nx
			}
		}
	}
	for st := 0; st < nstates; st++ {
		a.edgeStart[st+1] = a.edgeStart[st] + int32(len(children[st]))
		for _, e := range children[st] {
			a.edgeClass = append(a.edgeClass, e.class)
			a.edgeNext = append(a.edgeNext, e.st)
		}
	}
	a.dict[0], a.dictNext[0] = -1, -1
	for _, st := range queue[1:] {
		f := a.fail[st]
		a.dictNext[st] = a.dict[f]
		if len(outs[st]) > 0 {
			a.dict[st] = st
		} else {
			a.dict[st] = a.dict[f]
		}
	}
	a.outs = outs
	for n := range a.needles {
		a.maxLen = max(a.maxLen, len(n))
	}
	a.needles = nil
	a.renumber(a.layout(queue))
}

// layout orders the states for renumber: the dense ones breadth-first (so they come
// first), then the sparse ones depth-first, so a needle's tail of single-child states
// lies in consecutive entries of the sparse tables and its steps share cache lines.
func (a *acIndex) layout(bfs []int32) []int32 {
	order := make([]int32, 0, len(bfs))
	var stack []int32
	for _, st := range bfs {
		if a.row[st] < 0 {
			continue
		}
		order = append(order, st)
		// Sparse children of dense states root the depth-first runs (pushed in
		// reverse, so each state's first child follows it directly).
		for e := a.edgeStart[st+1] - 1; e >= a.edgeStart[st]; e-- {
			if nx := a.edgeNext[e]; a.row[nx] < 0 {
				stack = append(stack, nx)
			}
		}
	}
	var sparse []int32
	for len(stack) > 0 {
		st := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sparse = append(sparse, st)
		for e := a.edgeStart[st+1] - 1; e >= a.edgeStart[st]; e-- {
			stack = append(stack, a.edgeNext[e])
		}
	}
	return append(order, sparse...)
}

// splitMin is the shortest value scanSplit reads as two interleaved halves.
const splitMin = 256

// scanSplit scans an all-ASCII str as two halves in one loop: the scan is bound by
// the latency of each step's table load, and two independent state chains overlap
// their loads. The second half starts maxLen-1 bytes early, so every occurrence
// ending in it lies wholly inside it (ASCII bytes are needle bytes one to one). It
// returns false at the first non-ASCII byte, where a needle may span more bytes than
// its length; the caller then scans the whole value in order (the bits set so far
// are real occurrences, so they may stay).
func (a *acIndex) scanSplit(str string, seen []uint64) bool {
	mid := len(str) / 2
	s1, s2 := str[:mid], str[mid-max(a.maxLen-1, 0):]
	cls := &a.cls
	delta, denseEnd := a.delta, a.denseEnd
	st1, st2 := int32(0), int32(0)
	for i := 0; i < len(s1); i++ {
		c1, c2 := s1[i], s2[i]
		if (c1 | c2) >= utf8.RuneSelf {
			return false
		}
		cl1, cl2 := cls[c1], cls[c2]
		if s := st1 & stateMask; cl1 == 0 {
			st1 = 0
		} else if s < denseEnd {
			st1 = delta[s+int32(cl1)]
		} else {
			st1 = a.sparseStep(s, cl1)
		}
		if s := st2 & stateMask; cl2 == 0 {
			st2 = 0
		} else if s < denseEnd {
			st2 = delta[s+int32(cl2)]
		} else {
			st2 = a.sparseStep(s, cl2)
		}
		if (st1|st2)&outFlag != 0 {
			if st1&outFlag != 0 {
				a.emit(st1&stateMask, seen)
			}
			if st2&outFlag != 0 {
				a.emit(st2&stateMask, seen)
			}
		}
	}
	for i := len(s1); i < len(s2); i++ {
		c := s2[i]
		if c >= utf8.RuneSelf {
			return false
		}
		cl := cls[c]
		if s := st2 & stateMask; cl == 0 {
			st2 = 0
		} else if s < denseEnd {
			st2 = delta[s+int32(cl)]
		} else {
			st2 = a.sparseStep(s, cl)
		}
		if st2&outFlag != 0 {
			a.emit(st2&stateMask, seen)
		}
	}
	return true
}

// sparseStep moves from sparse state code s on class cl (not 0), following failure
// links until a state has the edge or a dense row answers.
func (a *acIndex) sparseStep(s int32, cl uint16) int32 {
	for s >= a.denseEnd {
		j := s - a.denseEnd
		e, end := a.sp[j].start, a.sp[j+1].start
		for e < end && a.edges[e].class != cl {
			e++
		}
		if e < end {
			return a.edges[e].next
		}
		s = a.sp[j].fail
	}
	return a.delta[s+int32(cl)]
}

// emit sets the bits of the needles found on reaching state code s (unflagged).
func (a *acIndex) emit(s int32, seen []uint64) {
	i := s - a.denseEnd + a.ndense
	if s < a.denseEnd {
		i = a.delta[s] // the class-0 slot: see renumber
	}
	for _, id := range a.outList[a.outStart[i]:a.outStart[i+1]] {
		seen[id>>6] |= 1 << (uint(id) & 63)
	}
}

// acSparse is a sparse state's entry in acIndex.sp.
type acSparse struct {
	start int32 // first edge in acIndex.edges
	fail  int32 // failure state code
}

// acEdge is one transition of a sparse state.
type acEdge struct {
	next  int32 // target state code, with outFlag
	class uint16
}

// outFlag marks a transition into a state on whose failure chain some needle ends, so
// the scan looks at the output tables only then.
const (
	outFlag   = 1 << 30
	stateMask = outFlag - 1
)

// renumber gives states the order layout chose, so the dense (shallow) states are
// exactly 0..ndense-1 and delta is indexed by the state itself, and flags every
// transition target that has outputs.
func (a *acIndex) renumber(queue []int32) {
	n := len(queue)
	id := make([]int32, n)
	for i, st := range queue {
		id[st] = int32(i)
	}
	nc := a.nclass
	ndense := 0
	for _, st := range queue {
		if a.row[st] >= 0 {
			ndense++
		}
	}
	// A transition holds the target's code: a dense state's row offset in delta (so the
	// scan adds the class without a multiply), or past denseEnd, a sparse state.
	denseEnd := int32(ndense * nc)
	code := func(st int32) int32 {
		if i := id[st]; i < int32(ndense) {
			return i * int32(nc)
		}
		return denseEnd + id[st] - int32(ndense)
	}
	flagged := func(st int32) int32 {
		if a.dict[st] >= 0 {
			return code(st) | outFlag
		}
		return code(st)
	}
	delta := make([]int32, ndense*nc)
	fail := make([]int32, n)
	edgeStart := make([]int32, n+1)
	edgeClass := make([]uint16, 0, len(a.edgeClass))
	edgeNext := make([]int32, 0, len(a.edgeNext))
	dict := make([]int32, n)
	dictNext := make([]int32, n)
	outs := make([][]int32, n)
	re := func(st int32) int32 {
		if st < 0 {
			return -1
		}
		return id[st]
	}
	for i, st := range queue {
		if r := a.row[st]; r >= 0 {
			// Class 0 never indexes a row (the scan resets on it), so its slot holds the
			// state's number: reading outputs needs no division back to i.
			delta[i*nc] = int32(i)
			for c := 1; c < nc; c++ {
				delta[i*nc+c] = flagged(a.delta[int(r)*nc+c])
			}
		}
		fail[i] = code(a.fail[st])
		for e := a.edgeStart[st]; e < a.edgeStart[st+1]; e++ {
			edgeClass = append(edgeClass, a.edgeClass[e])
			edgeNext = append(edgeNext, flagged(a.edgeNext[e]))
		}
		edgeStart[i+1] = int32(len(edgeClass))
		dict[i] = re(a.dict[st])
		dictNext[i] = re(a.dictNext[st])
		outs[i] = a.outs[st]
	}
	a.ndense, a.denseEnd = int32(ndense), denseEnd
	a.row = nil
	a.delta = delta
	a.sp = make([]acSparse, n-ndense+1)
	for j := range n - ndense {
		a.sp[j] = acSparse{start: edgeStart[ndense+j], fail: fail[ndense+j]}
	}
	a.sp[n-ndense].start = edgeStart[n]
	a.edges = make([]acEdge, len(edgeClass))
	for e := range a.edges {
		a.edges[e] = acEdge{next: edgeNext[e], class: edgeClass[e]}
	}
	a.fail, a.edgeStart, a.edgeClass, a.edgeNext = nil, nil, nil, nil
	a.outStart = make([]int32, n+1)
	for i := range n {
		for d := dict[i]; d >= 0; d = dictNext[d] {
			a.outList = append(a.outList, outs[d]...)
		}
		a.outStart[i+1] = int32(len(a.outList))
	}
	a.dict, a.dictNext, a.outs = nil, nil, nil
}

// scan runs the automaton over str, setting the bit of every needle found in seen, and
// reports whether str is all ASCII. Non-ASCII runes are read as the ASCII letter they
// fold to (Kelvin sign, long s) or as a byte no needle has, which is exactly how
// containsFold compares an ASCII needle. The tables are held in locals: the stores to
// seen could otherwise alias a's fields and force reloads on every byte.
func (a *acIndex) scan(str string, seen []uint64) (ascii bool) {
	if len(str) >= splitMin && len(str) >= 4*a.maxLen && a.scanSplit(str, seen) {
		return true
	}
	return a.scanSeq(str, seen)
}

// scanSeq is scan reading str in order, for any value.
func (a *acIndex) scanSeq(str string, seen []uint64) (ascii bool) {
	cls := &a.cls
	delta, denseEnd, ndense, sp, edges := a.delta, a.denseEnd, a.ndense, a.sp, a.edges
	outStart, outList := a.outStart, a.outList
	st := int32(0)
	ascii = true
	for p := 0; p < len(str); {
		c := str[p]
		var cl uint16
		if c < utf8.RuneSelf {
			cl = cls[c]
			p++
		} else {
			ascii = false
			r, w := utf8.DecodeRuneInString(str[p:])
			p += w
			if f := asciiFold(r); f != 0 {
				cl = cls[f]
			}
		}
		if cl == 0 {
			st = 0 // no needle holds this byte: every match attempt restarts
			continue
		}
		// Step from state code s on class cl: a dense row holds every transition; a
		// sparse state tries its edges, else follows its failure link.
		s := st & stateMask
		for {
			if s < denseEnd {
				st = delta[s+int32(cl)]
				break
			}
			j := s - denseEnd
			e, end := sp[j].start, sp[j+1].start
			for e < end && edges[e].class != cl {
				e++
			}
			if e < end {
				st = edges[e].next
				break
			}
			s = sp[j].fail
		}
		if st&outFlag == 0 {
			continue
		}
		s = st & stateMask
		i := s - denseEnd + ndense
		if s < denseEnd {
			i = delta[s] // the class-0 slot: see renumber
		}
		for _, id := range outList[outStart[i]:outStart[i+1]] {
			seen[id>>6] |= 1 << (uint(id) & 63)
		}
	}
	return ascii
}

// scratch is per-Match state: which needles and rules this event already triggered.
type scratch struct {
	rules   []uint64
	needles [][]uint64 // per acIndex: needles found in this event's value
	scanned []bool     // per acIndex: the automaton ran over the value (a string)
	ascii   []bool     // per acIndex: the scanned value holds only ASCII bytes
	touched []int      // acIndexes whose needle bits are set, for clearing
	// vals, oks: per acIndex, its field's value in the event, valid when vgen == gen
	// (gen counts Match calls, so nothing needs clearing between events).
	vals []value
	oks  []bool
	vgen []uint64
	gen  uint64
	gh   []uint64 // per base-name group: the event's folded base-name hash
	gok  []bool   // per group: gh is valid (field present, a string, ASCII)
	gin  []bool   // per group: the field is present and a string
}

func (sc *scratch) firstRule(i int32) bool {
	w, b := i>>6, uint64(1)<<(uint(i)&63)
	if sc.rules[w]&b != 0 {
		return false
	}
	sc.rules[w] |= b
	return true
}

// hits lets a rule evaluated by Set.Match answer "does the value contain needle" from
// the automaton pass already made over the value, instead of scanning it again.
type hits struct {
	sc     *scratch
	slots  []int32 // valueMatcher.seq -> acIndex<<slotBits | needle, or -1
	fields []int32 // first valueMatcher.seq of a field matcher -> acIndex reading that field, or -1
}

// get returns f's field value, from the automaton pass's cache when it read the field
// for this event (the same accessor, so the same answer), else by reading the event.
func (hx *hits) get(f *fieldMatcher, ev *source.Event) (value, bool) {
	// A set canonical struct field is cheaper to read than the cache's scattered
	// per-rule table; only lookups by name are worth caching.
	if v, ok := f.acc.structValue(ev); ok {
		return v, true
	}
	if hx != nil && len(f.vals) > 0 && int(f.vals[0].seq) < len(hx.fields) {
		if k := hx.fields[f.vals[0].seq]; k >= 0 && hx.sc.vgen[k] == hx.sc.gen {
			return hx.sc.vals[k], hx.sc.oks[k]
		}
	}
	return f.acc.byName(ev)
}

const slotBits = 20

// found reports whether the automaton pass saw m's ASCII needle in the value (case-folded),
// and known whether it ran over m's field at all.
func (hx *hits) found(m *valueMatcher) (found, known bool) {
	if hx != nil && int(m.seq) < len(hx.slots) {
		if slot := hx.slots[m.seq]; slot >= 0 {
			k, id := slot>>slotBits, slot&(1<<slotBits-1)
			if hx.sc.scanned[k] {
				return hx.sc.needles[k][id>>6]&(1<<(uint(id)&63)) != 0, true
			}
		}
	}
	return false, false
}

// litMissing reports whether the automaton pass proved that the value lacks the literal
// a glob or regex matcher requires (m.lit, compared case-folded: a superset of cased).
func (hx *hits) litMissing(m *valueMatcher) bool {
	if m.op != vGlob && m.op != vRegex {
		return false
	}
	found, known := hx.found(m)
	return known && !found
}

// contains reports whether the ASCII value s contains m's ASCII needle (case-folded).
func (hx *hits) contains(m *valueMatcher, s string) bool {
	if f, known := hx.found(m); known {
		return f
	}
	return containsFoldASCII(s, m.s)
}

// asciiVerdict reports whether the automaton already read f's field in this event
// (known) and, if so, whether the value was all ASCII.
func (hx *hits) asciiVerdict(f *fieldMatcher) (ascii, known bool) {
	if hx == nil {
		return false, false
	}
	if f.probe < 0 || int(f.vals[f.probe].seq) >= len(hx.slots) {
		return false, false
	}
	if slot := hx.slots[f.vals[f.probe].seq]; slot >= 0 && hx.sc.scanned[slot>>slotBits] {
		return hx.sc.ascii[slot>>slotBits], true
	}
	return false, false
}

// asciiFold returns the ASCII byte a non-ASCII rune folds to (Kelvin sign to k, long s
// to s), or 0 when it folds to none: only such runes can take part in an ASCII needle.
func asciiFold(r rune) byte {
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return byte(f)
		}
	}
	return 0
}
