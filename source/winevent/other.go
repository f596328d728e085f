//go:build !windows

package winevent

import (
	"context"

	"github.com/vigil-soc/vigil/source"
)

// Feed is a Windows event-log subscription; off Windows it cannot be built.
type Feed struct {
	name     string
	counters source.Counters
}

// New returns ErrUnsupported: there is no Windows event log here. The config is still
// checked first, so a bad --channel is reported as such.
func New(cfg Config) (*Feed, error) {
	if _, err := selections(cfg); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}

// Name returns the feed's name.
func (f *Feed) Name() string { return f.name }

// Run returns ErrUnsupported.
func (f *Feed) Run(context.Context, chan<- source.Event) error { return ErrUnsupported }

// Status reports the feed in error.
func (f *Feed) Status() source.Status {
	s := f.counters.Snapshot(f.name, "winlog")
	s.State, s.Detail = source.StateError, ErrUnsupported.Error()
	return s
}
