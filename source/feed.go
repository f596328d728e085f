package source

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Feed is a producer of events: a watched file, a syslog listener or dialer, a Windows
// event subscription. Run owns the feed's sockets and files; it sends decoded events on
// out (following the feed's documented blocking/dropping policy), returns when ctx is
// done, and never closes out (the caller owns it). Status may be called from any
// goroutine at any time.
type Feed interface {
	Name() string
	Run(ctx context.Context, out chan<- Event) error
	Status() Status
}

// Checkpointer persists a feed's resume position (file offsets, Windows bookmarks).
// The triage store implements it; feeds declare they need it, never which store it is.
type Checkpointer interface {
	LoadCheckpoint(ctx context.Context, key string) ([]byte, error) // nil, nil when absent
	SaveCheckpoint(ctx context.Context, key string, value []byte) error
}

// State is a feed's condition as shown to the analyst.
type State uint8

const (
	StateStarting State = iota
	StateListening
	StateConnected
	StateReconnecting
	StateTailing
	StateDone // a one-shot read reached its end
	StateError
)

var stateNames = [...]string{"starting", "listening", "connected", "reconnecting", "tailing", "done", "error"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Status is a value snapshot of a feed, safe to hand to the UI.
type Status struct {
	Name   string // "tcp://0.0.0.0:1514", "file:/var/log/sysmon.json"
	Kind   string // "file", "udp", "tcp", "tls", "connect", "winlog", "stdin"
	State  State
	Detail string // why (error text), or "reconnecting in 4s", or peer count
	// Counters. Invariant once drained: Records = Decoded + DecodeErrors + Skipped.
	Records        uint64 // records framed out of the stream
	Bytes          uint64
	Decoded        uint64 // records decoded into events
	DecodeErrors   uint64
	Skipped        uint64 // records over the size limit
	Dropped        uint64 // decoded events dropped because the queue was full (UDP, TCP past its limit)
	Disconnects    uint64 // dialer: connections lost; listener: peers refused
	ErrorsByFormat [FormatCount]uint64
	LastEvent      time.Time
	LastErrors     []string // newest last, at most LastErrorsCap, already "where: reason"
}

// LastErrorsCap bounds the decode-error history each feed keeps.
const LastErrorsCap = 16

// Counters is the concurrency-safe accumulator behind a feed's Status. Producers bump
// it from their own goroutines; Snapshot copies it out.
type Counters struct {
	Records, Bytes, Decoded, DecodeErrors, Skipped, Dropped, Disconnects atomic.Uint64
	errorsByFormat                                                       [FormatCount]atomic.Uint64
	lastEvent                                                            atomic.Int64 // unix nanos

	mu     sync.Mutex
	state  State
	detail string
	errs   []string
}

// SetState records the feed's condition and why.
func (c *Counters) SetState(s State, detail string) {
	c.mu.Lock()
	c.state, c.detail = s, detail
	c.mu.Unlock()
}

// DecodeError counts a failed record and remembers its message (bounded).
func (c *Counters) DecodeError(f Format, msg string) {
	c.DecodeErrors.Add(1)
	if int(f) < FormatCount {
		c.errorsByFormat[f].Add(1)
	}
	c.mu.Lock()
	if len(c.errs) == LastErrorsCap {
		copy(c.errs, c.errs[1:])
		c.errs = c.errs[:LastErrorsCap-1]
	}
	c.errs = append(c.errs, msg)
	c.mu.Unlock()
}

// Event counts a decoded event and its time.
func (c *Counters) Event(t time.Time) {
	c.Decoded.Add(1)
	c.lastEvent.Store(t.UnixNano())
}

// Snapshot copies the counters into a Status.
func (c *Counters) Snapshot(name, kind string) Status {
	s := Status{
		Name: name, Kind: kind,
		Records: c.Records.Load(), Bytes: c.Bytes.Load(), Decoded: c.Decoded.Load(),
		DecodeErrors: c.DecodeErrors.Load(), Skipped: c.Skipped.Load(), Dropped: c.Dropped.Load(),
		Disconnects: c.Disconnects.Load(),
	}
	for i := range s.ErrorsByFormat {
		s.ErrorsByFormat[i] = c.errorsByFormat[i].Load()
	}
	if n := c.lastEvent.Load(); n != 0 {
		s.LastEvent = time.Unix(0, n)
	}
	c.mu.Lock()
	s.State, s.Detail = c.state, c.detail
	s.LastErrors = append([]string(nil), c.errs...)
	c.mu.Unlock()
	return s
}
