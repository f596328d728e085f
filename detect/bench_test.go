package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/rules"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// realEvents decodes the OTRF records in testdata/otrf. Every 50th process start gets
// dns.exe as its parent (edited in memory: no public record has one) so the benchmark
// also pays for matches, grouping and the allowlist scan.
func realEvents(tb testing.TB) []source.Event {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "otrf", "*.*json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no testdata/otrf records: %v", err)
	}
	var evs []source.Event
	starts := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		fr := decode.NewFramer(decode.DefaultMaxRecord)
		fr.Write(data)
		for {
			rec, ok := fr.Next()
			if !ok {
				if rec, ok = fr.Close(); !ok {
					break
				}
			}
			var ev source.Event
			if err := decode.Decode(rec.Data, source.Origin{Feed: "bench", Where: f, Line: rec.Line}, &ev); err != nil {
				tb.Fatalf("decode: %v", err)
			}
			if ev.IsProcessStart() {
				starts++
				if starts%50 == 0 {
					ev.Parent.Image = dnsExe
				}
			}
			evs = append(evs, ev)
		}
	}
	if starts == 0 {
		tb.Fatal("no process starts in testdata/otrf")
	}
	return evs
}

func builtinSet(tb testing.TB) *sigma.Set {
	tb.Helper()
	var all []*sigma.Rule
	for name, data := range rules.Builtin() {
		rs, refused := sigma.ParseRules(data, name, nil)
		if len(refused) > 0 {
			tb.Fatalf("built-in rule refused: %v", refused)
		}
		all = append(all, rs...)
	}
	set, refused := sigma.NewSet(all)
	if len(refused) > 0 {
		tb.Fatalf("set refused: %v", refused)
	}
	return set
}

// benchEngine is a memory-only engine with the built-in rules and n allowlist entries
// that never match (so each match scans all of them: the worst case).
func benchEngine(tb testing.TB, n int) *Engine {
	tb.Helper()
	e, err := NewEngine(context.Background(), Config{Rules: builtinSet(tb), Clock: &fakeClock{t0}})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		img, err := triage.ParsePattern(fmt.Sprintf(`C:\Tools\tool%d\*.exe`, i))
		if err != nil {
			tb.Fatal(err)
		}
		if res := e.Do(context.Background(), AddAllow{Entry: triage.AllowEntry{Image: &img, Reason: "bench"}}); res.Err != nil {
			tb.Fatal(res.Err)
		}
	}
	return e
}

// BenchmarkEngineProcess: one op is one real event through tree, rules, allowlist and
// grouping. Each pass over the events is shifted in time, and its PIDs by a multiple of
// 4 (cycling every 1,024 passes), so the tree fills to its per-host cap and evicts as a
// busy host would. Repeating the very same PIDs every pass instead builds PID-reuse
// chains thousands long, which proctree walks linearly (see the engine report).
func BenchmarkEngineProcess(b *testing.B) {
	evs := realEvents(b)
	e := benchEngine(b, 1000)
	ctx := context.Background()
	var dst []Alert
	span := evs[len(evs)-1].Time.Sub(evs[0].Time) + time.Hour
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		pass := i / len(evs)
		ev.Time = ev.Time.Add(time.Duration(pass) * span)
		shift := uint32(pass%1024) * 4
		ev.Process.PID += shift
		if ev.Parent.PID != 0 {
			ev.Parent.PID += shift
		}
		var err error
		dst, err = e.Process(ctx, &ev, dst[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	s := e.Stats()
	if b.N >= len(evs) && s.Matches == 0 {
		b.Fatal("no match: the benchmark does not exercise the allowlist")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestRealEventsThroughEngine checks what the benchmark measures: the edited records
// alert, the others do not, and every stage is counted.
func TestRealEventsThroughEngine(t *testing.T) {
	evs := realEvents(t)
	e := benchEngine(t, 10)
	want := 0
	for i := range evs {
		// The rule excludes conhost.exe children.
		if evs[i].IsProcessStart() && evs[i].Parent.Image == dnsExe && !strings.HasSuffix(strings.ToLower(evs[i].Process.Image), `\conhost.exe`) {
			want++
		}
		ev := evs[i]
		if _, err := e.Process(context.Background(), &ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	s := e.Stats()
	if want == 0 || s.Matches != uint64(want) || s.Events != uint64(len(evs)) || s.Alerts+s.Grouped != s.Matches || s.Suppressed != 0 {
		t.Errorf("stats %+v, want %d matches of %d events", s, want, len(evs))
	}
	if s.TreeNodes == 0 {
		t.Error("tree stayed empty")
	}
}
