package ui

import (
	"fmt"
	"sort"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/vigil-soc/vigil/detect"
)

// manyAlerts makes n alerts from the fixtures with distinct ids and times.
func manyAlerts(b testing.TB, n int) []detect.Alert {
	as, _ := fixtureAlerts(b)
	out := make([]detect.Alert, n)
	for i := range out {
		a := as[i%len(as)]
		a.ID = fmt.Sprintf("al-%07d", i)
		a.Host = fmt.Sprintf("dc%03d", i%500)
		a.LastSeen = fixedNow.Add(time.Duration(i) * time.Millisecond)
		out[i] = a
	}
	return out
}

// BenchmarkView100k draws a frame with 100 000 alerts in memory (goal < 2 ms).
func BenchmarkView100k(b *testing.B) {
	m := newTestModel(b, 200, 60, Config{Initial: manyAlerts(b, 100_000)})
	m, _ = press(b, m, "j", "j")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkKeyToFrame feeds batches at 5 000 events/s worth of alerts (500 per 100 ms
// batch, onto 100 000 held) between key presses and reports keystroke -> frame latency:
// Update of the key plus View, p50 and p99.
func BenchmarkKeyToFrame(b *testing.B) {
	m := newTestModel(b, 120, 40, Config{Initial: manyAlerts(b, 100_000)})
	fresh := manyAlerts(b, 500)
	var lat []time.Duration
	keys := []tea.KeyMsg{keyMsg("j"), keyMsg("k"), keyMsg("]"), keyMsg("j")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Each iteration: one engine batch (new alerts), then a key and a frame.
		batch := make([]detect.Alert, len(fresh))
		for k := range fresh {
			batch[k] = fresh[k]
			batch[k].ID = fmt.Sprintf("n%d-%d", i, k)
			batch[k].LastSeen = fixedNow.Add(time.Hour + time.Duration(i)*time.Millisecond)
		}
		nm, _ := m.Update(batchMsg{batches: []detect.Batch{{Alerts: batch}}})
		m = nm.(Model)
		start := time.Now()
		nm, _ = m.Update(keys[i%len(keys)])
		m = nm.(Model)
		_ = m.View()
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
