package detect

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// finalWriteTimeout bounds the last store write when Run is cancelled.
const finalWriteTimeout = 2 * time.Second

// Run is the goroutine that owns the engine. It processes events from in, serves
// commands from cmds, and at most every FlushInterval writes to the store and sends one
// Batch on out with the alerts created or changed since the last one, fresh tree
// snapshots and the counters. When in is closed it sends a final Batch and returns nil;
// when ctx is done it makes a last store write and returns ctx.Err().
//
// Channels and who blocks:
//   - in: Run is the only receiver; it never drops an event. When Run is slow, senders
//     block (the feeds' bounded queues then apply and count their own drop policies).
//   - cmds (may be nil): each Command is answered exactly once on its Reply channel, after
//     the store committed; Run blocks on a Reply only until ctx is done, so give Reply a
//     capacity of 1.
//   - out: Run blocks on it (selecting on ctx.Done): alerts and verdicts are never
//     dropped. A slow UI therefore slows the engine, and with it the feeds.
//
// Run does not close out; the caller owns it.
func (e *Engine) Run(ctx context.Context, in <-chan source.Event, cmds <-chan Command, out chan<- Batch) error {
	ticker := time.NewTicker(e.flushEvery)
	defer ticker.Stop()
	var scratch []Alert
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
			_ = e.persist(wctx, true, nil) // counted in StoreErrors; nobody is left to tell
			cancel()
			return ctx.Err()
		case ev, ok := <-in:
			if !ok {
				return e.emit(ctx, out, true)
			}
			scratch = e.process(&ev, scratch[:0])
			clear(scratch) // drop references to alert events between batches
		case c := <-cmds:
			e.serve(ctx, c)
		case <-ticker.C:
			if err := e.emit(ctx, out, false); err != nil {
				return err
			}
		}
	}
}

// emit writes to the store and sends a Batch if anything changed (always when final).
// Store errors are counted in Stats and retried at the next flush.
func (e *Engine) emit(ctx context.Context, out chan<- Batch, final bool) error {
	// The batch is built before the store write so its snapshots are reused for the
	// store, but sent only after the write, with the counters as they then stand.
	var b Batch
	changed := final || len(e.dirty) > 0 || len(e.treeDirty) > 0 || e.stats != e.sent
	if changed {
		b = e.batch()
	}
	_ = e.persist(ctx, final, b.Trees)
	if !changed {
		if e.stats == e.sent {
			return nil
		}
		b = e.batch() // only the counters changed (a store error)
	}
	b.Stats = e.Stats()
	e.sent = e.stats
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batch collects the changed alerts, their tree snapshots and the counters, and resets
// the change tracking.
func (e *Engine) batch() Batch {
	b := Batch{Stats: e.Stats()}
	e.sent = e.stats
	if len(e.dirty) > 0 {
		b.Alerts = make([]Alert, 0, len(e.dirty))
	}
	for _, a := range e.dirty {
		a.dirty = false
		b.Alerts = append(b.Alerts, a.Alert)
		if a.watched {
			e.snapshot(&b, a)
		}
	}
	clear(e.dirty)
	e.dirty = e.dirty[:0]
	for _, a := range e.treeDirty {
		a.treeDirty = false
		if a.watched && e.alerts[a.ID] == a {
			e.snapshot(&b, a)
		}
	}
	clear(e.treeDirty)
	e.treeDirty = e.treeDirty[:0]
	return b
}

func (e *Engine) snapshot(b *Batch, a *alertState) {
	if b.Trees == nil {
		b.Trees = make(map[string]proctree.Snapshot)
	}
	if _, ok := b.Trees[a.ID]; !ok {
		b.Trees[a.ID] = e.tree.Snapshot(a.TreeKey)
	}
}

// serve answers one command. Replies select on ctx so a caller that went away cannot
// wedge the engine.
func (e *Engine) serve(ctx context.Context, c Command) {
	var (
		res   Result
		reply chan Result
	)
	switch c := c.(type) {
	case SetStatus:
		res, reply = e.setStatus(ctx, c), c.Reply
	case AddAllow:
		res, reply = e.addAllow(ctx, c), c.Reply
	case CountMatching:
		res, reply = e.countMatching(ctx, c.Entry), c.Reply
	case RemoveAllow:
		res, reply = e.removeAllow(ctx, c.ID), c.Reply
	case ListAllow:
		res, reply = Result{Entries: append([]triage.AllowEntry(nil), e.allow...)}, c.Reply
	case History:
		res, reply = e.history(ctx, c.AlertID), c.Reply
	default:
		return // unreachable: Command is sealed
	}
	if reply == nil {
		return
	}
	select {
	case reply <- res:
	case <-ctx.Done():
	}
}

// Do serves one command synchronously, for a caller that owns the engine without Run
// (the CLI, tests). It follows the same rules as Run: the store first, memory after.
func (e *Engine) Do(ctx context.Context, c Command) Result {
	switch c := c.(type) {
	case SetStatus:
		return e.setStatus(ctx, c)
	case AddAllow:
		return e.addAllow(ctx, c)
	case CountMatching:
		return e.countMatching(ctx, c.Entry)
	case RemoveAllow:
		return e.removeAllow(ctx, c.ID)
	case ListAllow:
		return Result{Entries: append([]triage.AllowEntry(nil), e.allow...)}
	case History:
		return e.history(ctx, c.AlertID)
	}
	return Result{Err: fmt.Errorf("detect: unknown command %T", c)}
}

func validStatus(s triage.Status) bool {
	switch s {
	case triage.StatusOpen, triage.StatusAcknowledged, triage.StatusClosed:
		return true
	}
	return false
}

func (e *Engine) setStatus(ctx context.Context, c SetStatus) Result {
	if !validStatus(c.To) {
		return Result{Err: fmt.Errorf("detect: set status of %s: invalid status %q", c.AlertID, c.To)}
	}
	a, inMemory := e.alerts[c.AlertID]
	if e.store != nil {
		// The store must hold the alert before it can record a verdict on it.
		if err := e.persist(ctx, false, nil); err != nil {
			return Result{Err: fmt.Errorf("detect: set status of %s: %w", c.AlertID, err)}
		}
		if _, err := e.store.SetStatus(ctx, c.AlertID, c.To, c.Reason, c.Note); err != nil {
			return Result{Err: fmt.Errorf("detect: set status of %s: %w", c.AlertID, err)}
		}
		if !inMemory {
			rec, err := e.store.Alert(ctx, c.AlertID)
			if err != nil {
				return Result{Err: fmt.Errorf("detect: set status of %s: saved, but reading it back: %w", c.AlertID, err)}
			}
			return Result{Alert: e.fromRecord(rec)}
		}
	} else if !inMemory {
		return Result{Err: fmt.Errorf("detect: set status of %s: %w", c.AlertID, ErrUnknownAlert)}
	}
	e.changeStatus(a, c.To, c.Reason)
	return Result{Alert: a.Alert}
}

// changeStatus updates an in-memory alert after the store accepted the change.
func (e *Engine) changeStatus(a *alertState, to triage.Status, reason triage.Reason) {
	wasOpen := isOpen(a)
	a.Status = to
	a.Reason = reason
	if to == triage.StatusOpen {
		a.Reason = triage.ReasonNone
	}
	nowOpen := isOpen(a)
	switch {
	case wasOpen && !nowOpen:
		e.open--
	case !wasOpen && nowOpen:
		e.open++
	}
	switch {
	case to == triage.StatusClosed:
		e.unwatch(a)
	case !a.Suppressed:
		e.watch(a)
	}
	if !a.dirty {
		a.dirty = true
		e.dirty = append(e.dirty, a)
	}
}

func (e *Engine) addAllow(ctx context.Context, c AddAllow) Result {
	ent := c.Entry
	now := e.clock.Now()
	if ent.Created.IsZero() {
		ent.Created = now
	}
	closed := 0
	if e.store != nil {
		// Alerts still queued must be in the store for close-matching to see them.
		if err := e.persist(ctx, false, nil); err != nil {
			return Result{Err: fmt.Errorf("detect: add allowlist entry: %w", err)}
		}
		stored, n, err := e.store.AddAllow(ctx, ent, c.CloseMatching, c.CloseReason)
		if err != nil {
			return Result{Err: fmt.Errorf("detect: add allowlist entry: %w", err)}
		}
		ent, closed = stored, n
	} else if ent.ID == "" {
		ent.ID = memoryEntryID(ent, len(e.allow))
	}
	e.allow = append(e.allow, ent)
	if c.CloseMatching {
		n := 0
		for _, a := range e.order {
			if a != nil && isOpen(a) && ent.Matches(a.key.rule, &a.Event, now) {
				e.changeStatus(a, triage.StatusClosed, c.CloseReason)
				n++
			}
		}
		if e.store == nil {
			closed = n
		}
	}
	return Result{Entry: ent, Closed: closed}
}

// memoryEntryID names an entry when there is no store to do it.
func memoryEntryID(ent triage.AllowEntry, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%s|%d", n, ent.RuleID, ent.Reason, ent.Created.UnixNano()))
	return "m" + idEncoding.EncodeToString(sum[:5])
}

// countMatching asks the store when there is one: it also knows the alerts that left memory.
func (e *Engine) countMatching(ctx context.Context, ent triage.AllowEntry) Result {
	if e.store != nil {
		if err := e.persist(ctx, false, nil); err != nil {
			return Result{Err: fmt.Errorf("detect: count matching alerts: %w", err)}
		}
		n, err := e.store.CountMatching(ctx, ent)
		if err != nil {
			return Result{Err: fmt.Errorf("detect: count matching alerts: %w", err)}
		}
		return Result{Closed: n}
	}
	now := e.clock.Now()
	n := 0
	for _, a := range e.order {
		if a != nil && isOpen(a) && ent.Matches(a.key.rule, &a.Event, now) {
			n++
		}
	}
	return Result{Closed: n}
}

func (e *Engine) removeAllow(ctx context.Context, id string) Result {
	i := -1
	for j := range e.allow {
		if e.allow[j].ID == id {
			i = j
			break
		}
	}
	if e.store != nil {
		if err := e.store.RemoveAllow(ctx, id); err != nil {
			return Result{Err: fmt.Errorf("detect: remove allowlist entry %s: %w", id, err)}
		}
	} else if i < 0 {
		return Result{Err: fmt.Errorf("detect: remove allowlist entry %s: not found", id)}
	}
	if i >= 0 {
		e.allow = append(e.allow[:i], e.allow[i+1:]...)
	}
	delete(e.hits, id)
	return Result{}
}

func (e *Engine) history(ctx context.Context, id string) Result {
	if e.store == nil {
		return Result{Err: fmt.Errorf("detect: history of %s: %w", id, ErrNoStore)}
	}
	h, err := e.store.History(ctx, id)
	if err != nil {
		return Result{Err: fmt.Errorf("detect: history of %s: %w", id, err)}
	}
	return Result{History: h}
}

// fromRecord rebuilds what it can of an alert that left memory.
func (e *Engine) fromRecord(r triage.AlertRecord) Alert {
	var rule *sigma.Rule
	for _, x := range e.rules.Rules() {
		if ruleKey(x) == r.RuleID {
			rule = x
			break
		}
	}
	return AlertFromRecord(r, rule)
}

// AlertFromRecord rebuilds an alert from its stored record: the original record decoded
// into the full event where it decodes (fields for the detail pane), else the record's
// columns. rule is the loaded rule the record names, or nil when it is not loaded in this
// run (a stand-in is built from the record).
func AlertFromRecord(r triage.AlertRecord, rule *sigma.Rule) Alert {
	a := Alert{
		ID:             r.ID,
		Rule:           rule,
		Host:           r.Host,
		FirstSeen:      r.FirstSeen,
		LastSeen:       r.LastSeen,
		Count:          r.Count,
		Status:         r.Status,
		Reason:         r.Reason,
		Suppressed:     r.Suppressed,
		AllowlistID:    r.AllowlistID,
		ParentFromTree: r.ParentFromTree,
	}
	if a.Rule == nil {
		a.Rule = &sigma.Rule{ID: r.RuleID, Title: r.RuleName, Level: r.Level}
	}
	origin := source.Origin{Feed: "store", Where: r.Origin}
	if len(r.Raw) == 0 || decode.Decode(r.Raw, origin, &a.Event) != nil {
		a.Event = source.Event{
			Host:    r.Host,
			EventID: r.EventID,
			Process: source.Process{PID: r.PID, Image: r.Image, CommandLine: r.CommandLine, User: r.User},
			Parent:  source.Parent{PID: r.ParentPID, Image: r.ParentImage, CommandLine: r.ParentCommandLine},
			Origin:  origin,
			Raw:     r.Raw,
		}
	}
	if a.Event.Parent.Image == "" { // filled from the tree when the alert was raised
		a.Event.Parent.Image = r.ParentImage
	}
	a.Event.ParentFromTree = r.ParentFromTree
	return a
}
