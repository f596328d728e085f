package triage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/proctree"
)

func testSnapshot(host string) proctree.Snapshot {
	return proctree.Snapshot{
		Host: host, Focus: 1, Truncated: 2,
		Nodes: []proctree.Node{
			{Key: proctree.Key{Host: host, ID: 7}, Depth: 0, Role: proctree.RoleAncestor, PID: 2212,
				GUID: "{aaaa}", Image: `C:\Windows\System32\dns.exe`, User: `NT AUTHORITY\SYSTEM`,
				Start: t0.Add(-time.Hour)},
			{Key: proctree.Key{Host: host, ID: 9}, Depth: 1, Role: proctree.RoleFocus, PID: 5120,
				Image: `C:\Windows\System32\cmd.exe`, CommandLine: `cmd /c whoami`, Start: t0,
				Exit: t0.Add(time.Second), Exited: true},
			{Key: proctree.Key{Host: "OTHER", ID: 11}, Depth: 2, Role: proctree.RoleDescendant, PID: 6000,
				Image: `C:\Windows\System32\whoami.exe`, Synthesized: true},
		},
	}
}

func TestTreesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.UpsertAlerts(ctx, []AlertRecord{alertRec("a1", t0), alertRec("a2", t0.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	want := testSnapshot("DC01")
	// "ghost" has no alert row: it must not create one.
	if err := s.SaveTrees(ctx, map[string]proctree.Snapshot{"a1": want, "ghost": want}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trees(ctx, []string{"a1", "a2", "ghost", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Trees returned %d snapshots, want 1 (a1): %v", len(got), got)
	}
	if !reflect.DeepEqual(got["a1"], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got["a1"], want)
	}
	if _, err := s.Alert(ctx, "ghost"); err == nil {
		t.Error("SaveTrees created an alert row for an unknown id")
	}
	// A later snapshot replaces the earlier one; an upsert of the alert keeps it.
	later := testSnapshot("DC01")
	later.Nodes = later.Nodes[:2]
	later.Truncated = 0
	if err := s.SaveTrees(ctx, map[string]proctree.Snapshot{"a1": later}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAlert(ctx, alertRec("a1", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	got, err = s.Trees(ctx, []string{"a1"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["a1"], later) {
		t.Errorf("after replace and upsert:\n got %+v\nwant %+v", got["a1"], later)
	}
	if err := s.SaveTrees(ctx, map[string]proctree.Snapshot{"": later}); err == nil {
		t.Error("SaveTrees accepted an empty alert id")
	}
}

// TestTreesManyIDs crosses the query's chunk size.
func TestTreesManyIDs(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	n := maxTreeIDs + 20
	recs := make([]AlertRecord, n)
	ids := make([]string, n)
	trees := make(map[string]proctree.Snapshot, n)
	for i := range recs {
		ids[i] = fmt.Sprintf("a%04d", i)
		recs[i] = alertRec(ids[i], t0)
		trees[ids[i]] = testSnapshot(ids[i])
	}
	if err := s.UpsertAlerts(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTrees(ctx, trees); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trees(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || got[ids[n-1]].Host != ids[n-1] {
		t.Errorf("Trees returned %d snapshots (last host %q), want %d", len(got), got[ids[n-1]].Host, n)
	}
}

// bigSnapshot is a full-size snapshot with maximal command lines: megabytes of JSON.
func bigSnapshot(ancestors, total int) proctree.Snapshot {
	s := proctree.Snapshot{Host: "H", Focus: ancestors}
	cmd := strings.Repeat("é", 8192/2) // multi-byte, to check rune-safe clipping
	for i := range total {
		role, depth := proctree.RoleDescendant, ancestors+1
		switch {
		case i < ancestors:
			role, depth = proctree.RoleAncestor, i
		case i == ancestors:
			role, depth = proctree.RoleFocus, ancestors
		}
		s.Nodes = append(s.Nodes, proctree.Node{Key: proctree.Key{Host: "H", ID: uint64(i + 1)}, Depth: depth,
			Role: role, PID: uint32(i + 4), Image: strings.Repeat("x", 1024), CommandLine: cmd, User: strings.Repeat("u", 512)})
	}
	return s
}

func TestEncodeTreeFitsLimit(t *testing.T) {
	for _, tc := range []struct{ ancestors, total int }{
		{3, proctree.MaxSnapshotNodes},   // descendants dropped
		{256, proctree.MaxSnapshotNodes}, // ancestors dropped too
		{0, 1},                           // a single huge node is clipped, never dropped
	} {
		t.Run(fmt.Sprintf("%d_of_%d", tc.ancestors, tc.total), func(t *testing.T) {
			in := bigSnapshot(tc.ancestors, tc.total)
			b, err := encodeTree(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxTreeLen {
				t.Fatalf("encoded %d bytes, over %d", len(b), MaxTreeLen)
			}
			got, err := decodeTree(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Nodes) == 0 || got.Nodes[got.Focus].Role != proctree.RoleFocus || got.Nodes[got.Focus].PID != uint32(tc.ancestors+4) {
				t.Fatalf("focus lost: %d nodes, focus %d", len(got.Nodes), got.Focus)
			}
			if got.Nodes[0].Depth != 0 {
				t.Errorf("first node at depth %d, want 0", got.Nodes[0].Depth)
			}
			if len(got.Nodes)+got.Truncated != tc.total {
				t.Errorf("%d nodes + %d truncated != %d", len(got.Nodes), got.Truncated, tc.total)
			}
			for i, n := range got.Nodes {
				if (tc.total > 1 && len(n.CommandLine) > fitCommand) || !strings.HasPrefix(in.Nodes[0].CommandLine, n.CommandLine) {
					t.Fatalf("node %d: command line of %d bytes not a rune-safe clip", i, len(n.CommandLine))
				}
			}
		})
	}
}

func TestDecodeTreeRefusesBadInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{`, "decode"},
		{`{"v":2,"nodes":[]}`, "unknown tree version 2"},
		{`{"v":1,"focus":1,"nodes":[{"depth":0,"role":1}]}`, "focus 1 is outside its 1 nodes"},
		{`{"v":1,"focus":-1,"nodes":[{"depth":0,"role":1}]}`, "focus -1 is outside"},
		{`{"v":1,"focus":3,"nodes":[]}`, "focus 3 in a tree without nodes"},
		{`{"v":1,"focus":0,"nodes":[{"depth":-1,"role":1}]}`, "node 0: depth -1"},
		{`{"v":1,"focus":0,"nodes":[{"depth":0,"role":9}]}`, "node 0: unknown role 9"},
		{`{"v":1,"truncated":-4,"nodes":[]}`, "negative truncated"},
		{`{"v":1,"nodes":[` + strings.Repeat(`{"depth":0,"role":1},`, proctree.MaxSnapshotNodes) + `{"depth":0,"role":1}]}`, "501 nodes is over"},
		{strings.Repeat(" ", MaxTreeLen+1), "over the"},
	} {
		_, err := decodeTree([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodeTree(%.40q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// TestTreesNamesDamagedRow: a damaged tree is reported with its alert id, and the
// others still load.
func TestTreesNamesDamagedRow(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.UpsertAlerts(ctx, []AlertRecord{alertRec("good", t0), alertRec("bad", t0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTrees(ctx, map[string]proctree.Snapshot{"good": testSnapshot("DC01")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE alerts SET tree = ? WHERE id = 'bad'`, []byte(`{"v":1,"focus":5,"nodes":[]}`)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trees(ctx, []string{"good", "bad"})
	if err == nil || !strings.Contains(err.Error(), "tree of alert bad") {
		t.Errorf("Trees error = %v, want one naming alert bad", err)
	}
	if _, ok := got["good"]; !ok || len(got) != 1 {
		t.Errorf("Trees returned %v, want only good", got)
	}
}

// TestMigrateFromSchema1 opens a store written by the first schema (before trees): it
// migrates, keeps its alerts, and takes trees afterwards.
func TestMigrateFromSchema1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", "file:"+escapeURIPath(path)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	schema1 := migrations[0]
	if _, err := db.Exec(schema1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = 1", applicationID)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO alerts (id, rule_id, rule_name, level, host, user, image, parent_image,
		command_line, parent_command_line, pid, parent_pid, event_id, origin, first_seen, last_seen, count,
		status, reason, suppressed, allowlist_id, parent_from_tree, raw)
		VALUES ('old', 'rule-1', 'Rule', 'high', 'DC01', 'u', 'cmd.exe', 'dns.exe', 'cmd', 'dns', 1, 2, 1,
		'f:1', ?, ?, 3, 'acknowledged', '', 0, '', 0, NULL)`, t0.UnixNano(), t0.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatalf("open a schema-1 store: %v", err)
	}
	defer s.Close()
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != schemaVersion || v != 2 {
		t.Errorf("user_version after migration = %d, %v; want %d (= 2)", v, err, schemaVersion)
	}
	a, err := s.Alert(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != StatusAcknowledged || a.Count != 3 || !a.LastSeen.Equal(t0) {
		t.Errorf("migrated alert = %+v", a)
	}
	trees, err := s.Trees(ctx, []string{"old"})
	if err != nil || len(trees) != 0 {
		t.Errorf("Trees of a migrated alert = %v, %v; want none", trees, err)
	}
	want := testSnapshot("DC01")
	if err := s.SaveTrees(ctx, map[string]proctree.Snapshot{"old": want}); err != nil {
		t.Fatal(err)
	}
	trees, err = s.Trees(ctx, []string{"old"})
	if err != nil || !reflect.DeepEqual(trees["old"], want) {
		t.Errorf("tree after migration = %+v, %v", trees["old"], err)
	}
}

func FuzzDecodeTree(f *testing.F) {
	good, err := encodeTree(testSnapshot("DC01"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"v":1,"focus":0,"nodes":[]}`))
	f.Add([]byte(`{"v":1,"focus":2,"nodes":[{"depth":0,"role":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeTree(b)
		if err != nil {
			return
		}
		if len(s.Nodes) > 0 && (s.Focus < 0 || s.Focus >= len(s.Nodes)) {
			t.Fatalf("accepted focus %d of %d nodes", s.Focus, len(s.Nodes))
		}
		// What decodes re-encodes within the limit and decodes to the same snapshot.
		b2, err := encodeTree(s)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		s2, err := decodeTree(b2)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		if len(b2) <= len(b) && !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the snapshot:\n%+v\n%+v", s, s2)
		}
	})
}

// BenchmarkSaveTrees: one flush's worth of trees (64 alerts, small trees) in one
// transaction.
func BenchmarkSaveTrees(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	trees := make(map[string]proctree.Snapshot, 64)
	recs := make([]AlertRecord, 64)
	for i := range recs {
		recs[i] = alertRec(fmt.Sprintf("a%02d", i), t0)
		trees[recs[i].ID] = testSnapshot("DC01")
	}
	if err := s.UpsertAlerts(ctx, recs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SaveTrees(ctx, trees); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeTreeOversize: the worst case, a full snapshot of maximal command lines
// clipped to MaxTreeLen.
func BenchmarkEncodeTreeOversize(b *testing.B) {
	in := bigSnapshot(3, proctree.MaxSnapshotNodes)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeTree(in); err != nil {
			b.Fatal(err)
		}
	}
}
