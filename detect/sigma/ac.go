package sigma

// acIndex finds which of many case-insensitive ASCII needles occur in a field value in
// one pass (Aho-Corasick over ASCII-lower-cased bytes, as a dense automaton on the
// needles' byte classes). Set uses it to pick the few rules whose required substrings
// occur in an event's command line instead of evaluating all of them.
type acIndex struct {
	acc      accessor
	classes  [256]uint16 // lower-cased byte -> class; 0 = a byte no needle has
	nclass   int
	delta    []int32   // state*nclass + class -> next state
	dict     []int32   // state -> nearest state on its failure chain (itself included) ending a needle; -1: none
	dictNext []int32   // state -> the next such state further along the chain
	outs     [][]int32 // state -> needles ending exactly here
	rules    [][]int32 // needle -> rules requiring it
	all      []int32   // every rule of the index, for values the automaton cannot read
	needles  map[string]int32
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
	// Trie.
	type edge struct {
		st    int32
		class uint16
	}
	trie := map[edge]int32{}
	nstates := int32(1)
	var outs [][]int32
	outs = append(outs, nil)
	for n, id := range a.needles {
		st := int32(0)
		for k := 0; k < len(n); k++ {
			e := edge{st, a.classes[n[k]]}
			nx, ok := trie[e]
			if !ok {
				nx = nstates
				nstates++
				trie[e] = nx
				outs = append(outs, nil)
			}
			st = nx
		}
		outs[st] = append(outs[st], id)
	}
	nc := a.nclass
	a.delta = make([]int32, int(nstates)*nc)
	for i := range a.delta {
		a.delta[i] = -1
	}
	for e, nx := range trie {
		a.delta[int(e.st)*nc+int(e.class)] = nx
	}
	fail := make([]int32, nstates)
	a.dict = make([]int32, nstates)
	a.dictNext = make([]int32, nstates)
	// BFS: complete the transitions and compute failure links.
	queue := make([]int32, 0, nstates)
	for c := 0; c < nc; c++ {
		nx := a.delta[c]
		if nx < 0 {
			a.delta[c] = 0
			continue
		}
		fail[nx] = 0
		queue = append(queue, nx)
	}
	a.dict[0] = -1
	for q := 0; q < len(queue); q++ {
		st := queue[q]
		for c := 0; c < nc; c++ {
			nx := a.delta[int(st)*nc+c]
			if nx < 0 {
				a.delta[int(st)*nc+c] = a.delta[int(fail[st])*nc+c]
				continue
			}
			fail[nx] = a.delta[int(fail[st])*nc+c]
			queue = append(queue, nx)
		}
	}
	// Dictionary links, in BFS order so a state's failure target is done first.
	a.dict[0], a.dictNext[0] = -1, -1
	for _, st := range queue {
		f := fail[st]
		a.dictNext[st] = a.dict[f]
		if len(outs[st]) > 0 {
			a.dict[st] = st
		} else {
			a.dict[st] = a.dict[f]
		}
	}
	a.outs = outs
	a.needles = nil
}

// scratch is per-Match state: which needles and rules this event already triggered.
type scratch struct {
	rules   []uint64
	needles [][]uint64 // per acIndex: needles found in this event's value
	scanned []bool     // per acIndex: the automaton ran (the value was ASCII)
	touched []int      // acIndexes whose needle bits are set, for clearing
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
	sc    *scratch
	slots []int32 // valueMatcher.seq -> acIndex<<slotBits | needle, or -1
}

const slotBits = 20

// contains reports whether the ASCII value s contains m's ASCII needle (case-folded).
func (hx *hits) contains(m *valueMatcher, s string) bool {
	if hx != nil && int(m.seq) < len(hx.slots) {
		if slot := hx.slots[m.seq]; slot >= 0 {
			k, id := slot>>slotBits, slot&(1<<slotBits-1)
			if hx.sc.scanned[k] {
				return hx.sc.needles[k][id>>6]&(1<<(uint(id)&63)) != 0
			}
		}
	}
	return containsFoldASCII(s, m.s)
}

// scannedASCII reports whether the automaton already read f's field in this event,
// which it does only for ASCII values.
func (hx *hits) scannedASCII(f *fieldMatcher) bool {
	if hx == nil {
		return false
	}
	for i := range f.vals {
		if seq := f.vals[i].seq; int(seq) < len(hx.slots) {
			if slot := hx.slots[seq]; slot >= 0 {
				return hx.sc.scanned[slot>>slotBits]
			}
		}
	}
	return false
}
