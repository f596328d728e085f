package ui

import (
	"time"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// batchMsg carries the engine batches that were queued when the receive Cmd woke up.
// closed is set when the engine closed its channel (it stopped).
type batchMsg struct {
	batches []detect.Batch
	closed  bool
}

// feedsMsg is a poll of the feeds' statuses.
type feedsMsg struct {
	at       time.Time
	statuses []source.Status
}

// verdictSavedMsg answers a SetStatus: the store committed (or refused) the change.
type verdictSavedMsg struct {
	alertID string
	res     detect.Result
}

// allowSavedMsg answers an AddAllow.
type allowSavedMsg struct {
	alertID string
	res     detect.Result
}

// countedMsg answers a CountMatching; seq drops stale answers.
type countedMsg struct {
	seq int
	res detect.Result
}

// historyMsg answers a History command for one alert.
type historyMsg struct {
	alertID string
	seq     int
	res     detect.Result
}

// allowListedMsg answers a ListAllow.
type allowListedMsg struct{ res detect.Result }

// allowRemovedMsg answers a RemoveAllow.
type allowRemovedMsg struct {
	id  string
	res detect.Result
}

// flashExpiredMsg clears the flash it was armed for, unless a newer one replaced it.
type flashExpiredMsg struct{ seq int }

// allowEntries is a convenience for the manager's list.
type allowEntries = []triage.AllowEntry
