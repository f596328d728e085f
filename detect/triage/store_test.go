package triage

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func alertRec(id string, last time.Time) AlertRecord {
	return AlertRecord{
		ID: id, RuleID: "rule-1", RuleName: "Unusual Child Process of dns.exe", Level: "high",
		Host: "DC01", User: `NT AUTHORITY\SYSTEM`, Image: `C:\Windows\System32\cmd.exe`,
		ParentImage: `C:\Windows\System32\dns.exe`, CommandLine: `cmd /c whoami`,
		PID: 5120, ParentPID: 2212, EventID: 1, Origin: "sysmon.json:3",
		FirstSeen: last, LastSeen: last, Count: 1, Raw: []byte(`{"EventID":1}`),
	}
}

func TestOpenCreatesPrivateStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var sync, fk int
	if err := s.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestOpenDefaultDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	s, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := filepath.Join(state, "vigil", FileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
}

func TestOpenReopens(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAlert(context.Background(), alertRec("a1", t0)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.Alert(context.Background(), "a1"); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefuses writes real files that are not ours and checks Open refuses them
// without changing a byte.
func TestOpenRefuses(t *testing.T) {
	foreign := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')"); err != nil {
			t.Fatal(err)
		}
	}
	newer := func(t *testing.T, path string) {
		s, err := Open(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec("PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	// newerInWAL leaves the newer version only in the write-ahead log, as a crash of a
	// newer vigil would: the main file's header still says version 1.
	newerInWAL := func(t *testing.T, path string) {
		src := t.TempDir()
		s, err := Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 99"); err != nil {
			t.Fatal(err)
		}
		for _, suffix := range []string{"", "-wal"} {
			data, err := os.ReadFile(s.Path() + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+suffix, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	corrupt := func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 400)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	truncated := func(t *testing.T, path string) {
		s, err := Open(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := range 200 {
			if err := s.UpsertAlert(ctx, alertRec("a"+strconv.Itoa(i), t0)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Keep the header, scribble over the pages behind it.
		for i := 4096; i < len(data); i++ {
			data[i] = 0xA5
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		write func(*testing.T, string)
		want  string
	}{
		{"foreign sqlite", foreign, "another application"},
		{"newer schema", newer, "newer than this vigil"},
		{"newer schema in the WAL", newerInWAL, "newer than this vigil"},
		{"not sqlite", corrupt, "not a SQLite database"},
		{"corrupt pages", truncated, "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			tc.write(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want refusal")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want it to say %q and name %s", err, tc.want, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "newer schema in the WAL" {
				// Closing the connection folds the newer vigil's committed log into the
				// main file (SQLite's checkpoint on close): bytes move, nothing is lost or
				// rewritten by us.
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var v, n int
				if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 99 {
					t.Errorf("user_version after refusal = %d, %v; want 99", v, err)
				}
				if err := db.QueryRow("SELECT count(*) FROM alerts").Scan(&n); err != nil {
					t.Errorf("the newer store lost its tables: %v", err)
				}
				return
			}
			if string(before) != string(after) {
				t.Error("Open changed the refused file")
			}
		})
	}
}

func TestUpsertKeepsVerdict(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if err := s.UpsertAlert(ctx, alertRec("a1", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, "a1", StatusAcknowledged, ReasonNone, "looking"); err != nil {
		t.Fatal(err)
	}
	again := alertRec("a1", t0.Add(time.Minute))
	again.Count = 3
	again.Status = StatusOpen
	if err := s.UpsertAlerts(ctx, []AlertRecord{again}); err != nil {
		t.Fatal(err)
	}
	onlySuppressed := alertRec("a1", t0)
	onlySuppressed.Count, onlySuppressed.Suppressed, onlySuppressed.AllowlistID = 0, true, "al-x"
	if err := s.UpsertAlert(ctx, onlySuppressed); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertAlert(ctx, AlertRecord{ID: "fresh", Count: 0, LastSeen: t0}); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.Alert(ctx, "fresh"); err != nil || fresh.Count != 1 || !fresh.FirstSeen.Equal(t0) || fresh.Status != StatusOpen {
		t.Errorf("new alert with count 0: %+v, %v; want count 1, first seen %v, open", fresh, err, t0)
	}
	got, err := s.Alert(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Suppressed || got.AllowlistID != "al-x" {
		t.Errorf("suppression not taken from the upsert: %+v", got)
	}
	if got.Count != 4 || !got.LastSeen.Equal(t0.Add(time.Minute)) || !got.FirstSeen.Equal(t0) || got.Status != StatusAcknowledged {
		t.Errorf("after upsert: count %d first %v last %v status %s; want 4, %v, %v, acknowledged",
			got.Count, got.FirstSeen, got.LastSeen, got.Status, t0, t0.Add(time.Minute))
	}
	want := alertRec("a1", t0)
	if got.Image != want.Image || got.PID != want.PID || string(got.Raw) != string(want.Raw) || got.Origin != want.Origin {
		t.Errorf("fields not kept: %+v", got)
	}
	if _, err := s.Alert(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Alert(nope) = %v, want ErrNotFound", err)
	}
	if err := s.UpsertAlert(ctx, AlertRecord{}); err == nil {
		t.Error("UpsertAlert with empty id succeeded")
	}
}

func TestListAlertsNewestFirst(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, id := range []string{"old", "new", "mid"} {
		var at time.Time
		switch id {
		case "old":
			at = t0
		case "mid":
			at = t0.Add(time.Hour)
		case "new":
			at = t0.Add(2 * time.Hour)
		}
		if err := s.UpsertAlert(ctx, alertRec(id, at)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetStatus(ctx, "mid", StatusClosed, ReasonFalsePositive, ""); err != nil {
		t.Fatal(err)
	}
	ids := func(as []AlertRecord) string {
		var b []string
		for _, a := range as {
			b = append(b, a.ID)
		}
		return strings.Join(b, ",")
	}
	all, err := s.ListAlerts(ctx, AlertFilter{})
	if err != nil || ids(all) != "new,mid,old" {
		t.Errorf("ListAlerts = %s, %v; want new,mid,old", ids(all), err)
	}
	open, err := s.ListAlerts(ctx, AlertFilter{Status: StatusOpen, Limit: 1})
	if err != nil || ids(open) != "new" {
		t.Errorf("ListAlerts(open, limit 1) = %s, %v; want new", ids(open), err)
	}
	if _, err := s.ListAlerts(ctx, AlertFilter{Status: "bogus"}); err == nil {
		t.Error("ListAlerts with a bogus status succeeded")
	}
}

func TestSetStatusTransitions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.setClock(func() time.Time { return t0 })
	if err := s.UpsertAlert(ctx, alertRec("a1", t0)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to      Status
		reason  Reason
		wantErr string
	}{
		{StatusClosed, ReasonNone, "needs a reason"},
		{StatusAcknowledged, ReasonFalsePositive, "only given when closing"},
		{StatusOpen, ReasonNone, "already open"},
		{"pending", ReasonNone, "unknown status"},
		{StatusClosed, "maybe", "unknown reason"},
		{StatusAcknowledged, ReasonNone, ""},
		{StatusClosed, ReasonTruePositive, ""},
		{StatusAcknowledged, ReasonNone, "reopen it first"},
		{StatusOpen, ReasonNone, ""},
		{StatusClosed, ReasonBenignPositive, ""},
	}
	var wantHistory []Audit
	from := StatusOpen
	for _, st := range steps {
		au, err := s.SetStatus(ctx, "a1", st.to, st.reason, "n:"+string(st.to))
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s -> %s (%q): err %v, want %q wrapping ErrInvalid", from, st.to, st.reason, err, st.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s -> %s: %v", from, st.to, err)
		}
		want := Audit{AlertID: "a1", At: t0, Who: s.who, Host: s.host, From: from, To: st.to, Reason: st.reason, Note: "n:" + string(st.to)}
		if au != want {
			t.Errorf("audit = %+v, want %+v", au, want)
		}
		wantHistory = append(wantHistory, want)
		from = st.to
	}
	got, err := s.History(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wantHistory) {
		t.Fatalf("history has %d records, want %d", len(got), len(wantHistory))
	}
	for i := range got {
		if got[i] != wantHistory[i] {
			t.Errorf("history[%d] = %+v, want %+v", i, got[i], wantHistory[i])
		}
	}
	a, _ := s.Alert(ctx, "a1")
	if a.Status != StatusClosed || a.Reason != ReasonBenignPositive {
		t.Errorf("alert is %s/%s, want closed/benign_positive", a.Status, a.Reason)
	}
	if _, err := s.SetStatus(ctx, "missing", StatusOpen, "", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetStatus(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.History(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History(missing) = %v, want ErrNotFound", err)
	}
	if s.who == "" || s.host == "" {
		t.Errorf("who %q host %q: want both set", s.who, s.host)
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	v, err := s.LoadCheckpoint(ctx, "file:/x")
	if err != nil || v != nil {
		t.Fatalf("absent checkpoint = %q, %v; want nil, nil", v, err)
	}
	for _, want := range []string{"offset=10", "offset=2048"} {
		if err := s.SaveCheckpoint(ctx, "file:/x", []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadCheckpoint(ctx, "file:/x")
		if err != nil || string(got) != want {
			t.Errorf("checkpoint = %q, %v; want %q", got, err, want)
		}
	}
	if err := s.SaveCheckpoint(ctx, "big", make([]byte, MaxCheckpointLen+1)); err == nil {
		t.Error("oversize checkpoint accepted")
	}
}
