package detect

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// dnsRule is the logic of the built-in rule (SigmaHQ a4e3d776), inline so these tests
// exercise the engine and not the embedded metadata.
const dnsRule = `title: Unusual Child Process of dns.exe
id: a4e3d776-f12e-42c2-8510-9e6ed1f43ec3
status: test
level: high
tags:
  - attack.initial-access
  - attack.t1133
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    ParentImage|endswith: '\dns.exe'
  filter:
    Image|endswith: '\conhost.exe'
  condition: selection and not filter
`

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testSet(t testing.TB, docs ...string) *sigma.Set {
	t.Helper()
	var all []*sigma.Rule
	for i, d := range docs {
		rules, refused := sigma.ParseRules([]byte(d), fmt.Sprintf("rule%d.yml", i), nil)
		if len(refused) > 0 {
			t.Fatalf("rule %d refused: %v", i, refused)
		}
		all = append(all, rules...)
	}
	set, refused := sigma.NewSet(all)
	if len(refused) > 0 {
		t.Fatalf("set refused: %v", refused)
	}
	return set
}

func newTestEngine(t testing.TB, store *triage.Store, clock Clock) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background(), Config{Rules: testSet(t, dnsRule), Store: store, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func openStore(t testing.TB) *triage.Store {
	t.Helper()
	s, err := triage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sysmon1 builds a Sysmon process-creation event.
func sysmon1(at time.Time, host string, pid, ppid uint32, image, cmd, parentImage string) source.Event {
	return source.Event{
		Time:     at,
		Host:     host,
		Kind:     source.KindProcessStart,
		Format:   source.FormatXML,
		Provider: "Microsoft-Windows-Sysmon",
		Channel:  "Microsoft-Windows-Sysmon/Operational",
		EventID:  1,
		Version:  5,
		Process:  source.Process{PID: pid, Image: image, CommandLine: cmd, User: `NT AUTHORITY\SYSTEM`},
		Parent:   source.Parent{PID: ppid, Image: parentImage},
		Origin:   source.Origin{Feed: "test", Where: "events.xml", Line: 1},
		Fields:   []source.Field{{Name: "Image", Value: image}, {Name: "ParentImage", Value: parentImage}},
		Raw:      []byte("<Event/>"),
	}
}

const (
	dnsExe = `C:\Windows\System32\dns.exe`
	cmdExe = `C:\Windows\System32\cmd.exe`
)

func process(t *testing.T, e *Engine, ev source.Event) []Alert {
	t.Helper()
	out, err := e.Process(context.Background(), &ev, nil)
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	return out
}

func TestProcessMatchesOnlyDNSChildren(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	cases := []struct {
		name   string
		image  string
		parent string
		want   int
	}{
		{"cmd under dns", cmdExe, dnsExe, 1},
		{"conhost under dns", `C:\Windows\System32\conhost.exe`, dnsExe, 0},
		{"cmd under notdns", cmdExe, `C:\x\notdns.exe`, 0},
		{"nt path parent", cmdExe, `\Device\HarddiskVolume2\Windows\System32\DNS.EXE`, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := process(t, e, sysmon1(t0, "dc01", uint32(100+i), 2212, c.image, "x", c.parent))
			if len(got) != c.want {
				t.Fatalf("alerts = %d, want %d", len(got), c.want)
			}
		})
	}
}

func TestGroupingWindow(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	first := process(t, e, sysmon1(t0, "dc01", 10, 2212, cmdExe, "cmd /c whoami", dnsExe))
	second := process(t, e, sysmon1(t0.Add(10*time.Minute), "dc01", 11, 2212, cmdExe, "cmd /c whoami", dnsExe))
	other := process(t, e, sysmon1(t0.Add(11*time.Minute), "dc01", 12, 2212, cmdExe, "cmd /c hostname", dnsExe))
	late := process(t, e, sysmon1(t0.Add(10*time.Minute+time.Hour+time.Second), "dc01", 13, 2212, cmdExe, "cmd /c whoami", dnsExe))

	if len(first) != 1 || len(second) != 1 || len(other) != 1 || len(late) != 1 {
		t.Fatalf("want one alert per match, got %d %d %d %d", len(first), len(second), len(other), len(late))
	}
	if second[0].ID != first[0].ID || second[0].Count != 2 || !second[0].LastSeen.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("repeat not grouped: %+v", second[0])
	}
	if !second[0].FirstSeen.Equal(t0) {
		t.Errorf("first seen = %v, want %v", second[0].FirstSeen, t0)
	}
	if other[0].ID == first[0].ID {
		t.Error("different command line grouped into the same alert")
	}
	if late[0].ID == first[0].ID || late[0].Count != 1 {
		t.Errorf("repeat after the window grouped: %+v", late[0])
	}
	s := e.Stats()
	if s.Events != 4 || s.Matches != 4 || s.Alerts != 3 || s.Grouped != 1 || s.OpenAlerts != 3 {
		t.Errorf("stats = %+v", s)
	}
	if s.Matches != s.Alerts+s.Grouped {
		t.Errorf("matches %d != alerts %d + grouped %d", s.Matches, s.Alerts, s.Grouped)
	}
}

func TestAlertIDsAreDeterministic(t *testing.T) {
	ids := func() []string {
		e := newTestEngine(t, nil, &fakeClock{t0})
		var out []string
		for i, cmd := range []string{"a", "b", "a"} {
			for _, a := range process(t, e, sysmon1(t0.Add(time.Duration(i)*time.Second), "dc01", uint32(i), 2212, cmdExe, cmd, dnsExe)) {
				out = append(out, a.ID)
			}
		}
		return out
	}
	a, b := ids(), ids()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("ids differ between runs: %v vs %v", a, b)
	}
	if a[0] != a[2] || a[0] == a[1] || len(a[0]) != 16 {
		t.Errorf("ids = %v", a)
	}
}

func TestEnrichFromTree(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	dns := sysmon1(t0, "dc01", 2212, 688, dnsExe, "dns.exe", `C:\Windows\System32\services.exe`)
	if got := process(t, e, dns); len(got) != 0 {
		t.Fatalf("dns.exe itself alerted: %+v", got)
	}
	// A Security 4688 version 1 names only the creator's PID: the parent's image must come
	// from the tree.
	child := source.Event{
		Time:     t0.Add(time.Minute),
		Host:     "dc01",
		Kind:     source.KindProcessStart,
		Provider: "Microsoft-Windows-Security-Auditing",
		Channel:  "Security",
		EventID:  4688,
		Version:  1,
		Process:  source.Process{PID: 5120, Image: cmdExe, CommandLine: `cmd /c whoami`},
		Parent:   source.Parent{PID: 2212},
	}
	got := process(t, e, child)
	if len(got) != 1 {
		t.Fatalf("alerts = %d, want 1 (parent from tree)", len(got))
	}
	a := got[0]
	if !a.ParentFromTree || !a.Event.ParentFromTree || a.Event.Parent.Image != dnsExe {
		t.Errorf("alert not enriched: parentFromTree=%v parent=%q", a.ParentFromTree, a.Event.Parent.Image)
	}
	snap := e.tree.Snapshot(a.TreeKey)
	if len(snap.Nodes) < 2 || snap.Nodes[snap.Focus].PID != 5120 {
		t.Errorf("snapshot around the alert = %+v", snap)
	}
}

func TestAllowlistSuppressionAndExpiry(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t0}
	store := openStore(t)
	e := newTestEngine(t, store, clock)
	img, err := triage.ParsePattern(`*\cmd.exe`)
	if err != nil {
		t.Fatal(err)
	}
	res := e.Do(ctx, AddAllow{Entry: triage.AllowEntry{
		RuleID:  "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3",
		Image:   &img,
		Expires: t0.Add(time.Hour),
		Reason:  "dns admin scripts",
	}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := process(t, e, sysmon1(t0, "dc01", 10, 2212, cmdExe, "cmd /c a", dnsExe))
	if len(got) != 1 || !got[0].Suppressed || got[0].AllowlistID != res.Entry.ID {
		t.Fatalf("not suppressed by %s: %+v", res.Entry.ID, got)
	}
	if s := e.Stats(); s.Suppressed != 1 || s.OpenAlerts != 0 {
		t.Errorf("stats = %+v", s)
	}

	clock.Advance(2 * time.Hour) // the entry expires
	// The same process line again, within the grouping window of the suppressed alert:
	// it must not hide in it.
	got = process(t, e, sysmon1(t0.Add(30*time.Minute), "dc01", 11, 2212, cmdExe, "cmd /c a", dnsExe))
	if len(got) != 1 || got[0].Suppressed || got[0].Count != 1 {
		t.Fatalf("expired entry still suppresses: %+v", got)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := store.Allowlist(ctx)
	if err != nil || len(entries) != 1 || entries[0].Hits != 1 {
		t.Fatalf("stored entries = %+v, %v; want one with 1 hit", entries, err)
	}
	recs, err := store.ListAlerts(ctx, triage.AlertFilter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("stored alerts = %d, %v; want 2 (suppressed included)", len(recs), err)
	}

	// A new engine on the same store starts with the entry loaded.
	clock2 := &fakeClock{t0}
	e2 := newTestEngine(t, store, clock2)
	got = process(t, e2, sysmon1(t0, "dc02", 12, 2212, cmdExe, "cmd /c c", dnsExe))
	if len(got) != 1 || !got[0].Suppressed {
		t.Fatalf("allowlist not loaded from the store: %+v", got)
	}
}

func TestStoreCountsDeltas(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	e := newTestEngine(t, store, &fakeClock{t0})
	var id string
	for i := range 3 {
		got := process(t, e, sysmon1(t0.Add(time.Duration(i)*time.Minute), "dc01", uint32(i), 2212, cmdExe, "x", dnsExe))
		id = got[0].ID
	}
	rec, err := store.Alert(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Count != 3 || !rec.LastSeen.Equal(t0.Add(2*time.Minute)) || rec.RuleID != "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3" {
		t.Errorf("stored = count %d last %v rule %q, want 3, %v", rec.Count, rec.LastSeen, rec.RuleID, t0.Add(2*time.Minute))
	}
}

func TestStoreErrorIsCountedAndReturned(t *testing.T) {
	s, err := triage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, s, &fakeClock{t0})
	s.Close()
	ev := sysmon1(t0, "dc01", 1, 2212, cmdExe, "x", dnsExe)
	got, err := e.Process(context.Background(), &ev, nil)
	if err == nil {
		t.Fatal("no error from a closed store")
	}
	if len(got) != 1 || e.Stats().StoreErrors != 1 || len(e.pending) != 1 {
		t.Errorf("alert lost on store error: alerts %d, store errors %d, pending %d", len(got), e.Stats().StoreErrors, len(e.pending))
	}
}

func TestMaxAlertsInMemory(t *testing.T) {
	e, err := NewEngine(context.Background(), Config{Rules: testSet(t, dnsRule), Clock: &fakeClock{t0}, MaxAlertsInMemory: 10})
	if err != nil {
		t.Fatal(err)
	}
	var firstID string
	for i := range 30 {
		got := process(t, e, sysmon1(t0.Add(time.Duration(i)*time.Second), "dc01", uint32(i), 2212, cmdExe, fmt.Sprint("cmd ", i), dnsExe))
		if i == 0 {
			firstID = got[0].ID
			if res := e.Do(context.Background(), SetStatus{AlertID: firstID, To: triage.StatusClosed, Reason: triage.ReasonFalsePositive}); res.Err != nil {
				t.Fatal(res.Err)
			}
		}
	}
	if len(e.alerts) > 10 || len(e.order) != len(e.alerts) || len(e.groups) > 10 {
		t.Errorf("in memory: %d alerts, %d ordered, %d groups; cap 10", len(e.alerts), len(e.order), len(e.groups))
	}
	if _, ok := e.alerts[firstID]; ok {
		t.Error("the closed alert was kept while open ones were dropped")
	}
	s := e.Stats()
	if s.Alerts != 30 || s.OpenAlerts != len(e.alerts) {
		t.Errorf("stats = %+v, in memory %d", s, len(e.alerts))
	}
}

// runEngine starts Run and returns its channels and a func that returns Run's error once
// out is drained (Run closes nothing; the goroutine here closes out after Run returns).
func runEngine(t *testing.T, e *Engine, inCap int) (chan source.Event, chan Command, chan Batch, func() error) {
	t.Helper()
	in := make(chan source.Event, inCap)
	cmds := make(chan Command)
	out := make(chan Batch)
	done := make(chan error, 1)
	go func() {
		done <- e.Run(context.Background(), in, cmds, out)
		close(out)
	}()
	return in, cmds, out, func() error { return <-done }
}

func ask(t *testing.T, cmds chan<- Command, c func(chan Result) Command) Result {
	t.Helper()
	reply := make(chan Result, 1)
	cmds <- c(reply)
	return <-reply
}

func TestRunCommandsRoundTrip(t *testing.T) {
	store := openStore(t)
	clock := &fakeClock{t0}
	e := newTestEngine(t, store, clock)
	in, cmds, out, stop := runEngine(t, e, 4)

	in <- sysmon1(t0, "dc01", 1, 2212, cmdExe, "cmd /c one", dnsExe)
	in <- sysmon1(t0, "dc01", 2, 2212, cmdExe, "cmd /c two", dnsExe)
	var alerts []Alert
	for len(alerts) < 2 {
		b := <-out
		alerts = append(alerts, b.Alerts...)
		for _, a := range b.Alerts {
			if _, ok := b.Trees[a.ID]; !ok {
				t.Errorf("batch has no tree snapshot for new alert %s", a.ID)
			}
		}
	}
	one, two := alerts[0].ID, alerts[1].ID

	res := ask(t, cmds, func(r chan Result) Command {
		return SetStatus{AlertID: one, To: triage.StatusClosed, Reason: triage.ReasonTruePositive, Note: "confirmed", Reply: r}
	})
	if res.Err != nil || res.Alert.Status != triage.StatusClosed || res.Alert.Reason != triage.ReasonTruePositive {
		t.Fatalf("set status: %+v", res)
	}
	if rec, err := store.Alert(context.Background(), one); err != nil || rec.Status != triage.StatusClosed {
		t.Errorf("store after set status: %+v, %v", rec.Status, err)
	}
	res = ask(t, cmds, func(r chan Result) Command { return History{AlertID: one, Reply: r} })
	if res.Err != nil || len(res.History) != 1 || res.History[0].To != triage.StatusClosed || res.History[0].Note != "confirmed" {
		t.Errorf("history: %+v", res)
	}

	// A change the store refuses leaves memory as it was.
	res = ask(t, cmds, func(r chan Result) Command {
		return SetStatus{AlertID: two, To: triage.StatusClosed, Reason: "bogus", Reply: r}
	})
	if res.Err == nil {
		t.Error("store accepted an invalid reason")
	}

	img, _ := triage.ParsePattern(`*\cmd.exe`)
	entry := triage.AllowEntry{Image: &img, Reason: "known"}
	res = ask(t, cmds, func(r chan Result) Command { return CountMatching{Entry: entry, Reply: r} })
	if res.Err != nil || res.Closed != 1 {
		t.Errorf("count matching = %+v, want 1 (two is open)", res)
	}
	res = ask(t, cmds, func(r chan Result) Command {
		return AddAllow{Entry: entry, CloseMatching: true, CloseReason: triage.ReasonFalsePositive, Reply: r}
	})
	if res.Err != nil || res.Closed != 1 || res.Entry.ID == "" {
		t.Fatalf("add allow: %+v", res)
	}
	entryID := res.Entry.ID
	res = ask(t, cmds, func(r chan Result) Command { return ListAllow{Reply: r} })
	if len(res.Entries) != 1 || res.Entries[0].ID != entryID {
		t.Errorf("list allow: %+v", res)
	}

	in <- sysmon1(t0.Add(time.Second), "dc01", 3, 2212, cmdExe, "cmd /c three", dnsExe)
	var three Alert
	for three.ID == "" {
		b := <-out
		for _, a := range b.Alerts {
			if a.ID == two && a.Status != triage.StatusClosed {
				t.Errorf("closed-by-allowlist alert sent as %s", a.Status)
			}
			if a.ID != one && a.ID != two {
				three = a
			}
		}
	}
	if !three.Suppressed || three.AllowlistID != entryID {
		t.Errorf("new alert after allowlisting: suppressed=%v by %q", three.Suppressed, three.AllowlistID)
	}

	res = ask(t, cmds, func(r chan Result) Command { return RemoveAllow{ID: entryID, Reply: r} })
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res = ask(t, cmds, func(r chan Result) Command { return ListAllow{Reply: r} })
	if len(res.Entries) != 0 {
		t.Errorf("entry still listed after remove: %+v", res.Entries)
	}
	close(in)
	var final Batch
	for b := range out {
		final = b
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if final.Stats.Events != 3 || final.Stats.Alerts != 3 || final.Stats.Suppressed != 1 || final.Stats.OpenAlerts != 0 {
		t.Errorf("final stats = %+v", final.Stats)
	}
}

func TestRunMemoryOnlyCommands(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	res := e.Do(context.Background(), History{AlertID: "x"})
	if !errors.Is(res.Err, ErrNoStore) {
		t.Errorf("history without a store: %v", res.Err)
	}
	res = e.Do(context.Background(), SetStatus{AlertID: "nope", To: triage.StatusClosed})
	if !errors.Is(res.Err, ErrUnknownAlert) {
		t.Errorf("set status of an unknown alert: %v", res.Err)
	}
}

// TestBurst feeds the engine faster than a slow consumer drains and checks that nothing
// is lost: every match is an alert or a grouped repeat, every alert reaches the consumer.
func TestBurst(t *testing.T) {
	const n = 20000
	e := newTestEngine(t, nil, &fakeClock{t0})
	in, _, out, wait := runEngine(t, e, 64)
	go func() {
		for i := range n {
			parent := `C:\Windows\explorer.exe`
			if i%10 == 0 {
				parent = dnsExe
			}
			// 200 distinct command lines among the 2,000 matches: 1,800 are grouped.
			in <- sysmon1(t0.Add(time.Duration(i)*time.Millisecond), "dc01", uint32(i+1000), 2212, cmdExe, fmt.Sprint("cmd /c ", i%2000), parent)
		}
		close(in)
	}()
	seen := map[string]int{}
	var last Stats
	batches := 0
	for b := range out {
		batches++
		for _, a := range b.Alerts {
			seen[a.ID] = a.Count
		}
		if b.Stats.Events < last.Events {
			t.Fatalf("events counter went backwards: %d then %d", last.Events, b.Stats.Events)
		}
		last = b.Stats
		time.Sleep(time.Millisecond) // a slow UI
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if last.Events != n || last.ProcessStarts != n || last.Matches != n/10 {
		t.Errorf("final stats %+v, want %d events, %d matches", last, n, n/10)
	}
	if last.Matches != last.Alerts+last.Grouped {
		t.Errorf("matches %d != alerts %d + grouped %d", last.Matches, last.Alerts, last.Grouped)
	}
	if uint64(len(seen)) != last.Alerts || len(seen) != 200 {
		t.Errorf("consumer saw %d alerts, engine counted %d, want 200", len(seen), last.Alerts)
	}
	total := 0
	for _, c := range seen {
		total += c
	}
	if uint64(total) != last.Matches {
		t.Errorf("sum of counts %d != matches %d", total, last.Matches)
	}
	if batches < 1 {
		t.Error("no batch")
	}
}

// TestRunResnapshotsWatchedTrees: a descendant of an alert's process refreshes that
// alert's tree in the next batch; an unrelated process on the same host does not.
func TestRunResnapshotsWatchedTrees(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	in, _, out, wait := runEngine(t, e, 4)
	in <- sysmon1(t0, "dc01", 2212, 688, dnsExe, "dns.exe", `C:\Windows\System32\services.exe`)
	in <- sysmon1(t0.Add(time.Second), "dc01", 5120, 2212, cmdExe, "cmd /c whoami", dnsExe)
	var id string
	for id == "" {
		for _, a := range (<-out).Alerts {
			id = a.ID
		}
	}
	in <- sysmon1(t0.Add(3*time.Second), "dc01", 7000, 900, `C:\Windows\notepad.exe`, "notepad", `C:\Windows\explorer.exe`)
	in <- sysmon1(t0.Add(2*time.Second), "dc01", 5184, 5120, `C:\Windows\System32\whoami.exe`, "whoami", cmdExe)
	close(in)
	batches := 0
	found := false
	for b := range out {
		if len(b.Alerts) > 0 {
			t.Errorf("unexpected alerts: %+v", b.Alerts)
		}
		for k, snap := range b.Trees {
			if k != id {
				t.Errorf("snapshot for %s", k)
			}
			for _, n := range snap.Nodes {
				if n.PID == 7000 {
					t.Error("unrelated process in the alert's tree")
				}
				if n.PID == 5184 && n.Role == proctree.RoleDescendant {
					found = true
				}
			}
		}
		batches++
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Errorf("whoami.exe never reached the alert's tree in %d batches", batches)
	}
}

// TestRestartGroupsIntoStoredAlerts: a new engine on the same store groups a repeat into
// the open alert of the earlier run instead of raising a duplicate.
func TestRestartGroupsIntoStoredAlerts(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	e1 := newTestEngine(t, store, &fakeClock{t0})
	first := process(t, e1, sysmon1(t0, "dc01", 10, 2212, cmdExe, "cmd /c whoami", dnsExe))
	closed := process(t, e1, sysmon1(t0, "dc01", 11, 2212, cmdExe, "cmd /c closed", dnsExe))
	if res := e1.Do(ctx, SetStatus{AlertID: closed[0].ID, To: triage.StatusClosed, Reason: triage.ReasonFalsePositive}); res.Err != nil {
		t.Fatal(res.Err)
	}

	e2 := newTestEngine(t, store, &fakeClock{t0.Add(time.Hour)})
	if s := e2.Stats(); s.OpenAlerts != 1 {
		t.Errorf("open alerts after restart = %d, want 1", s.OpenAlerts)
	}
	got := process(t, e2, sysmon1(t0.Add(10*time.Minute), "dc01", 12, 2212, cmdExe, "cmd /c whoami", dnsExe))
	if len(got) != 1 || got[0].ID != first[0].ID || got[0].Count != 2 || got[0].Rule == nil || got[0].Event.Raw == nil {
		t.Fatalf("repeat after restart: %+v, want alert %s with count 2", got, first[0].ID)
	}
	rec, err := store.Alert(ctx, first[0].ID)
	if err != nil || rec.Count != 2 {
		t.Errorf("stored count = %d (%v), want 2", rec.Count, err)
	}
	again := process(t, e2, sysmon1(t0.Add(10*time.Minute), "dc01", 13, 2212, cmdExe, "cmd /c closed", dnsExe))
	if len(again) != 1 || again[0].ID == closed[0].ID {
		t.Errorf("a repeat of a closed alert must raise a new one: %+v", again)
	}
}

// TestAllowlistSplitsGroups: after an entry is added (without closing), a repeat of an
// open alert is suppressed on its own rather than bumping the visible alert.
func TestAllowlistSplitsGroups(t *testing.T) {
	e := newTestEngine(t, nil, &fakeClock{t0})
	open := process(t, e, sysmon1(t0, "dc01", 10, 2212, cmdExe, "cmd /c a", dnsExe))
	img, _ := triage.ParsePattern(`*\cmd.exe`)
	res := e.Do(context.Background(), AddAllow{Entry: triage.AllowEntry{Image: &img, Reason: "ok"}})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	rep := process(t, e, sysmon1(t0.Add(time.Minute), "dc01", 11, 2212, cmdExe, "cmd /c a", dnsExe))
	if len(rep) != 1 || rep[0].ID == open[0].ID || !rep[0].Suppressed || rep[0].AllowlistID != res.Entry.ID {
		t.Fatalf("repeat after allowlisting: %+v", rep)
	}
	rep2 := process(t, e, sysmon1(t0.Add(2*time.Minute), "dc01", 12, 2212, cmdExe, "cmd /c a", dnsExe))
	if rep2[0].ID != rep[0].ID || rep2[0].Count != 2 {
		t.Errorf("suppressed repeats not grouped: %+v", rep2)
	}
	if s := e.Stats(); s.OpenAlerts != 1 || s.Suppressed != 1 || s.Alerts != 2 || s.Grouped != 1 {
		t.Errorf("stats = %+v", s)
	}
	if l := e.Do(context.Background(), ListAllow{}); len(l.Entries) != 1 || l.Entries[0].Hits != 2 {
		t.Errorf("entry hits = %+v, want 2", l.Entries)
	}
}
