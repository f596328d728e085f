package proctree

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// Defaults for a zero Config.
const (
	DefaultMaxPerHost = 50_000
	DefaultExitedTTL  = 30 * time.Minute
	DefaultMaxHosts   = 4096
	// MaxSnapshotNodes bounds a Snapshot. Ancestors (at most maxAncestors) and the focus
	// always fit; descendants (preorder) come next, then the siblings nearest the focus.
	// What is left out is counted in Snapshot.Truncated.
	MaxSnapshotNodes = 500
)

const (
	minPerHost   = 16
	maxAncestors = 64
	// dedupWindow: a Sysmon 1 and a 4688 of the same process (same host, PID and image)
	// are one node when their start times are this close.
	dedupWindow = int64(2 * time.Second)
	// maxChain bounds how many same-PID generations a lookup walks.
	maxChain = 8
	// maxWalk bounds a walk up the ancestors (cycle checks, watch checks), so an event
	// costs O(depth) with depth at most maxWalk. A process whose parent chain is deeper
	// (real trees are a few dozen deep; a hostile feed can claim anything) is not linked:
	// it starts a new root, drawn under a synthesized parent from its event's fields.
	maxWalk = 256
	// Field size caps: event data is attacker-controlled. The alert keeps the full event;
	// the tree is for drawing.
	maxImage   = 1024
	maxCommand = 8192
	maxUser    = 512
	maxGUID    = 128
	maxIntern  = 1 << 16
	slabSize   = 1024
)

// node is one process. Times are Unix nanoseconds, 0 when unknown.
type node struct {
	host     *hostTree
	idx, gen uint32
	pid      uint32
	ppid     uint32 // the parent's PID as the event gave it (kept when the parent is gone)
	watch    int32

	exited, synthesized bool

	guid, image, cmd, user string
	parentImage            string // as the event gave it, for drawing when the parent is gone

	start, exit int64
	// bound is, for a synthesized node, the earliest start of a child linked to it: the
	// real process started no later, so a start event after it is a new process (PID reuse).
	bound int64

	parent, firstChild, lastChild, prevSib, nextSib *node
	older, newer                                    *node // neighbours in the same-PID chain (newest first)
	lprev, lnext                                    *node // age list (host's live or exited list)
}

// sortKey orders a node among those sharing its PID: its start, or for a synthesized
// node the latest time it is known to have been running.
func (n *node) sortKey() int64 {
	if n.start != 0 {
		return n.start
	}
	return n.bound
}

type list struct{ head, tail *node }

func (l *list) push(n *node) {
	n.lprev, n.lnext = l.tail, nil
	if l.tail != nil {
		l.tail.lnext = n
	} else {
		l.head = n
	}
	l.tail = n
}

// insertBefore puts n just before at, which must be on l.
func (l *list) insertBefore(at, n *node) {
	n.lnext, n.lprev = at, at.lprev
	if at.lprev != nil {
		at.lprev.lnext = n
	} else {
		l.head = n
	}
	at.lprev = n
}

func (l *list) unlink(n *node) {
	if n.lprev != nil {
		n.lprev.lnext = n.lnext
	} else {
		l.head = n.lnext
	}
	if n.lnext != nil {
		n.lnext.lprev = n.lprev
	} else {
		l.tail = n.lprev
	}
	n.lprev, n.lnext = nil, nil
}

type hostTree struct {
	name    string
	byPID   map[uint32]*node // newest node per PID; older ones via node.older
	byGUID  map[string]*node
	live    list // insertion order
	exited  list // exit order
	n       int
	now     int64 // latest event time seen for the host
	lastUse uint64
}

// Tree is a bounded per-host process index. It is owned by one goroutine (the engine):
// it has no locks.
type Tree struct {
	cfg    Config
	ttl    int64
	hosts  map[string]*hostTree
	slabs  [][]node
	free   []uint32
	next   uint32
	seq    uint64
	intern map[string]string
	stats  Stats
}

// New returns an empty tree; zero Config fields take the defaults above.
func New(cfg Config) *Tree {
	if cfg.MaxPerHost <= 0 {
		cfg.MaxPerHost = DefaultMaxPerHost
	}
	cfg.MaxPerHost = max(cfg.MaxPerHost, minPerHost)
	if cfg.ExitedTTL <= 0 {
		cfg.ExitedTTL = DefaultExitedTTL
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = DefaultMaxHosts
	}
	return &Tree{
		cfg:    cfg,
		ttl:    int64(cfg.ExitedTTL),
		hosts:  map[string]*hostTree{},
		intern: map[string]string{},
	}
}

// Stats reports the tree's size and what it evicted.
func (t *Tree) Stats() Stats {
	s := t.stats
	s.Hosts = uint64(len(t.hosts))
	return s
}

// Observe records a process start or end and returns the process's key, and whether
// it or one of its ancestors is watched. Other events return the zero Key.
func (t *Tree) Observe(ev *source.Event) (Key, bool) {
	var n *node
	switch ev.Kind {
	case source.KindProcessStart:
		n = t.start(ev)
	case source.KindProcessEnd:
		n = t.end(ev)
	}
	if n == nil {
		return Key{}, false
	}
	return n.key(), watched(n)
}

// Enrich fills ev.Parent's Image, and its CommandLine, User and GUID where empty, from
// the tree when the event lacks the parent's image (4688 version 0/1 carry only the
// creator PID; some shippers drop it; "-" and "?" count as missing). It reports whether
// it filled Parent.Image.
func (t *Tree) Enrich(ev *source.Event) bool {
	if ev.Kind != source.KindProcessStart || !missing(ev.Parent.Image) {
		return false
	}
	h := t.hosts[ev.Host]
	if h == nil {
		return false
	}
	p := h.parentOf(ev, unixNano(ev.Time))
	if p == nil || p.image == "" {
		return false
	}
	ev.Parent.Image = p.image
	if ev.Parent.CommandLine == "" {
		ev.Parent.CommandLine = p.cmd
	}
	if ev.Parent.User == "" {
		ev.Parent.User = p.user
	}
	if ev.Parent.GUID == "" {
		ev.Parent.GUID = p.guid
	}
	if ev.Parent.PID == 0 {
		ev.Parent.PID = p.pid
	}
	return true
}

// Watch marks k's process as watched: Observe then reports its new descendants. Watches
// nest: each Watch needs an Unwatch.
func (t *Tree) Watch(k Key) {
	if n := t.lookup(k); n != nil {
		n.watch++
	}
}

// Unwatch undoes one Watch.
func (t *Tree) Unwatch(k Key) {
	if n := t.lookup(k); n != nil && n.watch > 0 {
		n.watch--
	}
}

func (n *node) key() Key { return Key{Host: n.host.name, ID: uint64(n.gen)<<32 | uint64(n.idx+1)} }

func watched(n *node) bool {
	for i := 0; n != nil && i < maxWalk; i, n = i+1, n.parent {
		if n.watch > 0 {
			return true
		}
	}
	return false
}

func (t *Tree) at(idx uint32) *node { return &t.slabs[idx/slabSize][idx%slabSize] }

func (t *Tree) lookup(k Key) *node {
	lo := uint32(k.ID)
	if lo == 0 || lo > t.next {
		return nil
	}
	n := t.at(lo - 1)
	if n.host == nil || n.gen != uint32(k.ID>>32) || n.host.name != k.Host {
		return nil
	}
	return n
}

func (t *Tree) alloc(h *hostTree) *node {
	var idx uint32
	if k := len(t.free); k > 0 {
		idx = t.free[k-1]
		t.free = t.free[:k-1]
	} else {
		if t.next%slabSize == 0 {
			t.slabs = append(t.slabs, make([]node, slabSize))
		}
		idx = t.next
		t.next++
	}
	n := t.at(idx)
	gen := n.gen
	*n = node{host: h, idx: idx, gen: gen}
	h.live.push(n)
	h.n++
	t.stats.Nodes++
	return n
}

func (t *Tree) host(name string) *hostTree {
	t.seq++
	h := t.hosts[name]
	if h == nil {
		if len(t.hosts) >= t.cfg.MaxHosts {
			t.evictHost()
		}
		h = &hostTree{name: strings.Clone(name), byPID: map[uint32]*node{}, byGUID: map[string]*node{}}
		t.hosts[h.name] = h
	}
	h.lastUse = t.seq
	return h
}

// evictHost drops the least recently used host whole: hosts are attacker-controlled
// names, so their number is bounded too.
func (t *Tree) evictHost() {
	var lru *hostTree
	for _, h := range t.hosts {
		if lru == nil || h.lastUse < lru.lastUse {
			lru = h
		}
	}
	if lru == nil {
		return
	}
	t.stats.Evicted += uint64(lru.n)
	for _, l := range []*list{&lru.live, &lru.exited} {
		for n := l.head; n != nil; {
			next := n.lnext
			t.release(n)
			n = next
		}
	}
	t.stats.Nodes -= uint64(lru.n)
	delete(t.hosts, lru.name)
}

// release returns n's slot to the free list; its key stops resolving.
func (t *Tree) release(n *node) {
	idx, gen := n.idx, n.gen+1
	*n = node{idx: idx, gen: gen}
	t.free = append(t.free, idx)
}

// advance moves the host's clock and ages out exited processes past the TTL.
func (t *Tree) advance(h *hostTree, ts int64) {
	if ts > h.now {
		h.now = ts
	}
	for n := h.exited.head; n != nil && n.exit+t.ttl < h.now; n = h.exited.head {
		t.remove(h, n)
		t.stats.AgedOut++
	}
}

// enforceCap evicts the oldest exited process, then the oldest, until the host fits;
// keep is the node just added, never the victim.
func (t *Tree) enforceCap(h *hostTree, keep *node) {
	for h.n > t.cfg.MaxPerHost {
		v := h.exited.head
		if v == nil {
			v = h.live.head
		}
		if v == keep {
			v = v.lnext
		}
		if v == nil {
			return
		}
		t.remove(h, v)
		t.stats.Evicted++
	}
}

func (t *Tree) remove(h *hostTree, n *node) {
	if n.exited {
		h.exited.unlink(n)
	} else {
		h.live.unlink(n)
	}
	if n.parent != nil {
		unlinkChild(n.parent, n)
	}
	// Children become roots; they keep ppid and parentImage for drawing.
	for c := n.firstChild; c != nil; {
		next := c.nextSib
		c.parent, c.prevSib, c.nextSib = nil, nil, nil
		c = next
	}
	if n.guid != "" && h.byGUID[n.guid] == n {
		delete(h.byGUID, n.guid)
	}
	h.unlinkPID(n)
	h.n--
	t.stats.Nodes--
	// An emptied host stays (the caller may be adding to it); evictHost bounds hosts.
	t.release(n)
}

func unlinkChild(p, c *node) {
	if c.prevSib != nil {
		c.prevSib.nextSib = c.nextSib
	} else {
		p.firstChild = c.nextSib
	}
	if c.nextSib != nil {
		c.nextSib.prevSib = c.prevSib
	} else {
		p.lastChild = c.prevSib
	}
	c.parent, c.prevSib, c.nextSib = nil, nil, nil
}

func (h *hostTree) unlinkPID(n *node) {
	// Doubly linked, so evicting the oldest holder of a much-reused PID is O(1): a feed
	// that reuses one PID forever must not make each eviction walk the whole chain.
	if n.newer != nil {
		n.newer.older = n.older
	} else if h.byPID[n.pid] == n {
		if n.older != nil {
			h.byPID[n.pid] = n.older
		} else {
			delete(h.byPID, n.pid)
		}
	}
	if n.older != nil {
		n.older.newer = n.newer
	}
	n.older, n.newer = nil, nil
}

// linkPID inserts n in its PID chain, newest first. An out-of-order arrival walks at
// most maxChain generations: lookups never look deeper, so placing it there is exact for
// every lookup and keeps a hostile feed from making inserts O(chain).
func (h *hostTree) linkPID(n *node) {
	head := h.byPID[n.pid]
	if head == nil || head.sortKey() <= n.sortKey() {
		n.older, n.newer = head, nil
		if head != nil {
			head.newer = n
		}
		h.byPID[n.pid] = n
		return
	}
	c := head
	for i := 1; c.older != nil && c.older.sortKey() > n.sortKey() && i < maxChain; i++ {
		c = c.older
	}
	n.older, n.newer = c.older, c
	if c.older != nil {
		c.older.newer = n
	}
	c.older = n
}

// livePID finds the process that had pid at time ts: started no later than ts and not
// ended before it.
func (h *hostTree) livePID(pid uint32, ts int64) *node {
	i := 0
	for c := h.byPID[pid]; c != nil && i < maxChain; c, i = c.older, i+1 {
		if ts != 0 && c.start > ts {
			continue
		}
		if c.exited && c.exit != 0 && ts != 0 && c.exit < ts {
			return nil // chain is newest first: older ones ended earlier still
		}
		return c
	}
	return nil
}

// parentOf finds ev's parent in the tree: by GUID, else by PID and time (a node with
// a different GUID is a different process).
func (h *hostTree) parentOf(ev *source.Event, ts int64) *node {
	pg := ev.Parent.GUID
	if pg != "" {
		if p := h.byGUID[pg]; p != nil {
			return p
		}
	}
	if ev.Parent.PID == 0 {
		return nil
	}
	p := h.livePID(ev.Parent.PID, ts)
	if p == nil || (pg != "" && p.guid != "" && p.guid != pg) {
		return nil
	}
	if ev.Process.GUID != "" && p.guid == ev.Process.GUID {
		return nil
	}
	return p
}

func (t *Tree) start(ev *source.Event) *node {
	h := t.host(ev.Host)
	ts := unixNano(ev.Time)
	t.advance(h, ts)
	p := &ev.Process
	guid := clip(p.GUID, maxGUID)

	var n *node
	if guid != "" {
		n = h.byGUID[guid]
	}
	if n == nil {
		n = h.sameProcess(p.PID, guid, p.Image, ts)
	}
	if n != nil {
		t.merge(h, n, ev, guid, ts)
	} else {
		// A new start with a live PID ends its previous holder (PIDs are reused).
		if old := h.livePID(p.PID, ts); old != nil && !old.exited {
			t.markExited(h, old, ts)
		}
		n = t.alloc(h)
		n.pid = p.PID
		n.start = ts
		t.fill(h, n, ev, guid)
		h.linkPID(n)
	}
	if n.parent == nil {
		par := h.parentOf(ev, ts)
		if par == nil && (ev.Parent.PID != 0 || ev.Parent.GUID != "") {
			par = t.synthesize(h, ev, ts)
			if !n.exited { // it started before its child: age it as such
				h.live.unlink(par)
				h.live.insertBefore(n, par)
			}
		}
		if par != nil {
			link(par, n)
		}
	} else if p := n.parent; p.synthesized && (p.pid == ev.Parent.PID || (p.guid != "" && p.guid == ev.Parent.GUID)) {
		// A second report of the process (the Sysmon twin of a 4688) may know more
		// about a parent that is known only from reports.
		t.fillSynth(h, p, &ev.Parent)
	}
	t.enforceCap(h, n)
	return n
}

// sameProcess finds an existing node this start event describes: a synthesized
// placeholder for the same PID that this start can precede, or the same process
// reported by another source (Sysmon 1 and 4688) moments apart.
func (h *hostTree) sameProcess(pid uint32, guid, image string, ts int64) *node {
	i := 0
	for c := h.byPID[pid]; c != nil && i < maxChain; c, i = c.older, i+1 {
		if guid != "" && c.guid != "" && c.guid != guid {
			continue
		}
		if c.synthesized {
			if !c.exited && (ts == 0 || c.bound == 0 || ts <= c.bound) && (c.image == "" || missing(image) || strings.EqualFold(c.image, image)) {
				return c
			}
			continue
		}
		// A twin may come after the process ended (4689 before the Sysmon 1 arrived).
		if (guid == "" || c.guid == "") && ts != 0 && c.start != 0 && abs(c.start-ts) <= dedupWindow && strings.EqualFold(c.image, image) {
			return c
		}
	}
	return nil
}

func (t *Tree) merge(h *hostTree, n *node, ev *source.Event, guid string, ts int64) {
	if n.synthesized {
		n.synthesized = false
		h.unlinkPID(n)
		n.start = ts
		n.bound = 0
		h.linkPID(n)
	}
	t.fill(h, n, ev, guid)
}

// fill copies the event's process fields into the empty fields of n.
func (t *Tree) fill(h *hostTree, n *node, ev *source.Event, guid string) {
	p := &ev.Process
	t.fillEmpty(h, n, guid, p.Image, p.CommandLine, p.User)
	if n.ppid == 0 {
		n.ppid = ev.Parent.PID
	}
	if n.parentImage == "" && !missing(ev.Parent.Image) {
		n.parentImage = t.internStr(clip(ev.Parent.Image, maxImage))
	}
}

// fillEmpty sets n's identity fields that are still empty, clipped and interned; a GUID
// another node already holds is left alone (event data can claim any GUID).
func (t *Tree) fillEmpty(h *hostTree, n *node, guid, image, cmd, user string) {
	if g := clip(guid, maxGUID); n.guid == "" && g != "" {
		if _, taken := h.byGUID[g]; !taken {
			n.guid = strings.Clone(g)
			h.byGUID[n.guid] = n
		}
	}
	if n.image == "" && !missing(image) {
		n.image = t.internStr(clip(image, maxImage))
	}
	if n.cmd == "" && cmd != "" {
		n.cmd = strings.Clone(clip(cmd, maxCommand))
	}
	if n.user == "" && !missing(user) {
		n.user = t.internStr(clip(user, maxUser))
	}
}

// synthesize adds the parent an event names but the tree has not seen: a process that
// started before the feed (services.exe, dns.exe itself) or whose start is still on its way.
func (t *Tree) synthesize(h *hostTree, ev *source.Event, ts int64) *node {
	n := t.alloc(h)
	n.synthesized = true
	n.pid = ev.Parent.PID
	n.bound = ts
	t.fillSynth(h, n, &ev.Parent)
	h.linkPID(n)
	return n
}

// fillSynth fills a synthesized node's empty fields from a child's Parent* fields.
func (t *Tree) fillSynth(h *hostTree, n *node, pp *source.Parent) {
	t.fillEmpty(h, n, pp.GUID, pp.Image, pp.CommandLine, pp.User)
}

// link makes c a child of p, in start order, unless that would make a cycle (event data
// can claim any GUID as its parent).
func link(p, c *node) {
	for a, i := p, 0; a != nil; a, i = a.parent, i+1 {
		if a == c || i >= maxWalk {
			return
		}
	}
	c.parent = p
	if p.synthesized && c.start != 0 && (p.bound == 0 || c.start < p.bound) {
		p.bound = c.start
	}
	at := p.lastChild
	for at != nil && at.start > c.start && c.start != 0 {
		at = at.prevSib
	}
	if at == nil {
		c.nextSib = p.firstChild
		if p.firstChild != nil {
			p.firstChild.prevSib = c
		} else {
			p.lastChild = c
		}
		p.firstChild = c
		return
	}
	c.prevSib, c.nextSib = at, at.nextSib
	if at.nextSib != nil {
		at.nextSib.prevSib = c
	} else {
		p.lastChild = c
	}
	at.nextSib = c
}

func (t *Tree) end(ev *source.Event) *node {
	h := t.hosts[ev.Host]
	if h == nil {
		return nil
	}
	h.lastUse = t.seq
	ts := unixNano(ev.Time)
	t.advance(h, ts)
	var n *node
	if g := ev.Process.GUID; g != "" {
		n = h.byGUID[g]
	}
	if n == nil {
		n = h.livePID(ev.Process.PID, ts)
		if n != nil && ev.Process.GUID != "" && n.guid != "" && n.guid != ev.Process.GUID {
			n = nil
		}
	}
	if n == nil {
		return nil
	}
	if !n.exited {
		t.markExited(h, n, ts)
	}
	return n
}

func (t *Tree) markExited(h *hostTree, n *node, ts int64) {
	if ts == 0 {
		ts = h.now
	}
	h.live.unlink(n)
	n.exited, n.exit = true, ts
	h.exited.push(n)
}

func (t *Tree) internStr(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := t.intern[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if len(t.intern) < maxIntern {
		t.intern[c] = c
	}
	return c
}

// missing reports a parent or user value that says nothing: empty, "-" or "?".
func missing(s string) bool { return s == "" || s == "-" || s == "?" }

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
