package detect

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// FuzzProcess pushes attacker-shaped process events through a memory-only engine: no
// panic, one alert per match, and the counters stay consistent.
func FuzzProcess(f *testing.F) {
	f.Add("dc01", uint32(10), uint32(2212), cmdExe, "cmd /c whoami", dnsExe, int64(0), true)
	f.Add("", uint32(0), uint32(0), "", "", `\dns.exe`, int64(-1), false)
	f.Add("h\x00", uint32(4), uint32(4), "\xff\\conhost.exe", "\x1b[2J", `C:\DNS.EXE`, int64(1<<62), true)
	f.Fuzz(func(t *testing.T, host string, pid, ppid uint32, image, cmd, parent string, dt int64, start bool) {
		e := newTestEngine(t, nil, &fakeClock{t0})
		kind := source.KindOther
		if start {
			kind = source.KindProcessStart
		}
		for i := range 3 {
			ev := sysmon1(t0.Add(time.Duration(dt)*time.Duration(i)), host, pid+uint32(i), ppid, image, cmd, parent)
			ev.Kind = kind
			matchesBefore := e.Stats().Matches
			out, err := e.Process(context.Background(), &ev, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Stats().Matches - matchesBefore; got != uint64(len(out)) {
				t.Fatalf("%d alerts returned for %d matches", len(out), got)
			}
		}
		s := e.Stats()
		if s.Events != 3 || s.Matches != s.Alerts+s.Grouped || uint64(s.OpenAlerts) > s.Alerts {
			t.Fatalf("stats %+v", s)
		}
	})
}
