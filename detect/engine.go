package detect

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// Defaults for a zero Config.
const (
	DefaultGroupWindow       = time.Hour
	DefaultMaxAlertsInMemory = 100_000
	DefaultFlushInterval     = 75 * time.Millisecond
)

// Config is what NewEngine needs. Rules is required; everything else has a default.
type Config struct {
	Rules *sigma.Set
	// Store persists alerts and holds the allowlist; nil keeps everything in memory.
	Store *triage.Store
	// Clock decides allowlist expiry and stamps events without a time; nil: wall clock.
	Clock Clock
	Tree  proctree.Config
	// GroupWindow: identical repeats whose event time is within this of the alert's last
	// sighting bump its count instead of raising a new alert. Default 1 h.
	GroupWindow time.Duration
	// MaxAlertsInMemory bounds the alerts kept in memory (closed ones leave first; all of
	// them stay in the store). Default 100k.
	MaxAlertsInMemory int
	// FlushInterval is how often Run emits a Batch and writes to the store. Default 75 ms.
	FlushInterval time.Duration
	// RulesRefused is reported in Stats (the engine never sees refused rules itself).
	RulesRefused int
}

// ErrNoStore is returned by commands that need the triage store when the engine has none.
var ErrNoStore = errors.New("no triage store")

// ErrUnknownAlert is returned by SetStatus for an alert id the engine does not know.
var ErrUnknownAlert = errors.New("unknown alert")

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// groupKey is what makes two matches "identical repeats".
type groupKey struct {
	rule, host, image, commandLine, parentImage string
	allowID                                     string // the allowlist entry that suppresses it, if any
}

// alertState is the engine's copy of an alert plus its bookkeeping.
type alertState struct {
	Alert
	key     groupKey
	seq     uint64 // creation order, for eviction
	watched bool
	// treeDirty: a process in this alert's tree started or ended since the last batch.
	treeDirty bool
	dirty     bool // changed since the last batch
	persist   bool // changed since the last store write
	// treePersist: its tree snapshot changed (or was never stored) since the last
	// store write of trees.
	treePersist bool
	stored      int // Count as of the last store write: the store adds counts, so send deltas
	origin      string
}

// Engine runs events through the process tree, the rules and the allowlist, groups the
// matches into alerts and persists them. It is owned by one goroutine: either the caller
// of Process, or Run.
type Engine struct {
	rules        *sigma.Set
	store        *triage.Store
	clock        Clock
	tree         *proctree.Tree
	window       time.Duration
	maxAlerts    int
	flushEvery   time.Duration
	rulesLoaded  int
	rulesRefused int

	allow []triage.AllowEntry
	// hits not yet written to the store, by allowlist entry id.
	hits      map[string]int
	lastFlush time.Time

	alerts  map[string]*alertState
	groups  map[groupKey]*alertState
	order   []*alertState // creation order; evicted entries are nil'd and compacted
	seq     uint64
	open    int
	pending []*alertState // changed since the last store write
	dirty   []*alertState // changed since the last batch
	// watchers maps a watched tree key to the alerts on it (several rules can match one
	// process); the tree is unwatched when the last of them closes or leaves memory.
	watchers map[proctree.Key][]*alertState
	// treeDirty lists alerts whose tree changed since the last batch.
	treeDirty []*alertState
	// treePending lists alerts whose tree changed since the last store write of trees.
	treePending []*alertState
	trees       map[string]proctree.Snapshot // scratch for SaveTrees

	matched []*sigma.Rule // scratch for Set.Match
	records []triage.AlertRecord

	stats Stats
	sent  Stats // stats as of the last batch
}

// NewEngine builds an engine. With a store it loads the allowlist now; the engine keeps
// it in memory and writes its hit counts back periodically.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Rules == nil {
		return nil, errors.New("detect: new engine: no rule set")
	}
	e := &Engine{
		rules:        cfg.Rules,
		store:        cfg.Store,
		clock:        cfg.Clock,
		tree:         proctree.New(cfg.Tree),
		window:       cfg.GroupWindow,
		maxAlerts:    cfg.MaxAlertsInMemory,
		flushEvery:   cfg.FlushInterval,
		rulesRefused: cfg.RulesRefused,
		hits:         make(map[string]int),
		alerts:       make(map[string]*alertState),
		groups:       make(map[groupKey]*alertState),
		watchers:     make(map[proctree.Key][]*alertState),
		matched:      make([]*sigma.Rule, 0, 8),
	}
	if e.clock == nil {
		e.clock = wallClock{}
	}
	if e.window <= 0 {
		e.window = DefaultGroupWindow
	}
	if e.maxAlerts <= 0 {
		e.maxAlerts = DefaultMaxAlertsInMemory
	}
	if e.flushEvery <= 0 {
		e.flushEvery = DefaultFlushInterval
	}
	for _, r := range cfg.Rules.Rules() {
		if !r.IsFilter {
			e.rulesLoaded++
		}
	}
	if e.store != nil {
		entries, err := e.store.Allowlist(ctx)
		if err != nil {
			return nil, fmt.Errorf("detect: new engine: load allowlist: %w", err)
		}
		e.allow = entries
		if err := e.restore(ctx); err != nil {
			return nil, fmt.Errorf("detect: new engine: load open alerts: %w", err)
		}
	}
	e.lastFlush = e.clock.Now()
	return e, nil
}

// restore loads the open and acknowledged alerts of earlier runs (the newest, up to the
// memory cap), so repeats group into them across restarts and allowlist closes reach
// them in memory. They are not watched: their processes are not in this run's tree.
func (e *Engine) restore(ctx context.Context) error {
	byKey := make(map[string]*sigma.Rule)
	for _, r := range e.rules.Rules() {
		if !r.IsFilter {
			byKey[ruleKey(r)] = r
		}
	}
	var recs []triage.AlertRecord
	for _, st := range []triage.Status{triage.StatusOpen, triage.StatusAcknowledged} {
		rs, err := e.store.ListAlerts(ctx, triage.AlertFilter{Status: st, Limit: e.maxAlerts})
		if err != nil {
			return err
		}
		recs = append(recs, rs...)
	}
	slices.SortFunc(recs, func(a, b triage.AlertRecord) int { return a.LastSeen.Compare(b.LastSeen) })
	if len(recs) > e.maxAlerts {
		recs = recs[len(recs)-e.maxAlerts:]
	}
	for _, rec := range recs {
		r := byKey[rec.RuleID]
		if r == nil {
			continue // its rule is not loaded now: nothing can repeat it
		}
		a := &alertState{
			Alert: AlertFromRecord(rec, r),
			key: groupKey{
				rule: rec.RuleID, host: rec.Host, image: rec.Image,
				commandLine: rec.CommandLine, parentImage: rec.ParentImage,
				allowID: rec.AllowlistID,
			},
			stored: rec.Count,
			origin: rec.Origin,
		}
		e.seq++
		a.seq = e.seq
		e.alerts[a.ID] = a
		e.groups[a.key] = a // oldest first, so the newest of a group wins
		e.order = append(e.order, a)
		if isOpen(a) {
			e.open++
		}
	}
	return nil
}

// Stats returns the counters as they stand.
func (e *Engine) Stats() Stats {
	s := e.stats
	ts := e.tree.Stats()
	s.TreeNodes = ts.Nodes
	s.TreeEvicted = ts.Evicted
	s.OpenAlerts = e.open
	s.RulesLoaded = e.rulesLoaded
	s.RulesRefused = e.rulesRefused
	return s
}

// Process runs one event through the tree, the rules, the allowlist and the store, and
// appends to dst one Alert per rule that matched ev: a new alert, or the existing one it
// was grouped into (with the bumped count). The event may have its parent filled from
// the tree (ParentFromTree). The engine copies what it keeps, so the caller may reuse ev.
// With a store, the touched alerts are written before Process returns; a store error is
// counted, returned, and the alerts are still appended (they stay pending for the next
// write).
func (e *Engine) Process(ctx context.Context, ev *source.Event, dst []Alert) ([]Alert, error) {
	n := len(dst)
	dst = e.process(ev, dst)
	if len(dst) == n && !e.hitsDue() {
		return dst, nil
	}
	return dst, e.persist(ctx, false, nil)
}

// Flush writes pending alerts and allowlist hit counts to the store now. Call it after
// the last Process.
func (e *Engine) Flush(ctx context.Context) error {
	return e.persist(ctx, true, nil)
}

// process is Process without the store: the deterministic core shared with Run.
func (e *Engine) process(ev *source.Event, dst []Alert) []Alert {
	e.stats.Events++
	if ev.IsProcessStart() {
		e.stats.ProcessStarts++
	}
	if e.tree.Enrich(ev) {
		ev.ParentFromTree = true
	}
	key, watched := e.tree.Observe(ev)
	if watched {
		e.markTrees(key)
	}
	e.matched = e.rules.Match(ev, e.matched[:0])
	if len(e.matched) == 0 {
		return dst
	}
	at := ev.Time
	if at.IsZero() {
		at = e.clock.Now()
	}
	for _, r := range e.matched {
		e.stats.Matches++
		a := e.match(r, ev, key, at)
		dst = append(dst, a.Alert)
	}
	return dst
}

// match groups one (event, rule) match into an alert, creating it if needed.
func (e *Engine) match(r *sigma.Rule, ev *source.Event, key proctree.Key, at time.Time) *alertState {
	// The allowlist verdict is part of what makes a repeat identical: a sighting an entry
	// now covers never bumps a visible alert, and one no (longer a live) entry covers
	// never hides in a suppressed one.
	now := e.clock.Now()
	ent := e.allowed(r, ev, now)
	gk := groupKey{
		rule:        ruleKey(r),
		host:        ev.Host,
		image:       ev.Process.Image,
		commandLine: ev.Process.CommandLine,
		parentImage: ev.Parent.Image,
	}
	if ent != nil {
		gk.allowID = ent.ID
		ent.Hits++
		ent.LastHit = now
		e.hits[ent.ID]++
	}
	if a, ok := e.groups[gk]; ok && a.Status != triage.StatusClosed && withinWindow(a.LastSeen, at, e.window) {
		return e.repeat(a, at)
	}
	id := alertID(gk, at)
	if prev, ok := e.alerts[id]; ok {
		// The same id means the same rule, process, verdict and first sighting: hunting
		// the same record twice. Keep one alert.
		return e.repeat(prev, at)
	}
	e.seq++
	a := &alertState{
		Alert: Alert{
			ID:             id,
			Rule:           r,
			Event:          cloneEvent(ev),
			Host:           ev.Host,
			TreeKey:        key,
			FirstSeen:      at,
			LastSeen:       at,
			Count:          1,
			Status:         triage.StatusOpen,
			Suppressed:     ent != nil,
			AllowlistID:    gk.allowID,
			ParentFromTree: ev.ParentFromTree,
		},
		key:    gk,
		seq:    e.seq,
		origin: ev.Origin.Feed + " " + ev.Origin.String(),
	}
	e.stats.Alerts++
	if a.Suppressed {
		e.stats.Suppressed++
	} else {
		e.open++
		e.watch(a)
	}
	e.alerts[a.ID] = a
	e.groups[gk] = a
	e.order = append(e.order, a)
	e.touch(a)
	e.evict()
	return a
}

// allowed returns the first live allowlist entry that covers this match, or nil.
func (e *Engine) allowed(r *sigma.Rule, ev *source.Event, now time.Time) *triage.AllowEntry {
	for i := range e.allow {
		if e.allow[i].Matches(r.ID, ev, now) {
			return &e.allow[i]
		}
	}
	return nil
}

// repeat bumps an alert for another sighting of the same thing.
func (e *Engine) repeat(a *alertState, at time.Time) *alertState {
	a.Count++
	if at.After(a.LastSeen) {
		a.LastSeen = at
	}
	e.stats.Grouped++
	e.touch(a)
	return a
}

// watch follows a's process tree so later descendants refresh its snapshot.
func (e *Engine) watch(a *alertState) {
	if a.watched {
		return
	}
	a.watched = true
	ws := e.watchers[a.TreeKey]
	if len(ws) == 0 {
		e.tree.Watch(a.TreeKey)
	}
	e.watchers[a.TreeKey] = append(ws, a)
	e.touchTree(a) // new, or watched again: its tree may differ from the stored one
}

// touchTree queues a's tree snapshot for the next store write.
func (e *Engine) touchTree(a *alertState) {
	if !a.treePersist {
		a.treePersist = true
		e.treePending = append(e.treePending, a)
	}
}

func (e *Engine) unwatch(a *alertState) {
	if !a.watched {
		return
	}
	a.watched = false
	ws := e.watchers[a.TreeKey]
	for i, w := range ws {
		if w == a {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(e.watchers, a.TreeKey)
		e.tree.Unwatch(a.TreeKey)
		return
	}
	e.watchers[a.TreeKey] = ws
}

// markTrees finds the watched alerts whose tree holds the process at key (it or one of
// its ancestors is an alert's process) and queues their snapshots for the next batch.
// It runs only for events under a watched process, so the snapshot walk is rare.
func (e *Engine) markTrees(key proctree.Key) {
	snap := e.tree.Snapshot(key)
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		if n.Role != proctree.RoleAncestor && n.Role != proctree.RoleFocus {
			continue
		}
		for _, a := range e.watchers[n.Key] {
			if !a.treeDirty {
				a.treeDirty = true
				e.treeDirty = append(e.treeDirty, a)
			}
			e.touchTree(a)
		}
	}
}

// touch queues a for the next store write and the next batch.
func (e *Engine) touch(a *alertState) {
	if !a.persist {
		a.persist = true
		e.pending = append(e.pending, a)
	}
	if !a.dirty {
		a.dirty = true
		e.dirty = append(e.dirty, a)
	}
}

// withinWindow reports whether at is a repeat of a sighting at last: events may arrive a
// little out of order, so the window applies in both directions.
func withinWindow(last, at time.Time, window time.Duration) bool {
	d := at.Sub(last)
	if d < 0 {
		d = -d
	}
	return d <= window
}

func ruleKey(r *sigma.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Title
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// alertID is deterministic so that hunting the same data twice gives the same ids: a
// hash of what groups the alert plus its first sighting, 80 bits in 16 base32 letters.
func alertID(k groupKey, first time.Time) string {
	h := sha256.New()
	for _, s := range [...]string{k.rule, k.host, k.image, k.commandLine, k.parentImage, k.allowID} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(first.UnixNano()))
	h.Write(t[:])
	var sum [sha256.Size]byte
	return idEncoding.EncodeToString(h.Sum(sum[:0])[:10])
}

// cloneEvent copies the parts of ev a caller may reuse (Fields and Raw), so the alert
// owns its event.
func cloneEvent(ev *source.Event) source.Event {
	c := *ev
	c.Fields = append([]source.Field(nil), ev.Fields...)
	c.Raw = append([]byte(nil), ev.Raw...)
	return c
}

// evict drops the oldest alerts from memory once there are more than maxAlerts: closed
// ones first, then suppressed, then the oldest of the rest. It evicts a tenth of the cap
// at a time so the scan is amortised.
func (e *Engine) evict() {
	if len(e.alerts) <= e.maxAlerts {
		return
	}
	target := e.maxAlerts - e.maxAlerts/10
	if target < 1 {
		target = e.maxAlerts
	}
	excess := len(e.alerts) - target
	for pass := 0; pass < 3 && excess > 0; pass++ {
		for i, a := range e.order {
			if excess == 0 {
				break
			}
			if a == nil || a.persist {
				continue // not yet in the store: keep it until written
			}
			switch pass {
			case 0:
				if a.Status != triage.StatusClosed {
					continue
				}
			case 1:
				if !a.Suppressed {
					continue
				}
			}
			e.drop(a)
			e.order[i] = nil
			excess--
		}
	}
	kept := e.order[:0]
	for _, a := range e.order {
		if a != nil {
			kept = append(kept, a)
		}
	}
	clear(e.order[len(kept):])
	e.order = kept
}

func (e *Engine) drop(a *alertState) {
	delete(e.alerts, a.ID)
	if e.groups[a.key] == a {
		delete(e.groups, a.key)
	}
	e.unwatch(a)
	if isOpen(a) {
		e.open--
	}
}

// isOpen: open and acknowledged alerts both still need the analyst; suppressed ones do not.
func isOpen(a *alertState) bool {
	return a.Status != triage.StatusClosed && !a.Suppressed
}

// hitsDue reports whether allowlist hits wait and the flush interval has passed.
func (e *Engine) hitsDue() bool {
	return len(e.hits) > 0 && e.clock.Now().Sub(e.lastFlush) >= e.flushEvery
}

// persist writes pending alerts (one transaction), then the latest tree snapshots of
// those whose tree changed (one more), and, when due or forced, allowlist hits. snaps
// may hold snapshots already taken for this flush's batch (by alert id), so no tree is
// walked twice. Without a store it only clears the queues. On error the pending alerts
// and trees stay queued.
func (e *Engine) persist(ctx context.Context, forceHits bool, snaps map[string]proctree.Snapshot) error {
	if e.store == nil {
		for _, a := range e.pending {
			a.persist = false
		}
		e.pending = e.pending[:0]
		for _, a := range e.treePending {
			a.treePersist = false
		}
		clear(e.treePending)
		e.treePending = e.treePending[:0]
		clear(e.hits)
		return nil
	}
	var errs []error
	if len(e.pending) > 0 {
		e.records = e.records[:0]
		for _, a := range e.pending {
			e.records = append(e.records, record(a, a.Count-a.stored))
		}
		if err := e.store.UpsertAlerts(ctx, e.records); err != nil {
			e.stats.StoreErrors++
			errs = append(errs, fmt.Errorf("detect: store %d alerts: %w", len(e.records), err))
		} else {
			for _, a := range e.pending {
				a.persist = false
				a.stored = a.Count
			}
			clear(e.pending)
			e.pending = e.pending[:0]
		}
		clear(e.records)
	}
	// Trees only after their alerts are in the store: SaveTrees updates existing rows.
	if len(e.treePending) > 0 && len(e.pending) == 0 {
		if err := e.persistTrees(ctx, snaps); err != nil {
			e.stats.StoreErrors++
			errs = append(errs, fmt.Errorf("detect: store %d tree snapshots: %w", len(e.trees), err))
		}
		clear(e.trees)
	}
	if len(e.hits) > 0 && (forceHits || e.hitsDue()) {
		now := e.clock.Now()
		if err := e.store.RecordHits(ctx, e.hits, now); err != nil {
			e.stats.StoreErrors++
			errs = append(errs, fmt.Errorf("detect: record allowlist hits: %w", err))
		} else {
			clear(e.hits)
			e.lastFlush = now
		}
	}
	return errors.Join(errs...)
}

// persistTrees writes the snapshots of the alerts in treePending. An alert no longer
// watched (closed, suppressed) or no longer in memory keeps the tree stored last.
func (e *Engine) persistTrees(ctx context.Context, snaps map[string]proctree.Snapshot) error {
	if e.trees == nil {
		e.trees = make(map[string]proctree.Snapshot)
	}
	for _, a := range e.treePending {
		if !a.watched || e.alerts[a.ID] != a {
			continue
		}
		s, ok := snaps[a.ID]
		if !ok {
			s = e.tree.Snapshot(a.TreeKey)
		}
		e.trees[a.ID] = s
	}
	if err := e.store.SaveTrees(ctx, e.trees); err != nil {
		return err
	}
	for _, a := range e.treePending {
		a.treePersist = false
	}
	clear(e.treePending)
	e.treePending = e.treePending[:0]
	return nil
}

// record converts an alert into the store's shape, with the repeats not yet stored as
// its count (the store adds them to what it has).
func record(a *alertState, count int) triage.AlertRecord {
	ev := &a.Event
	level := ""
	name := ""
	if a.Rule != nil {
		level = a.Rule.Level
		name = a.Rule.Title
	}
	return triage.AlertRecord{
		ID:                a.ID,
		RuleID:            a.key.rule,
		RuleName:          name,
		Level:             level,
		Host:              a.Host,
		User:              ev.Process.User,
		Image:             ev.Process.Image,
		ParentImage:       ev.Parent.Image,
		CommandLine:       ev.Process.CommandLine,
		ParentCommandLine: ev.Parent.CommandLine,
		PID:               ev.Process.PID,
		ParentPID:         ev.Parent.PID,
		EventID:           ev.EventID,
		Origin:            a.origin,
		FirstSeen:         a.FirstSeen,
		LastSeen:          a.LastSeen,
		Count:             count,
		Status:            a.Status,
		Reason:            a.Reason,
		Suppressed:        a.Suppressed,
		AllowlistID:       a.AllowlistID,
		ParentFromTree:    a.ParentFromTree,
		Raw:               ev.Raw,
	}
}
