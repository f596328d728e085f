package detect

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/triage"
)

const servicesExe = `C:\Windows\System32\services.exe`

// storedTree reads one alert's tree back from the store.
func storedTree(t *testing.T, store *triage.Store, id string) (proctree.Snapshot, bool) {
	t.Helper()
	trees, err := store.Trees(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := trees[id]
	return s, ok
}

func hasPID(s proctree.Snapshot, pid uint32, role proctree.Role) bool {
	for _, n := range s.Nodes {
		if n.PID == pid && n.Role == role {
			return true
		}
	}
	return false
}

// TestRunStoresTrees: Run persists an alert's tree with the alert, and again when a
// descendant changes it; what it stores is what the last batch showed.
func TestRunStoresTrees(t *testing.T) {
	store := openStore(t)
	e := newTestEngine(t, store, &fakeClock{t0})
	in, _, out, wait := runEngine(t, e, 4)
	in <- sysmon1(t0, "dc01", 2212, 688, dnsExe, "dns.exe", servicesExe)
	in <- sysmon1(t0.Add(time.Second), "dc01", 5120, 2212, cmdExe, "cmd /c whoami", dnsExe)
	var id string
	for id == "" {
		b := <-out
		for _, a := range b.Alerts {
			id = a.ID
		}
	}
	// The batch was sent after the store write: the tree is there already.
	s, ok := storedTree(t, store, id)
	if !ok || s.Nodes[s.Focus].PID != 5120 || !hasPID(s, 2212, proctree.RoleAncestor) {
		t.Fatalf("stored tree after the first batch = %+v, %v; want focus 5120 under 2212", s, ok)
	}
	if hasPID(s, 5184, proctree.RoleDescendant) {
		t.Fatal("whoami.exe stored before it started")
	}

	in <- sysmon1(t0.Add(2*time.Second), "dc01", 5184, 5120, `C:\Windows\System32\whoami.exe`, "whoami", cmdExe)
	close(in)
	var last proctree.Snapshot
	for b := range out {
		if snap, ok := b.Trees[id]; ok {
			last = snap
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	s, ok = storedTree(t, store, id)
	if !ok || !hasPID(s, 5184, proctree.RoleDescendant) {
		t.Fatalf("stored tree = %+v, %v; want whoami.exe (5184) as a descendant", s, ok)
	}
	if !reflect.DeepEqual(s, last) {
		t.Errorf("stored tree differs from the last batch's:\nstored %+v\nbatch  %+v", s, last)
	}
	if st := e.Stats(); st.StoreErrors != 0 {
		t.Errorf("StoreErrors = %d", st.StoreErrors)
	}
}

// TestFlushStoresTreeChanges: without Run, a descendant that raises no alert is not
// written per event; Flush writes the changed tree.
func TestFlushStoresTreeChanges(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	e := newTestEngine(t, store, &fakeClock{t0})
	process(t, e, sysmon1(t0, "dc01", 2212, 688, dnsExe, "dns.exe", servicesExe))
	got := process(t, e, sysmon1(t0.Add(time.Second), "dc01", 5120, 2212, cmdExe, "cmd /c whoami", dnsExe))
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1", len(got))
	}
	id := got[0].ID
	if s, ok := storedTree(t, store, id); !ok || s.Nodes[s.Focus].PID != 5120 {
		t.Fatalf("tree not stored with its alert: %+v, %v", s, ok)
	}
	process(t, e, sysmon1(t0.Add(2*time.Second), "dc01", 5184, 5120, `C:\Windows\System32\whoami.exe`, "whoami", cmdExe))
	if s, _ := storedTree(t, store, id); hasPID(s, 5184, proctree.RoleDescendant) {
		t.Fatal("a non-matching event wrote the tree: that is per-event store work")
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := storedTree(t, store, id); !ok || !hasPID(s, 5184, proctree.RoleDescendant) {
		t.Fatalf("tree after Flush = %+v, %v; want whoami.exe as a descendant", s, ok)
	}
	if n := len(e.treePending); n != 0 {
		t.Errorf("%d trees still pending after Flush", n)
	}
}

// TestTreeStoreErrorIsCounted: when the store fails, the tree stays queued and the
// error is counted like an alert write's.
func TestTreeStoreErrorIsCounted(t *testing.T) {
	s, err := triage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, s, &fakeClock{t0})
	process(t, e, sysmon1(t0, "dc01", 2212, 688, dnsExe, "dns.exe", servicesExe))
	process(t, e, sysmon1(t0.Add(time.Second), "dc01", 5120, 2212, cmdExe, "cmd /c whoami", dnsExe))
	process(t, e, sysmon1(t0.Add(2*time.Second), "dc01", 5184, 5120, `C:\Windows\System32\whoami.exe`, "whoami", cmdExe))
	s.Close()
	if err := e.Flush(context.Background()); err == nil {
		t.Fatal("Flush on a closed store returned no error")
	}
	if st := e.Stats(); st.StoreErrors != 1 {
		t.Errorf("StoreErrors = %d, want 1", st.StoreErrors)
	}
	if n := len(e.treePending); n != 1 {
		t.Errorf("%d trees pending after a failed write, want 1", n)
	}
}
