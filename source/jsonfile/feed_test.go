package jsonfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// lines returns the real records of testdata/otrf-rdp-lsass-dump.ndjson (17 lines).
func lines(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "otrf-rdp-lsass-dump.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	ls := bytes.SplitAfter(b, []byte("\n"))
	if len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

var recordNumber = regexp.MustCompile(`"RecordNumber":[0-9]+`)

// seqLine is real record i%17 with its RecordNumber replaced by seq, so every written
// event can be told apart and counted.
func seqLine(ls [][]byte, seq int) []byte {
	l := ls[seq%len(ls)]
	l = recordNumber.ReplaceAll(l, []byte(`"RecordNumber":`+strconv.Itoa(seq)))
	// Each event gets its own receive time too, as real ones have: otherwise records
	// cycled from the same template would start byte-identical files.
	at := time.Date(2020, 9, 22, 4, 38, 3, 0, time.UTC).Add(time.Duration(seq) * time.Second)
	return receivedTime.ReplaceAll(l, []byte(`"EventReceivedTime":"`+at.Format(time.DateTime)+`"`))
}

var receivedTime = regexp.MustCompile(`"EventReceivedTime":"[^"]*"`)

func seqOf(t testing.TB, ev source.Event) int {
	t.Helper()
	v, ok := ev.Field("RecordNumber")
	if !ok {
		t.Fatalf("event from %s has no RecordNumber field", ev.Origin)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("RecordNumber %q: %v", v, err)
	}
	return n
}

func appendFile(t testing.TB, path string, data ...[]byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range data {
		if _, err := f.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendSeq(t testing.TB, path string, ls [][]byte, from, to int) {
	t.Helper()
	var buf bytes.Buffer
	for i := from; i < to; i++ {
		buf.Write(seqLine(ls, i))
	}
	appendFile(t, path, buf.Bytes())
}

// running is a feed started on its own goroutine, with its events on ev.
type running struct {
	f      *Feed
	ev     chan source.Event
	cancel context.CancelFunc
	done   chan error
}

// start runs a feed built from cfg with quick test knobs and waits until it tails.
func start(t testing.TB, cfg Config, knobs ...func(*Feed)) *running {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.poll, f.cpEvery, f.retireAfter = 50*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	for _, k := range knobs {
		k(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{f: f, ev: make(chan source.Event), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.Run(ctx, r.ev) }()
	t.Cleanup(func() { r.stop(t) })
	deadline := time.Now().Add(5 * time.Second)
	for f.Status().State != source.StateTailing {
		select {
		case err := <-r.done:
			r.done <- err
			return r // the caller asserts on the error
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed not tailing after 5s: %+v", f.Status())
		}
		time.Sleep(time.Millisecond)
	}
	return r
}

// stop cancels the feed and waits for Run to return; it is idempotent.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10s after cancel")
		return nil
	}
}

// take receives n events or fails after the deadline.
func (r *running) take(t testing.TB, n int) []source.Event {
	t.Helper()
	var out []source.Event
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case ev := <-r.ev:
			out = append(out, ev)
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Run returned %v after %d of %d events; status %+v", err, len(out), n, r.f.Status())
		case <-timeout:
			t.Fatalf("got %d of %d events in 10s; status %+v", len(out), n, r.f.Status())
		}
	}
	return out
}

// none asserts that no event arrives within d (used after a partial write, where
// arrival would be the bug).
func (r *running) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case ev := <-r.ev:
		t.Fatalf("unexpected event from %s: %.80q", ev.Origin, ev.Raw)
	case <-time.After(d):
	}
}

func wantSeqs(t testing.TB, evs []source.Event, from int) {
	t.Helper()
	for i, ev := range evs {
		if got := seqOf(t, ev); got != from+i {
			t.Fatalf("event %d: seq %d, want %d (origin %s)", i, got, from+i, ev.Origin)
		}
	}
}

func TestTailStartsAtEndAndFollowsAppends(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "sysmon.ndjson")
	appendSeq(t, path, ls, 0, 5) // present before the feed starts: not read by default
	r := start(t, Config{Patterns: []string{path}})
	appendSeq(t, path, ls, 5, 9)
	evs := r.take(t, 4)
	wantSeqs(t, evs, 5)
	if evs[0].Origin.Where != path || evs[0].Origin.Line != 6 || evs[0].Origin.Feed != "file:"+path {
		t.Errorf("origin = %+v, want %s line 6", evs[0].Origin, path)
	}
	if evs[0].Format != source.FormatFlatJSON && evs[0].Format != source.FormatNXLog {
		t.Errorf("format = %v, want a flat JSON format", evs[0].Format)
	}
	if !bytes.Equal(evs[0].Raw, bytes.TrimRight(seqLine(ls, 5), "\r\n")) {
		t.Errorf("raw = %.60q, want the written line", evs[0].Raw)
	}
	st := r.f.Status()
	if st.State != source.StateTailing || st.Decoded != 4 || st.Records != 4 || st.Kind != "file" {
		t.Errorf("status = %+v", st)
	}
}

func TestPartialLineIsHeldUntilComplete(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.ndjson")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}})
	l := seqLine(ls, 42)
	appendFile(t, path, l[:700])
	r.none(t, 150*time.Millisecond)
	appendFile(t, path, l[700:])
	evs := r.take(t, 1)
	wantSeqs(t, evs, 42)
}

func TestFromStartReadsExistingRecords(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.ndjson")
	appendSeq(t, path, ls, 0, 17)
	r := start(t, Config{Patterns: []string{path}, FromStart: true})
	evs := r.take(t, 17)
	wantSeqs(t, evs, 0)
	for i, ev := range evs {
		if ev.Origin.Line != int64(i+1) {
			t.Fatalf("event %d: line %d, want %d", i, ev.Origin.Line, i+1)
		}
	}
}

func TestPrettyPrintedObjectsAndXML(t *testing.T) {
	pretty, err := os.ReadFile(filepath.Join("testdata", "sigma-wmic-uninstall.pretty.json"))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := os.ReadFile(filepath.Join("testdata", "winlogbeat-sysmon-9.01.records1-7.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := start(t, Config{Patterns: []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "*.xml")}})
	// Two pretty-printed objects back to back, the second written in two halves.
	jp := filepath.Join(dir, "events.json")
	appendFile(t, jp, pretty, pretty[:len(pretty)/2])
	first := r.take(t, 1)
	r.none(t, 100*time.Millisecond)
	appendFile(t, jp, pretty[len(pretty)/2:])
	second := r.take(t, 1)
	lines := int64(bytes.Count(pretty, []byte("\n")))
	for i, ev := range []source.Event{first[0], second[0]} {
		if ev.Format != source.FormatEVTXJSON || ev.EventID != 1 {
			t.Errorf("pretty %d: format %v event %d, want evtx-json 1", i, ev.Format, ev.EventID)
		}
		if want := 1 + int64(i)*lines; ev.Origin.Line != want {
			t.Errorf("pretty %d: line %d, want %d", i, ev.Origin.Line, want)
		}
	}
	xp := filepath.Join(dir, "events.xml")
	appendFile(t, xp, xml)
	evs := r.take(t, 7)
	for i, ev := range evs {
		if ev.Format != source.FormatXML || ev.Channel != "Microsoft-Windows-Sysmon/Operational" {
			t.Errorf("xml %d: format %v channel %q", i, ev.Format, ev.Channel)
		}
	}
}

// rotateRename is logrotate's default: rename the file away, create a new one.
func rotateRename(t testing.TB, path, to string) {
	t.Helper()
	if err := os.Rename(path, to); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path)
}

// rotateCopyTruncate is logrotate's copytruncate: copy the file, then truncate it in
// place. The caller holds its appends meanwhile (what logrotate cannot do, so it warns
// that lines written in between are lost).
func rotateCopyTruncate(t testing.TB, path, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

func TestRotationRenameCreate(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}})
	appendSeq(t, path, ls, 0, 3)
	wantSeqs(t, r.take(t, 3), 0)
	appendSeq(t, path, ls, 3, 6) // maybe not read yet when the rename happens
	rotateRename(t, path, path+".1")
	appendSeq(t, path+".1", ls, 6, 8) // the writer had not reopened yet
	appendSeq(t, path, ls, 8, 11)
	got := map[int]int{}
	for _, ev := range r.take(t, 8) {
		got[seqOf(t, ev)]++
	}
	for i := 3; i < 11; i++ {
		if got[i] != 1 {
			t.Fatalf("seq %d seen %d times; all: %v", i, got[i], got)
		}
	}
}

func TestRotationCopyTruncate(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}})
	appendSeq(t, path, ls, 0, 2)
	wantSeqs(t, r.take(t, 2), 0)
	appendSeq(t, path, ls, 2, 5) // likely unread when truncated: must come from the copy
	rotateCopyTruncate(t, path, path+".1")
	appendSeq(t, path, ls, 5, 20) // more than before, so only the head shows the truncation
	wantSeqs(t, r.take(t, 18), 2)
	r.none(t, 100*time.Millisecond)
	if st := r.f.Status(); st.Decoded != 20 {
		t.Errorf("decoded %d, want 20", st.Decoded)
	}
}

func TestDeleteAndRecreate(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}})
	appendSeq(t, path, ls, 0, 2)
	wantSeqs(t, r.take(t, 2), 0)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, path, ls, 2, 4)
	evs := r.take(t, 2)
	wantSeqs(t, evs, 2)
	if evs[0].Origin.Line != 1 {
		t.Errorf("recreated file: line %d, want 1", evs[0].Origin.Line)
	}
}

func TestChmodIsIgnored(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendSeq(t, path, ls, 0, 2)
	r := start(t, Config{Patterns: []string{path}, FromStart: true})
	wantSeqs(t, r.take(t, 2), 0)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r.none(t, 100*time.Millisecond)
	appendSeq(t, path, ls, 2, 3)
	wantSeqs(t, r.take(t, 1), 2)
}

func TestGlobPicksUpNewFiles(t *testing.T) {
	ls := lines(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "a.ndjson")
	appendSeq(t, old, ls, 0, 2) // existing: tailed from its end
	r := start(t, Config{Patterns: []string{filepath.Join(dir, "*.ndjson")}})
	appendSeq(t, filepath.Join(dir, "ignored.txt"), ls, 100, 101)
	nw := filepath.Join(dir, "b.ndjson")
	appendSeq(t, nw, ls, 2, 5) // new: read from its start
	evs := r.take(t, 3)
	wantSeqs(t, evs, 2)
	if evs[0].Origin.Where != nw || evs[0].Origin.Line != 1 {
		t.Errorf("origin %+v, want %s line 1", evs[0].Origin, nw)
	}
	appendSeq(t, old, ls, 5, 6)
	wantSeqs(t, r.take(t, 1), 5)
	r.none(t, 100*time.Millisecond)
}

func TestPollFindsWhatEventsMiss(t *testing.T) {
	ls := lines(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	appendFile(t, path)
	// No file-system events at all, as on NFS: only the fallback poll sees changes.
	r := start(t, Config{Patterns: []string{filepath.Join(dir, "*.log")}}, func(f *Feed) { f.noWatch = true })
	appendSeq(t, path, ls, 0, 2)
	wantSeqs(t, r.take(t, 2), 0)
	rotateRename(t, path, path+".old")
	appendSeq(t, path, ls, 2, 3)
	wantSeqs(t, r.take(t, 1), 2)
	appendSeq(t, filepath.Join(dir, "y.log"), ls, 3, 4)
	wantSeqs(t, r.take(t, 1), 3)
}

// memCheckpoints is a Checkpointer in memory, shared between feed runs.
type memCheckpoints struct {
	mu    sync.Mutex
	m     map[string][]byte
	saves int
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
	m.saves++
	return nil
}

func TestCheckpointResumeNoLossNoDuplicates(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendSeq(t, path, ls, 0, 30)
	cps := &memCheckpoints{}
	seen := map[int]int{}
	count := func(evs []source.Event) {
		for _, ev := range evs {
			seen[seqOf(t, ev)]++
		}
	}

	// First run: from the start, stopped after 10 events while the feed is blocked
	// sending the 11th.
	r := start(t, Config{Patterns: []string{path}, FromStart: true, Checkpoints: cps})
	count(r.take(t, 10))
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if cps.m["file:"+path] == nil {
		t.Fatal("no checkpoint saved on shutdown")
	}
	appendSeq(t, path, ls, 30, 35) // written while vigil is down

	// Second run: FromStart would re-read everything; the checkpoint must win.
	r = start(t, Config{Patterns: []string{path}, FromStart: true, Checkpoints: cps})
	evs := r.take(t, 25)
	count(evs)
	if evs[0].Origin.Line != 11 {
		t.Errorf("resumed at line %d, want 11", evs[0].Origin.Line)
	}
	r.none(t, 100*time.Millisecond)
	r.stop(t)
	for i := range 35 {
		if seen[i] != 1 {
			t.Fatalf("seq %d seen %d times", i, seen[i])
		}
	}

	// Third run after a rename rotation while down: the rest of the old file, then the new.
	appendSeq(t, path, ls, 35, 37)
	rotateRename(t, path, path+".1")
	appendSeq(t, path, ls, 37, 39)
	r = start(t, Config{Patterns: []string{path}, Checkpoints: cps})
	wantSeqs(t, r.take(t, 4), 35)
}

func TestCheckpointResumeAfterCopyTruncateWhileDown(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendSeq(t, path, ls, 0, 10)
	cps := &memCheckpoints{}
	r := start(t, Config{Patterns: []string{path}, FromStart: true, Checkpoints: cps})
	wantSeqs(t, r.take(t, 4), 0)
	r.stop(t)
	// While vigil is down: more lines, then logrotate's copytruncate, then new lines.
	appendSeq(t, path, ls, 10, 12)
	rotateCopyTruncate(t, path, path+"-20261204")
	appendSeq(t, path, ls, 12, 15)
	r = start(t, Config{Patterns: []string{path}, Checkpoints: cps})
	wantSeqs(t, r.take(t, 11), 4) // 4..11 from the copy, from the checkpoint on; then 12..14
	r.none(t, 100*time.Millisecond)
}

func TestCheckpointOfReplacedFileStartsAtZero(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendSeq(t, path, ls, 0, 3)
	cps := &memCheckpoints{}
	r := start(t, Config{Patterns: []string{path}, FromStart: true, Checkpoints: cps})
	wantSeqs(t, r.take(t, 3), 0)
	r.stop(t)
	// Replaced by a different file at the same path (new inode, new head).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, path, ls, 100, 110)
	r = start(t, Config{Patterns: []string{path}, Checkpoints: cps})
	wantSeqs(t, r.take(t, 10), 100)
}

func TestStdin(t *testing.T) {
	ls := lines(t)
	pr, pw := io.Pipe()
	f, err := New(Config{Patterns: []string{"-"}})
	if err != nil {
		t.Fatal(err)
	}
	f.stdinReader = pr
	out := make(chan source.Event)
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background(), out) }()
	go func() {
		for i := range 20 {
			pw.Write(seqLine(ls, i))
		}
		pw.Write(bytes.TrimRight(seqLine(ls, 20), "\n")) // no final newline: Close hands it over
		pw.Close()
	}()
	var evs []source.Event
	for len(evs) < 21 {
		select {
		case ev := <-out:
			evs = append(evs, ev)
		case err := <-done:
			t.Fatalf("Run returned %v after %d events", err, len(evs))
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of 21 events", len(evs))
		}
	}
	wantSeqs(t, evs, 0)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := f.Status()
	if st.State != source.StateDone || st.Kind != "stdin" || st.Name != "stdin" || evs[3].Origin.Where != "stdin" {
		t.Errorf("status %+v, origin %+v", st, evs[3].Origin)
	}
}

func TestStdinReadErrorIsReported(t *testing.T) {
	f, err := New(Config{Patterns: []string{"-"}})
	if err != nil {
		t.Fatal(err)
	}
	f.stdinReader = iotestErrReader{errors.New("broken pipe")}
	err = f.Run(context.Background(), make(chan source.Event))
	if err == nil || err.Error() != "jsonfile: read stdin: broken pipe" {
		t.Fatalf("err = %v", err)
	}
	if st := f.Status(); st.State != source.StateError {
		t.Errorf("state %v, want error", st.State)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeErrorsAndOversizeAreCounted(t *testing.T) {
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}, MaxRecord: 4096})
	big := append(bytes.Repeat([]byte("A"), 10000), '\n')
	appendFile(t, path, []byte("{\"EventID\": 1, broken}\n"), big, seqLine(ls, 7))
	wantSeqs(t, r.take(t, 1), 7)
	st := r.f.Status()
	if st.Records != 3 || st.Decoded != 1 || st.DecodeErrors != 1 || st.Skipped != 1 {
		t.Fatalf("counters %+v, want records 3 = decoded 1 + errors 1 + skipped 1", st)
	}
	if len(st.LastErrors) != 1 || !regexp.MustCompile(`^`+regexp.QuoteMeta(path)+`:1: `).MatchString(st.LastErrors[0]) {
		t.Errorf("last errors %q, want one starting %q", st.LastErrors, path+":1: ")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "jsonfile: no file given"},
		{Config{Patterns: []string{"/tmp/*/x.log"}}, "jsonfile: /tmp/*/x.log: wildcards are allowed in the file name only, not in directories"},
		{Config{Patterns: []string{"/tmp/[x.log"}}, "jsonfile: /tmp/[x.log: bad glob: syntax error in pattern"},
		{Config{Patterns: []string{"-", "-"}}, "jsonfile: stdin (-) given twice"},
		{Config{Patterns: []string{"x"}, MaxRecord: -1}, "jsonfile: max record -1: must not be negative"},
		{Config{Patterns: []string{""}}, "jsonfile: empty file name"},
	} {
		_, err := New(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestRunFailsOnMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "x.log")
	f, err := New(Config{Patterns: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Run(context.Background(), make(chan source.Event))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error naming the directory", err)
	}
	st := f.Status()
	if st.State != source.StateError || st.Detail != err.Error() {
		t.Errorf("status %v %q", st.State, st.Detail)
	}
	want := fmt.Sprintf("jsonfile: watch directory %s (for %s): ", filepath.Dir(path), path)
	if len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("err %q, want prefix %q", err, want)
	}
}

// An unreadable file puts the feed in error with why, until it reads again. (Tests run
// as root here, where chmod cannot make a file unreadable, so the state is set directly.)
func TestUnreadableFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}})
	r.f.setFailing(path, "open "+path+": permission denied")
	if st := r.f.Status(); st.State != source.StateError || st.Detail != "open "+path+": permission denied" {
		t.Fatalf("status %v %q, want error naming the file", st.State, st.Detail)
	}
	appendSeq(t, path, lines(t), 0, 1) // the next successful read clears it
	r.take(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for r.f.Status().State != source.StateTailing {
		if time.Now().After(deadline) {
			t.Fatalf("still %+v after a good read", r.f.Status())
		}
		time.Sleep(time.Millisecond)
	}
}
