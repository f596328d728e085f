package proctree

import (
	"testing"
	"time"
)

// checkPIDChains verifies every same-PID chain is newest first and doubly linked.
func checkPIDChains(t *testing.T, tr *Tree) {
	t.Helper()
	for _, h := range tr.hosts {
		for pid, head := range h.byPID {
			if head.newer != nil {
				t.Fatalf("pid %d: head has a newer neighbour", pid)
			}
			for c := head; c.older != nil; c = c.older {
				if c.older.newer != c {
					t.Fatalf("pid %d: older.newer does not point back", pid)
				}
				if c.older.pid != pid {
					t.Fatalf("pid %d: chain holds pid %d", pid, c.older.pid)
				}
			}
		}
	}
}

// TestPIDChainHostileReuse feeds one PID over and over, some out of order, past the host
// cap with nothing aging out: the same-PID chain grows to the cap and every eviction
// unlinks its oldest end. The doubly linked chain must stay consistent throughout.
func TestPIDChainHostileReuse(t *testing.T) {
	tr := New(Config{MaxPerHost: 2000, ExitedTTL: 100000 * time.Hour})
	const n = 60000
	for i := 0; i < n; i++ {
		// Starts 10 s apart, so none is the twin (Sysmon 1 + 4688, within 2 s) of another.
		at := time.Duration(i) * 10 * time.Second
		if i%7 == 3 { // arrives late: older than the newest holders of the PID
			at -= 15 * time.Second
		}
		ev := start(at, 4242, 0, cmdExe, "")
		tr.Enrich(ev)
		tr.Observe(ev)
	}
	checkPIDChains(t, tr)
	st := tr.Stats()
	if st.Nodes > 2000 {
		t.Fatalf("host cap not enforced: %d nodes", st.Nodes)
	}
	if st.Evicted < n-2000-100 {
		t.Fatalf("evicted %d; want nearly every start past the cap evicted (chain of one PID)", st.Evicted)
	}
	if st.Evicted+st.AgedOut+st.Nodes != n {
		t.Fatalf("evicted %d + aged out %d + kept %d does not account for %d starts", st.Evicted, st.AgedOut, st.Nodes, n)
	}
}
