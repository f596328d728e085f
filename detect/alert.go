// Package detect is vigil's detection engine: events in, alerts out. It owns the
// process tree, the compiled rules, the allowlist and the triage store while it runs.
package detect

import (
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// Clock is injected so the engine is deterministic in tests.
type Clock interface{ Now() time.Time }

// Alert is one rule's match, grouped over identical repeats. Values handed out by the
// engine are copies, except that Event.Fields and Event.Raw are shared with the engine's
// own copy: nobody modifies them after the alert is created, and receivers must not either.
type Alert struct {
	ID             string
	Rule           *sigma.Rule // immutable, shared
	Event          source.Event
	Host           string
	TreeKey        proctree.Key
	FirstSeen      time.Time
	LastSeen       time.Time
	Count          int
	Status         triage.Status
	Reason         triage.Reason
	Suppressed     bool
	AllowlistID    string
	ParentFromTree bool
}

// Stats counts what the engine did. All counters only grow, except OpenAlerts (alerts in
// memory neither closed nor suppressed) and the rule counts. Invariant: Matches = Alerts +
// Grouped (every match raised an alert or bumped one); Suppressed counts alerts, not
// sightings.
type Stats struct {
	Events, ProcessStarts, Matches, Alerts, Grouped, Suppressed uint64
	StoreErrors                                                 uint64
	TreeNodes, TreeEvicted                                      uint64
	OpenAlerts                                                  int
	RulesLoaded, RulesRefused                                   int
}

// Batch is what the engine emits at most every flush interval: alerts created or
// changed since the last batch, fresh tree snapshots for alerts whose tree changed
// (keyed by alert id), and the counters.
type Batch struct {
	Alerts []Alert
	Trees  map[string]proctree.Snapshot
	Stats  Stats
}

// Command is a request to the engine goroutine (from the UI or a CLI). Each carries a
// Reply channel with capacity 1 that the engine answers exactly once.
type Command interface{ command() }

// Result answers a Command. Err is set when the store refused the change: nothing was changed.
type Result struct {
	Alert   Alert               // SetStatus: the alert after the change
	Entry   triage.AllowEntry   // AddAllow: the stored entry (with its id)
	Closed  int                 // AddAllow with CloseMatching, or CountMatching: alerts closed / that would close
	Entries []triage.AllowEntry // ListAllow
	History []triage.Audit      // History
	Err     error
}

// SetStatus changes an alert's status; the reply comes after the store committed.
type SetStatus struct {
	AlertID string
	To      triage.Status
	Reason  triage.Reason
	Note    string
	Reply   chan Result
}

// AddAllow stores an allowlist entry, optionally closing every open alert it matches in
// the same transaction.
type AddAllow struct {
	Entry         triage.AllowEntry
	CloseMatching bool
	CloseReason   triage.Reason
	Reply         chan Result
}

// CountMatching says how many open alerts an entry would close, without changing anything.
type CountMatching struct {
	Entry triage.AllowEntry
	Reply chan Result
}

// RemoveAllow deletes an allowlist entry.
type RemoveAllow struct {
	ID    string
	Reply chan Result
}

// ListAllow lists the allowlist (expired entries included).
type ListAllow struct{ Reply chan Result }

// History returns an alert's audit trail.
type History struct {
	AlertID string
	Reply   chan Result
}

func (SetStatus) command()     {}
func (AddAllow) command()      {}
func (CountMatching) command() {}
func (RemoveAllow) command()   {}
func (ListAllow) command()     {}
func (History) command()       {}
