package sigma

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// benchEvents decodes the real OTRF process-creation records once.
func benchEvents(b *testing.B) []source.Event { return benchEvents2(b) }

func benchEvents2(b testing.TB) []source.Event {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "bench", "otrf-process-create.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	var evs []source.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := int64(1); sc.Scan(); line++ {
		var ev source.Event
		if err := decode.Decode(sc.Bytes(), source.Origin{Where: "otrf", Line: line}, &ev); err != nil {
			b.Fatalf("decode line %d: %v", line, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		b.Fatal("no events")
	}
	return evs
}

func benchSet(b *testing.B, set *Set, evs []source.Event) {
	dst := make([]*Rule, 0, 64)
	matches := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		dst = set.Match(&evs[i%len(evs)], dst[:0])
		matches += len(dst)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		// The machine may be shared: events per second of this process's own CPU time.
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
	if matches < 0 {
		b.Fatal("unreachable")
	}
}

// BenchmarkDNSRule: the dns.exe rule alone over real process-creation events.
func BenchmarkDNSRule(b *testing.B) {
	evs := benchEvents(b)
	set, _ := NewSet([]*Rule{mustRule(b, dnsRule)})
	benchSet(b, set, evs)
}

// BenchmarkDNSRuleHit: the dns.exe rule on an event it matches (worst case for it).
func BenchmarkDNSRuleHit(b *testing.B) {
	set, _ := NewSet([]*Rule{mustRule(b, dnsRule)})
	ev := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`, "CommandLine", `cmd /c whoami`)
	benchSet(b, set, []source.Event{*ev})
}

// BenchmarkAllSigmaHQ: all 1183 SigmaHQ process_creation rules together.
func BenchmarkAllSigmaHQ(b *testing.B) {
	dir := sharedDir(b, "sigma/rules")
	rules, ref := LoadPaths([]string{dir}, nil)
	if len(ref) > 0 {
		b.Fatalf("refused: %v", ref)
	}
	set, _ := NewSet(rules)
	benchSet(b, set, benchEvents(b))
}

// BenchmarkAutomatonPass: only the substring automata of the process-creation bucket
// over each real event (the part of Match that reads every byte of every indexed field).
func BenchmarkAutomatonPass(b *testing.B) {
	rules, ref := LoadPaths([]string{sharedDir(b, "sigma/rules")}, nil)
	if len(ref) > 0 {
		b.Fatalf("refused: %v", ref)
	}
	set, _ := NewSet(rules)
	evs := benchEvents(b)
	sc := set.pool.Get().(*scratch)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for _, k := range sc.touched {
			clear(sc.needles[k])
			sc.scanned[k] = false
		}
		sc.touched = sc.touched[:0]
		for _, k := range set.procStart.subs {
			set.runAC(k, &evs[i%len(evs)], sc)
		}
	}
}
