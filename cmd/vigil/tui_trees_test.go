package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
)

// TestStartupLoadsStoredTrees: alerts a previous run stored come back at startup with
// the process tree they had, ready for ui.Config.InitialTrees.
func TestStartupLoadsStoredTrees(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	lr := loadRules(nil, false)
	start := func(pid, ppid uint32, image, cmd, parent string, at time.Time) source.Event {
		return source.Event{
			Time: at, Host: "DC01", Kind: source.KindProcessStart, EventID: 1,
			Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Process: source.Process{PID: pid, Image: image, CommandLine: cmd},
			Parent:  source.Parent{PID: ppid, Image: parent},
			Fields:  []source.Field{{Name: "Image", Value: image}, {Name: "ParentImage", Value: parent}},
		}
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const dns, cmd = `C:\Windows\System32\dns.exe`, `C:\Windows\System32\cmd.exe`

	// The earlier run.
	store, err := triage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := detect.NewEngine(ctx, detect.Config{Rules: lr.set, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []detect.Alert
	for _, ev := range []source.Event{
		start(2212, 688, dns, "dns.exe", `C:\Windows\System32\services.exe`, t0),
		start(5120, 2212, cmd, "cmd /c whoami", dns, t0.Add(time.Second)),
		start(5184, 5120, `C:\Windows\System32\whoami.exe`, "whoami", cmd, t0.Add(2*time.Second)),
	} {
		if alerts, err = eng.Process(ctx, &ev, alerts); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("earlier run raised %d alerts, want 1 (the built-in dns.exe child rule)", len(alerts))
	}
	id := alerts[0].ID
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// The restart.
	store, err = triage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	initial, err := storedAlerts(ctx, store, lr.set)
	if err != nil || len(initial) != 1 || initial[0].ID != id {
		t.Fatalf("storedAlerts = %d alerts, %v; want %s", len(initial), err, id)
	}
	trees, err := storedTrees(ctx, store, initial)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := trees[id]
	if !ok || len(s.Nodes) == 0 {
		t.Fatalf("no tree loaded for alert %s: %v", id, trees)
	}
	var images []string
	for _, n := range s.Nodes {
		images = append(images, n.Image)
	}
	if f := s.Nodes[s.Focus]; f.PID != 5120 || f.Role != proctree.RoleFocus {
		t.Errorf("focus = %+v, want cmd.exe 5120", f)
	}
	if got := strings.Join(images, " > "); !strings.Contains(got, "dns.exe > "+cmd) || !strings.Contains(got, "whoami.exe") {
		t.Errorf("tree = %s; want dns.exe, cmd.exe and its child whoami.exe", got)
	}
	if trees, err := storedTrees(ctx, store, nil); err != nil || trees != nil {
		t.Errorf("storedTrees of no alerts = %v, %v", trees, err)
	}
}
