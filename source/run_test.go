package source

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeFeed struct {
	name string
	run  func(ctx context.Context, out chan<- Event) error
}

func (f *fakeFeed) Name() string                                    { return f.name }
func (f *fakeFeed) Run(ctx context.Context, out chan<- Event) error { return f.run(ctx, out) }
func (f *fakeFeed) Status() Status                                  { return Status{Name: f.name} }

func sendN(n int, id uint64) func(ctx context.Context, out chan<- Event) error {
	return func(ctx context.Context, out chan<- Event) error {
		for i := range n {
			select {
			case out <- Event{EventID: uint32(id), RecordID: uint64(i)}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
}

func TestRunAllClosesOutAfterAllFeeds(t *testing.T) {
	out := make(chan Event)
	feeds := []Feed{
		&fakeFeed{name: "a", run: sendN(100, 1)},
		&fakeFeed{name: "b", run: sendN(50, 2)},
	}
	done := make(chan error, 1)
	go func() { done <- RunAll(context.Background(), feeds, out) }()
	counts := map[uint32]int{}
	for ev := range out { // ends only if RunAll closes out
		counts[ev.EventID]++
	}
	if err := <-done; err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	if counts[1] != 100 || counts[2] != 50 {
		t.Fatalf("counts = %v, want 1:100 2:50", counts)
	}
}

func TestRunAllJoinsErrorsAndRecoversPanics(t *testing.T) {
	boom := errors.New("bind failed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feeds := []Feed{
		&fakeFeed{name: "tcp://:1514", run: func(context.Context, chan<- Event) error { return boom }},
		&fakeFeed{name: "file:x", run: func(context.Context, chan<- Event) error { panic("index out of range") }},
		&fakeFeed{name: "waits", run: func(ctx context.Context, _ chan<- Event) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		nil,
	}
	out := make(chan Event)
	done := make(chan error, 1)
	go func() { done <- RunAll(ctx, feeds, out) }()
	// Give the failing feeds a moment, then stop the waiting one: its cancellation must
	// not appear in the joined error.
	time.AfterFunc(20*time.Millisecond, cancel)
	err := <-done
	if _, open := <-out; open {
		t.Fatal("out not closed")
	}
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	msg := err.Error()
	for _, want := range []string{"tcp://:1514: bind failed", "file:x: panic: index out of range", "feed: nil feed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if errors.Is(err, context.Canceled) || strings.Contains(msg, "waits") {
		t.Errorf("cancellation leaked into the error: %v", err)
	}
}

func TestRunAllNoFeeds(t *testing.T) {
	out := make(chan Event)
	if err := RunAll(context.Background(), nil, out); err != nil {
		t.Fatal(err)
	}
	if _, open := <-out; open {
		t.Fatal("out not closed")
	}
}

func TestRunAllKeepsFeedTimeoutWhileContextLive(t *testing.T) {
	feeds := []Feed{&fakeFeed{name: "connect", run: func(context.Context, chan<- Event) error {
		return context.DeadlineExceeded // e.g. a dial timeout of the feed's own making
	}}}
	err := RunAll(context.Background(), feeds, make(chan Event))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the feed's own deadline error kept", err)
	}
}
