package ui

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/theme"
)

// checkWidth fails when any line of a frame is wider than the terminal or the frame is
// taller than it.
func checkWidth(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Errorf("frame has %d lines, terminal %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d cells, terminal %d: %q", i+1, lw, w, l)
		}
	}
}

func TestViewGolden(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			m := newTestModel(t, size.w, size.h, Config{})
			m = update(t, m, feedsMsg{statuses: []source.Status{{Name: "file:demo.ndjson", Kind: "file", State: source.StateTailing, Records: 1204, Decoded: 1200, DecodeErrors: 4}}})
			v := m.View()
			checkWidth(t, v, size.w, size.h)
			golden.RequireEqual(t, []byte(v))
		})
	}
}

func TestViewHostileGolden(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			h := hostileAlert(t)
			m := newTestModel(t, size.w, size.h, Config{})
			m = update(t, m, batchMsg{batches: []detect.Batch{{Alerts: []detect.Alert{h}, Trees: map[string]proctree.Snapshot{"hostile": {Host: h.Host, Nodes: []proctree.Node{{Role: proctree.RoleFocus, PID: 1, Image: h.Event.Process.Image, CommandLine: h.Event.Process.CommandLine}}}}}}})
			if r := m.list.current(); r == nil || r.a.ID != "a3" {
				t.Fatalf("selection moved when an alert arrived: %+v", r)
			}
			m, _ = press(t, m, "g") // the hostile alert is newest: top
			frames := []string{m.View()}
			m, _ = press(t, m, "6") // Raw tab
			frames = append(frames, m.View())
			v := strings.Join(frames, "\n---- raw tab ----\n")
			for _, bad := range []string{"\x1b", "\x07", "\x9b", "\u202e", "\u009b"} {
				if strings.Contains(v, bad) {
					t.Errorf("frame contains %q", bad)
				}
			}
			if !strings.Contains(v, `\x1b`) || !strings.Contains(v, `\u202e`) {
				t.Error("escapes are not shown visibly")
			}
			for _, f := range frames {
				checkWidth(t, f, size.w, size.h)
			}
			golden.RequireEqual(t, []byte(v))
		})
	}
}

// One ANSI256 set proves that highlights exist where the Ascii goldens cannot show them.
func TestViewANSI256Golden(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	m := newTestModel(t, 120, 40, Config{Styles: theme.New(r, theme.Dark)})
	v := m.View()
	if !strings.Contains(v, "\x1b[") {
		t.Fatal("ANSI256 frame has no SGR sequence")
	}
	checkWidth(t, v, 120, 40)
	golden.RequireEqual(t, []byte(v))
}

func TestViewSizes(t *testing.T) {
	m := New(Config{Styles: theme.New(nil, theme.Dark)})
	if got := m.View(); !strings.Contains(got, "starting") {
		t.Errorf("before a size: %q", got)
	}
	m = update(t, m, tea.WindowSizeMsg{Width: 60, Height: 20})
	if got := m.View(); !strings.Contains(got, "terminal too small") {
		t.Errorf("60x20: %q", got)
	}
	checkWidth(t, m.View(), 60, 20)
	for _, sz := range [][2]int{{80, 24}, {81, 25}, {200, 60}, {97, 31}} {
		m = newTestModel(t, sz[0], sz[1], Config{})
		for _, k := range []string{"", "tab", "?", "esc", "A", "esc", "a"} {
			if k != "" {
				m, _ = press(t, m, k)
			}
			checkWidth(t, m.View(), sz[0], sz[1])
		}
	}
}

func TestSelectionTracksID(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m, _ = press(t, m, "j") // a3 (newest) -> a2
	if got := m.list.current().a.ID; got != "a2" {
		t.Fatalf("selected %s, want a2", got)
	}
	as, _ := fixtureAlerts(t)
	newer := as[0]
	newer.ID, newer.LastSeen = "a9", fixedNow
	m = update(t, m, batchMsg{batches: []detect.Batch{{Alerts: []detect.Alert{newer}}}})
	if got := m.list.current().a.ID; got != "a2" {
		t.Errorf("after a new alert, selected %s, want a2", got)
	}
	if m.list.rows[m.list.view[0]].a.ID != "a9" {
		t.Error("the new alert is not first (newest first)")
	}
}

// Runes that arrive in one read come as one message; each is a key of its own.
func TestRunesInOneMessage(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("Gf")})
	if m.mode != modeNote || m.note.alertID != "a1" {
		t.Errorf("\"Gf\": mode %v on %q, want the note dialog on a1", m.mode, m.note.alertID)
	}
	m = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("no")})
	if m.note.input.Value() != "no" {
		t.Errorf("typed %q", m.note.input.Value())
	}
}

func TestFilterAndToggles(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m, _ = press(t, m, "/", "d", "c", "0", "2")
	if m.mode != modeFilter || len(m.list.view) != 1 || m.list.current().a.Host != "dc02" {
		t.Fatalf("filter dc02: mode %v, %d rows", m.mode, len(m.list.view))
	}
	m, _ = press(t, m, "q") // typed into the filter, not quit
	if m.list.filter != "dc02q" || len(m.list.view) != 0 {
		t.Errorf("q in filter: filter %q, %d rows", m.list.filter, len(m.list.view))
	}
	m, _ = press(t, m, "esc")
	if m.list.filter != "" || len(m.list.view) != 3 {
		t.Errorf("esc: filter %q, %d rows", m.list.filter, len(m.list.view))
	}
	m, _ = press(t, m, "/", "n", "e", "t", ".", "e", "x", "e", "enter")
	if len(m.list.view) != 1 || m.mode != modeNormal {
		t.Errorf("filter by image: %d rows", len(m.list.view))
	}
	m, _ = press(t, m, "esc", "s")
	if m.list.sort != sortSeverity {
		t.Errorf("sort = %v", m.list.sort)
	}
	m, _ = press(t, m, "s")
	if m.list.sort != sortHost || m.list.rows[m.list.view[0]].a.Host != "dc01" {
		t.Errorf("sort host: first %s", m.list.rows[m.list.view[0]].a.Host)
	}
}

// run calls a Cmd and returns its message, unwrapping batches to the first that answers.
func run(t *testing.T, c tea.Cmd) tea.Msg {
	t.Helper()
	if c == nil {
		t.Fatal("no command")
	}
	msg := c()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			if c == nil {
				continue
			}
			switch m := c().(type) {
			case verdictSavedMsg, allowSavedMsg, countedMsg, historyMsg, allowListedMsg, allowRemovedMsg:
				return m
			}
		}
		t.Fatal("no result message in batch")
	}
	return msg
}

func TestVerdictFlow(t *testing.T) {
	cmds, done := fakeEngine(t, nil)
	m := newTestModel(t, 120, 40, Config{Commands: cmds, Done: done})
	m, c := press(t, m, "f")
	if m.mode != modeNote || c != nil {
		t.Fatalf("f: mode %v", m.mode)
	}
	m, c = press(t, m, "d", "u", "p", "enter")
	if got := m.list.current().saving; got != "saving…" {
		t.Errorf("row shows %q while saving", got)
	}
	if !strings.Contains(m.View(), "saving…") {
		t.Error("view does not show saving…")
	}
	msg := run(t, c)
	v, ok := msg.(verdictSavedMsg)
	if !ok || v.alertID != "a3" || v.res.Alert.Reason != triage.ReasonFalsePositive {
		t.Fatalf("message %#v", msg)
	}
	m = update(t, m, msg)
	if m.list.current() != nil && m.list.current().a.ID == "a3" {
		t.Error("closed alert still shown with closed hidden")
	}
	m, _ = press(t, m, "C")
	i := m.list.byID["a3"]
	if r := m.list.rows[i]; r.saving != "" || r.a.Status != triage.StatusClosed || statusWord(&r.a) != "closed:FP" {
		t.Errorf("after save: %+v", r.a.Status)
	}
}

func TestVerdictFailureKeepsAlert(t *testing.T) {
	cmds, done := fakeEngine(t, errors.New("disk full"))
	m := newTestModel(t, 120, 40, Config{Commands: cmds, Done: done})
	m, c := press(t, m, "t", "enter")
	m = update(t, m, run(t, c))
	r := m.list.current()
	if r == nil || r.a.ID != "a3" || r.a.Status != triage.StatusAcknowledged || r.saving != "" {
		t.Fatalf("after failure: %+v", r)
	}
	if m.flash.level != flashError || !strings.Contains(m.flash.text, "disk full") {
		t.Errorf("flash %+v", m.flash)
	}
	m = update(t, m, flashExpiredMsg{seq: m.flash.seq - 1})
	if m.flash.text == "" {
		t.Error("a stale expiry cleared the flash")
	}
	m = update(t, m, flashExpiredMsg{seq: m.flash.seq})
	if m.flash.text != "" {
		t.Error("flash did not clear")
	}
}

func TestReadOnly(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{ReadOnly: true})
	for _, k := range []string{"f", "t", "b", "c", "o", "a"} {
		m2, _ := press(t, m, k)
		if m2.mode != modeNormal || !strings.Contains(m2.flash.text, "read-only") {
			t.Errorf("%s: mode %v flash %q", k, m2.mode, m2.flash.text)
		}
	}
	m, _ = press(t, m, "?")
	if v := m.View(); !strings.Contains(v, "false positive (off: read-only)") {
		t.Error("help does not show verdict keys disabled")
	}
}

func TestAllowlistDialog(t *testing.T) {
	cmds, done := fakeEngine(t, nil)
	m := newTestModel(t, 120, 40, Config{Commands: cmds, Done: done})
	m, _ = press(t, m, "j", "j") // a1: cmd.exe on dc01
	m, c := press(t, m, "a")
	if m.mode != modeAllow {
		t.Fatal("a did not open the dialog")
	}
	first := m.allow.countSeq
	// Widen the image: the stale count for the first sequence number is dropped.
	m, cw := press(t, m, "down", "w")
	m = update(t, m, countedMsg{seq: first, res: detect.Result{Closed: 99}})
	if m.allow.count == 99 {
		t.Error("stale count accepted")
	}
	m = update(t, m, run(t, cw))
	if m.allow.count != 2 {
		t.Errorf("count %d, want 2", m.allow.count)
	}
	_ = c
	e := m.allow.entry("analyst", fixedNow)
	if e.Image == nil || e.Image.Kind != triage.PatternGlob || e.Image.Text != `*\cmd.exe` {
		t.Errorf("widened image %+v", e.Image)
	}
	// Turn the command line off; reason is required.
	m, _ = press(t, m, "down", "space", "enter")
	if m.allow.err == "" || m.allow.confirm {
		t.Error("accepted without a reason")
	}
	m, _ = press(t, m, "down", "down", "down")
	if m.allow.cursor != rowReason {
		t.Fatalf("cursor %d, want reason row", m.allow.cursor)
	}
	m, _ = press(t, m, "a", "d", "m", "i", "n", "down", "7", "d", "enter")
	if !m.allow.confirm {
		t.Fatalf("no confirmation step: err %q", m.allow.err)
	}
	if !strings.Contains(m.View(), "DANGER") {
		t.Error("confirmation is not shown")
	}
	m, c = press(t, m, "y")
	msg := run(t, c)
	as, ok := msg.(allowSavedMsg)
	if !ok || as.res.Entry.CommandLine != nil || as.res.Entry.Reason != "admin" || !as.res.Entry.Expires.Equal(fixedNow.Add(7*24*60*60*1e9)) {
		t.Fatalf("saved %#v", msg)
	}
	m = update(t, m, msg)
	if !strings.Contains(m.flash.text, "al-1") {
		t.Errorf("flash %q", m.flash.text)
	}
}

func TestAllowlistManager(t *testing.T) {
	cmds, done := fakeEngine(t, nil)
	m := newTestModel(t, 120, 40, Config{Commands: cmds, Done: done})
	m, c := press(t, m, "A")
	m = update(t, m, run(t, c))
	if !strings.Contains(m.View(), "EXPIRED") {
		t.Error("expired entry not flagged")
	}
	m, _ = press(t, m, "x")
	if !m.mgr.confirm || !strings.Contains(m.View(), "remove entry al-1") {
		t.Fatal("x does not ask")
	}
	m, c = press(t, m, "y")
	msg := run(t, c)
	if r, ok := msg.(allowRemovedMsg); !ok || r.id != "al-1" {
		t.Fatalf("msg %#v", msg)
	}
}

func TestHistoryTab(t *testing.T) {
	cmds, done := fakeEngine(t, nil)
	m := newTestModel(t, 120, 40, Config{Commands: cmds, Done: done})
	nm, c := m.Update(keyMsg("5"))
	m = nm.(Model)
	if !strings.Contains(m.View(), "loading") {
		t.Error("history tab does not say loading")
	}
	m = update(t, m, run(t, c))
	if v := m.View(); !strings.Contains(v, "open → acknowledged") || !strings.Contains(v, "looking") {
		t.Errorf("history not shown:\n%s", v)
	}
}

func TestTreeFocusAndOpen(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m, _ = press(t, m, "G", "tab") // a1 has a tree
	if m.focus != paneTree || m.treeCursor != 2 {
		t.Fatalf("focus %v cursor %d", m.focus, m.treeCursor)
	}
	m, _ = press(t, m, "j", "enter")
	if m.treeOpen != 3 || !strings.Contains(m.View(), "Process (from the tree)") {
		t.Error("enter does not show the process's details")
	}
}

func TestMouse(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m = update(t, m, tea.MouseMsg{X: 5, Y: m.lay.Alerts.Y + 2 + 2, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if got := m.list.current().a.ID; got != "a1" {
		t.Errorf("click selected %s, want a1 (third row)", got)
	}
}

func TestBatchAndFeeds(t *testing.T) {
	ch := make(chan detect.Batch, 4)
	m := newTestModel(t, 120, 40, Config{Batches: ch, Feeds: func() []source.Status { return nil }})
	ch <- detect.Batch{Stats: detect.Stats{RulesRefused: 2}}
	ch <- detect.Batch{Stats: detect.Stats{RulesRefused: 3}}
	msg := waitBatch(ch)()
	b, ok := msg.(batchMsg)
	if !ok || len(b.batches) != 2 || b.closed {
		t.Fatalf("drained %#v", msg)
	}
	m = update(t, m, msg)
	if m.stats.RulesRefused != 3 {
		t.Errorf("stats %+v", m.stats)
	}
	close(ch)
	m = update(t, m, waitBatch(ch)())
	if !m.engineDone {
		t.Error("closed channel not noticed")
	}
	if m2, _ := press(t, m, "f"); m2.mode != modeNormal || !strings.Contains(m2.flash.text, "engine stopped") {
		t.Errorf("verdict after the engine stopped: mode %v flash %q", m2.mode, m2.flash.text)
	}
	t0 := fixedNow
	m = update(t, m, feedsMsg{at: t0, statuses: []source.Status{{Name: "f", Decoded: 100}}})
	m = update(t, m, feedsMsg{at: t0.Add(500e6), statuses: []source.Status{{Name: "f", Decoded: 150}}})
	if m.feeds[0].rate != 100 {
		t.Errorf("rate %v, want 100 ev/s", m.feeds[0].rate)
	}
	m = update(t, m, feedsMsg{at: t0.Add(1000e6), statuses: []source.Status{{Name: "f", Decoded: 150}}})
	if m.feeds[0].rate != 50 {
		t.Errorf("rate over the window %v, want 50 ev/s", m.feeds[0].rate)
	}
	for i := 3; i < 30; i++ {
		m = update(t, m, feedsMsg{at: t0.Add(time.Duration(i) * 500e6), statuses: []source.Status{{Name: "f", Decoded: 150}}})
	}
	if m.feeds[0].rate != 0 || len(m.feeds[0].samples) != rateWindow {
		t.Errorf("idle feed: rate %v, %d samples", m.feeds[0].rate, len(m.feeds[0].samples))
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]string{"": "0001-01-01T00:00:00Z", "7d": "2026-12-11T12:00:00Z", "1d12h": "2026-12-06T00:00:00Z", "2026-12-31": "2026-12-31T23:59:59Z"} {
		got, err := parseExpiry(in, fixedNow)
		if err != nil || got.Format("2006-01-02T15:04:05Z07:00") != want {
			t.Errorf("parseExpiry(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"7x", "d", "2020-01-01", "0d", "99999999d", "-1d"} {
		if _, err := parseExpiry(in, fixedNow); err == nil {
			t.Errorf("parseExpiry(%q) accepted", in)
		}
	}
}

func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"7d", "24h", "2026-12-31", "1d2h3m", "2026-12-31T10:00:00Z", "", "9999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiry(s, fixedNow)
		if err == nil && !got.IsZero() && !got.After(fixedNow) {
			t.Fatalf("parseExpiry(%q) = %v, not in the future", s, got)
		}
	})
}

func TestEvictKeepsSelectionAndOpenAlerts(t *testing.T) {
	as, trees := fixtureAlerts(t)
	m := newTestModel(t, 120, 40, Config{MaxAlerts: 10, Initial: as, InitialTrees: trees})
	m, _ = press(t, m, "G") // select a1, the oldest
	more := manyAlerts(t, 20)
	for i := range more {
		more[i].LastSeen = fixedNow.Add(time.Hour + time.Duration(i)*time.Second)
		if i < 5 {
			more[i].Status = triage.StatusClosed
		}
	}
	m = update(t, m, batchMsg{batches: []detect.Batch{{Alerts: more}}})
	if len(m.list.rows) != 10 || m.list.evicted != 13 {
		t.Fatalf("held %d, evicted %d; want 10 and 13", len(m.list.rows), m.list.evicted)
	}
	if r := m.list.current(); r == nil || r.a.ID != "a1" {
		t.Errorf("selection lost: %+v", r)
	}
	if _, ok := m.trees["a1"]; !ok {
		t.Error("the selected alert's tree was dropped")
	}
	for _, r := range m.list.rows {
		if r.a.Status == triage.StatusClosed {
			t.Errorf("closed alert %s kept while open ones were dropped", r.a.ID)
		}
	}
	open, _ := m.list.openCount()
	if open != 10 {
		t.Errorf("open count %d, want 10", open)
	}
	for k := 1; k < len(m.list.view); k++ {
		if m.list.less(m.list.view[k], m.list.view[k-1]) {
			t.Fatalf("view out of order at %d after eviction", k)
		}
	}
	if len(m.list.order) != len(m.list.rows) {
		t.Errorf("order has %d entries for %d rows", len(m.list.order), len(m.list.rows))
	}
	if !strings.Contains(m.View(), "13 older alerts only in the store") {
		t.Error("eviction not shown")
	}
}

// The process tree focused, cursor on a child, and the Mitigations tab.
func TestViewTreeGolden(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m, _ = press(t, m, "G", "tab", "j", "3")
	v := m.View()
	checkWidth(t, v, 120, 40)
	golden.RequireEqual(t, []byte(v))
}
