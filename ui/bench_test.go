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

// BenchmarkKeyToFrame runs the model's event loop the way Bubble Tea does (one
// goroutine, Update then View per message) while an engine goroutine delivers a batch of
// 500 new alerts every 100 ms (5 000 alerting events/s, the worst case: every event an
// alert) onto 100 000 held alerts, and a typist presses a key every 20 ms. It reports
// keystroke -> frame latency, queueing behind batches included, as p50 and p99.
func BenchmarkKeyToFrame(b *testing.B) {
	m := newTestModel(b, 120, 40, Config{Initial: manyAlerts(b, 100_000)})
	tmpl := manyAlerts(b, 500)
	keys := []tea.KeyMsg{keyMsg("j"), keyMsg("k"), keyMsg("]"), keyMsg("j"), keyMsg("G"), keyMsg("g")}
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		batches := make(chan detect.Batch, 1)
		type keyAt struct {
			k  tea.KeyMsg
			at time.Time
		}
		keyCh := make(chan keyAt, 64)
		stop := make(chan struct{})
		const run = 500 * time.Millisecond
		go func() { // the engine
			defer close(batches)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			end := time.After(run)
			for n := 0; ; n++ {
				select {
				case <-end:
					return
				case <-tick.C:
				}
				batch := make([]detect.Alert, len(tmpl))
				for k := range tmpl {
					batch[k] = tmpl[k]
					batch[k].ID = fmt.Sprintf("n%d-%d-%d", time.Now().UnixNano(), n, k)
					batch[k].LastSeen = time.Now()
				}
				batches <- detect.Batch{Alerts: batch}
			}
		}()
		go func() { // the typist
			defer close(keyCh)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				keyCh <- keyAt{keys[i%len(keys)], time.Now()}
			}
		}()
		for batches != nil {
			select {
			case bt, ok := <-batches:
				if !ok {
					batches = nil
					continue
				}
				nm, _ := m.Update(batchMsg{batches: []detect.Batch{bt}})
				m = nm.(Model)
				_ = m.View()
			case k := <-keyCh:
				nm, _ := m.Update(k.k)
				m = nm.(Model)
				_ = m.View()
				lat = append(lat, time.Since(k.at))
			}
		}
		close(stop)
		for range keyCh {
		}
	}
	sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(lat)), "keys")
	}
}

// BenchmarkFilterKeystroke types one filter character with 100 000 alerts held.
func BenchmarkFilterKeystroke(b *testing.B) {
	m := newTestModel(b, 120, 40, Config{Initial: manyAlerts(b, 100_000)})
	m, _ = press(b, m, "/")
	b.ReportAllocs()
	for b.Loop() {
		m, _ = press(b, m, "d")
		m, _ = press(b, m, "backspace")
	}
}
