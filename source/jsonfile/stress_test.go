package jsonfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestThousandRotationsExactlyOnce rotates the file 1,000 times while a writer appends,
// alternating logrotate's two styles, and counts every event by its sequence number:
// each must be seen exactly once. The writer does not wait for vigil, so vigil often
// lags several rotations behind and must find the renamed files and copies it never
// opened. The writer holds its appends during copy+truncate (logrotate cannot, hence
// its documented window).
func TestThousandRotationsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 1,000 rotations")
	}
	const (
		rotations = 1000
		perFile   = 5
		total     = rotations*perFile + perFile
	)
	ls := lines(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}, Debounce: time.Millisecond})

	var (
		mu    sync.Mutex
		seen  = make([]int, total)
		from  = make([][]string, total) // where each was read, for the failure message
		bad   []string
		count atomic.Int64
		got   = make(chan struct{})
	)
	go func() {
		for ev := range r.ev {
			v, ok := ev.Field("RecordNumber")
			var n int
			if _, err := fmt.Sscan(v, &n); !ok || err != nil || n < 0 || n >= total {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s: RecordNumber %q", ev.Origin, v))
				mu.Unlock()
				continue
			}
			mu.Lock()
			seen[n]++
			from[n] = append(from[n], fmt.Sprintf("%s@%d", ev.Origin, ev.Origin.Offset))
			mu.Unlock()
			if count.Add(1) == total {
				close(got)
			}
		}
	}()

	seq := 0
	for rot := range rotations {
		for range perFile {
			appendSeq(t, path, ls, seq, seq+1) // one append per record, as a logger does
			seq++
		}
		to := fmt.Sprintf("%s.%d", path, rot)
		if rot%2 == 0 {
			rotateRename(t, path, to)
		} else {
			rotateCopyTruncate(t, path, to)
		}
	}
	appendSeq(t, path, ls, seq, seq+perFile)
	select {
	case <-got:
	case <-time.After(30 * time.Second):
	}
	time.Sleep(300 * time.Millisecond) // duplicates would arrive late
	r.stop(t)

	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d events without a valid sequence, first: %s", len(bad), bad[0])
	}
	var missing, dup []int
	for i, n := range seen {
		switch {
		case n == 0:
			missing = append(missing, i)
		case n > 1:
			dup = append(dup, i)
		}
	}
	for _, d := range head(dup) {
		t.Logf("seq %d read from %v", d, from[d])
	}
	for _, m := range head(missing) {
		if m > 0 {
			t.Logf("seq %d missing; seq %d read from %v", m, m-1, from[m-1])
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("of %d events: %d missing (first %v), %d duplicated (first %v); status %+v",
			total, len(missing), head(missing), len(dup), head(dup), r.f.Status())
	}
	st := r.f.Status()
	t.Logf("%d rotations, %d events exactly once; status: %s", rotations, total, st.Detail)
	if st.Decoded != total || st.DecodeErrors != 0 {
		t.Errorf("decoded %d, errors %d, want %d and 0", st.Decoded, st.DecodeErrors, total)
	}
}

func head(s []int) []int { return s[:min(len(s), 10)] }

// TestAppendLatency measures appended line -> event out of the feed, one record at a time.
func TestAppendLatency(t *testing.T) {
	const n = 500
	ls := lines(t)
	path := filepath.Join(t.TempDir(), "x.log")
	appendFile(t, path)
	r := start(t, Config{Patterns: []string{path}}) // default debounce
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lat := make([]time.Duration, 0, n)
	for i := range n {
		l := seqLine(ls, i)
		t0 := time.Now()
		if _, err := f.Write(l); err != nil {
			t.Fatal(err)
		}
		ev := r.take(t, 1)[0]
		lat = append(lat, time.Since(t0))
		if got := seqOf(t, ev); got != i {
			t.Fatalf("seq %d, want %d", got, i)
		}
		if i%50 == 0 {
			time.Sleep(15 * time.Millisecond) // some appends arrive with the debouncer idle
		}
	}
	slices.Sort(lat)
	p50, p99 := lat[n/2], lat[n*99/100]
	t.Logf("append -> event over %d appends: p50 %v, p99 %v, max %v", n, p50, p99, lat[n-1])
	if raceEnabled {
		return // the race detector slows everything 5-10x: the figure is not the product's
	}
	if p99 >= 50*time.Millisecond {
		t.Errorf("p99 %v, want under 50ms", p99)
	}
}
