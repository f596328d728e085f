package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// TestProgram runs the model in a real Bubble Tea program: batches arrive on the engine
// channel, feeds are polled, a verdict goes through the fake engine, q quits.
func TestProgram(t *testing.T) {
	as, trees := fixtureAlerts(t)
	batches := make(chan detect.Batch, 1)
	cmds, done := fakeEngine(t, nil)
	m := New(Config{
		Batches: batches, Commands: cmds, Done: done,
		Feeds: func() []source.Status {
			return []source.Status{{Name: "file:demo.ndjson", Kind: "file", State: source.StateTailing}}
		},
		Now:  func() time.Time { return fixedNow },
		User: "analyst",
	})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	batches <- detect.Batch{Alerts: as, Trees: trees}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("dns.exe→net.exe")) },
		teatest.WithDuration(20*time.Second))
	tm.Send(keyMsg("f"))
	tm.Send(keyMsg("enter"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("saved: closed:FP")) },
		teatest.WithDuration(20*time.Second))
	tm.Send(keyMsg("q"))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(20*time.Second)).(Model)
	if r, ok := fm.list.byID["a3"]; !ok || fm.list.rows[r].a.Status != triage.StatusClosed {
		t.Error("verdict not applied")
	}
	// The flash depends on timing; the golden is of a settled frame.
	fm = update(t, fm, flashExpiredMsg{seq: fm.flash.seq})
	fm.feeds = nil
	golden.RequireEqual(t, []byte(fm.View()))
}
