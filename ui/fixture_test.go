package ui

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/rules"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
	"github.com/vigil-soc/vigil/theme"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// fixedNow is the tests' clock.
var fixedNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// builtinRule parses the embedded dns.exe rule.
func builtinRule(t testing.TB) *sigma.Rule {
	t.Helper()
	names := make([]string, 0)
	files := rules.Builtin()
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rs, refused := sigma.ParseRules(files[n], n, nil)
		if len(refused) > 0 {
			t.Fatalf("builtin rule refused: %v", refused)
		}
		if len(rs) > 0 {
			return rs[0]
		}
	}
	t.Fatal("no builtin rule")
	return nil
}

// records decodes ui/testdata/sysmon1.ndjson (real OTRF Sysmon 1 records).
func records(t testing.TB) []source.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sysmon1.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []source.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := int64(0)
	for sc.Scan() {
		line++
		var ev source.Event
		if err := decode.Decode(append([]byte(nil), sc.Bytes()...), source.Origin{Feed: "file:sysmon1.ndjson", Where: "sysmon1.ndjson", Line: line}, &ev); err != nil {
			t.Fatalf("decode line %d: %v", line, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 4 {
		t.Fatalf("got %d records, want 4", len(evs))
	}
	return evs
}

// dnsChild re-parents a real record under dns.exe on host, as the demo does.
func dnsChild(ev source.Event, host string) source.Event {
	ev.Host = host
	ev.Parent.Image = `C:\Windows\System32\dns.exe`
	ev.Parent.PID = 2212
	ev.Parent.CommandLine = `C:\Windows\System32\dns.exe`
	return ev
}

// fixtureAlerts builds three alerts by hand from the real records, plus their trees.
func fixtureAlerts(t testing.TB) ([]detect.Alert, map[string]proctree.Snapshot) {
	t.Helper()
	r := builtinRule(t)
	evs := records(t)
	mk := func(id string, ev source.Event, host string, at time.Time, count int, st triage.Status, reason triage.Reason) detect.Alert {
		ev = dnsChild(ev, host)
		return detect.Alert{ID: id, Rule: r, Event: ev, Host: host, FirstSeen: at, LastSeen: at, Count: count, Status: st, Reason: reason}
	}
	as := []detect.Alert{
		mk("a1", evs[1], "dc01", fixedNow.Add(-3*time.Minute), 1, triage.StatusOpen, ""),
		mk("a2", evs[0], "dc02", fixedNow.Add(-2*time.Minute), 2, triage.StatusOpen, ""),
		mk("a3", evs[3], "dc01", fixedNow.Add(-1*time.Minute), 1, triage.StatusAcknowledged, ""),
	}
	as[2].ParentFromTree = true
	trees := map[string]proctree.Snapshot{
		"a1": {Host: "dc01", Focus: 2, Nodes: []proctree.Node{
			{Depth: 0, Role: proctree.RoleAncestor, PID: 688, Image: `C:\Windows\System32\services.exe`, Synthesized: true},
			{Depth: 1, Role: proctree.RoleAncestor, PID: 2212, Image: `C:\Windows\System32\dns.exe`, CommandLine: `C:\Windows\System32\dns.exe`},
			{Depth: 2, Role: proctree.RoleFocus, PID: as[0].Event.Process.PID, Image: as[0].Event.Process.Image, CommandLine: as[0].Event.Process.CommandLine, User: as[0].Event.Process.User},
			{Depth: 3, Role: proctree.RoleDescendant, PID: 5184, Image: evs[2].Process.Image, CommandLine: evs[2].Process.CommandLine, Exited: true},
			{Depth: 2, Role: proctree.RoleSibling, PID: 4100, Image: `C:\Windows\System32\conhost.exe`, CommandLine: `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`},
		}},
	}
	return as, trees
}

// hostileAlert carries terminal attacks in every displayed field.
func hostileAlert(t testing.TB) detect.Alert {
	as, _ := fixtureAlerts(t)
	a := as[0]
	a.ID = "hostile"
	a.LastSeen = fixedNow
	a.Host = "dc\x1b[2J01"
	a.Event.Host = a.Host
	a.Event.Process.Image = "C:\\Temp\\evil\u202eexe.cmd"
	a.Event.Process.CommandLine = "cmd /c \x1b]0;owned\x07 \x1b]52;c;ZWNobyBwd25lZA==\x07 \x9b31m red"
	a.Event.Process.User = "NT AUTHORITY\\SYSTEM\x1b[5m"
	a.Event.Fields = append([]source.Field{{Name: "CommandLine", Value: a.Event.Process.CommandLine}, {Name: "Evil\x1b[31m", Value: "\u202etxt.exe"}}, a.Event.Fields...)
	a.Event.Raw = []byte("{\"CommandLine\":\"\x1b]0;owned\x07\x9b2J\u202e\"}")
	return a
}

// newTestModel builds a sized model over the fixtures.
func newTestModel(t testing.TB, w, h int, cfg Config) Model {
	t.Helper()
	as, trees := fixtureAlerts(t)
	if cfg.Initial == nil {
		cfg.Initial = as
	}
	if cfg.InitialTrees == nil {
		cfg.InitialTrees = trees
	}
	if cfg.Styles == nil {
		cfg.Styles = theme.New(lipgloss.DefaultRenderer(), theme.Dark)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	cfg.User = "analyst"
	m := New(cfg)
	return update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
}

// update applies one message and returns the model (Cmds are dropped).
func update(t testing.TB, m Model, msg tea.Msg) Model {
	t.Helper()
	nm, _ := m.Update(msg)
	return nm.(Model)
}

// keys sends key presses; "enter", "esc", "tab", "space" and the like are named keys.
func press(t testing.TB, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		var nm tea.Model
		nm, cmd = m.Update(keyMsg(k))
		m = nm.(Model)
	}
	return m, cmd
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// fakeEngine answers commands like the engine would, from its own goroutine.
func fakeEngine(t testing.TB, fail error) (chan detect.Command, chan struct{}) {
	cmds := make(chan detect.Command)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case c := <-cmds:
				switch c := c.(type) {
				case detect.SetStatus:
					c.Reply <- detect.Result{Alert: detect.Alert{ID: c.AlertID, Status: c.To, Reason: c.Reason}, Err: fail}
				case detect.CountMatching:
					c.Reply <- detect.Result{Closed: 2, Err: fail}
				case detect.AddAllow:
					e := c.Entry
					e.ID = "al-1"
					c.Reply <- detect.Result{Entry: e, Closed: 2, Err: fail}
				case detect.History:
					c.Reply <- detect.Result{History: []triage.Audit{{AlertID: c.AlertID, At: fixedNow, Who: "analyst", Host: "ws1", From: triage.StatusOpen, To: triage.StatusAcknowledged, Note: "looking"}}, Err: fail}
				case detect.ListAllow:
					c.Reply <- detect.Result{Entries: []triage.AllowEntry{{ID: "al-1", RuleID: "r", Image: &triage.Pattern{Text: `*\cmd.exe`, Kind: triage.PatternGlob}, Reason: "admin scripts", Expires: fixedNow.Add(-time.Hour)}}, Err: fail}
				case detect.RemoveAllow:
					c.Reply <- detect.Result{Err: fail}
				default:
					panic(fmt.Sprintf("unexpected command %T", c))
				}
			}
		}
	}()
	return cmds, done
}
