//go:build windows

package winevent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/vigil-soc/vigil/source"
)

type memCheckpoints struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memCheckpoints) LoadCheckpoint(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[key], nil
}

func (m *memCheckpoints) SaveCheckpoint(_ context.Context, key string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[key] = append([]byte(nil), v...)
	return nil
}

// report writes an information event to the Application log, as any program may.
func report(t *testing.T, msg string) {
	t.Helper()
	src, _ := windows.UTF16PtrFromString("vigil-test")
	h, err := windows.RegisterEventSource(nil, src)
	if err != nil {
		t.Fatalf("register event source: %v", err)
	}
	defer windows.DeregisterEventSource(h)
	m, _ := windows.UTF16PtrFromString(msg)
	if err := windows.ReportEvent(h, windows.EVENTLOG_INFORMATION_TYPE, 0, 1, 0, 1, 0, &m, nil); err != nil {
		t.Fatalf("report event: %v", err)
	}
}

// run starts a feed on the Application channel and returns its events and a stop func.
func run(t *testing.T, cps source.Checkpointer) (*Feed, <-chan source.Event, func()) {
	t.Helper()
	f, err := New(Config{Channels: []string{"Application"}, Checkpoints: cps})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan source.Event, 256)
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, out) }()
	deadline := time.Now().Add(10 * time.Second)
	for f.Status().State != source.StateTailing {
		if time.Now().After(deadline) {
			t.Fatalf("not tailing: %+v", f.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f, out, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// await returns the next event whose raw XML holds prefix, skipping others.
func await(t *testing.T, out <-chan source.Event, prefix string) source.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-out:
			if strings.Contains(string(ev.Raw), prefix) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event with %q in 15s", prefix)
		}
	}
}

func TestSubscribeApplicationAndResume(t *testing.T) {
	marker := fmt.Sprintf("vigil-test-%d-", time.Now().UnixNano())
	cps := &memCheckpoints{}
	f, out, stop := run(t, cps)
	report(t, marker+"1")
	ev := await(t, out, marker)
	if ev.Channel != "Application" || ev.Format != source.FormatXML || !strings.Contains(string(ev.Raw), marker+"1") {
		t.Fatalf("event channel %q format %v raw %.200q", ev.Channel, ev.Format, ev.Raw)
	}
	stop()
	if st := f.Status(); st.Decoded == 0 || st.Records != st.Decoded+st.DecodeErrors+st.Skipped {
		t.Errorf("counters %+v", st)
	}
	bm := cps.m[checkpointKey("winlog")]
	if _, err := decodeBookmark(bm); err != nil {
		t.Fatalf("saved bookmark %q: %v", bm, err)
	}

	// Written while stopped: the restarted feed starts after the bookmark, so the first
	// marked event it sees is this one, not the first again.
	report(t, marker+"2")
	_, out, stop = run(t, cps)
	defer stop()
	ev = await(t, out, marker)
	if !strings.Contains(string(ev.Raw), marker+"2") {
		t.Fatalf("resumed at %.300q, want the event written while stopped", ev.Raw)
	}
}
