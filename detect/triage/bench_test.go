package triage

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"
)

// BenchmarkSetStatus measures one durable verdict (a transaction with an audit record,
// fsync'd with synchronous=FULL) and reports its p50/p99 latency.
func BenchmarkSetStatus(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	if err := s.UpsertAlert(ctx, alertRec("a1", t0)); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	cycle := []struct {
		to Status
		r  Reason
	}{{StatusAcknowledged, ""}, {StatusClosed, ReasonFalsePositive}, {StatusOpen, ""}}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c := cycle[i%len(cycle)]
		start := time.Now()
		if _, err := s.SetStatus(ctx, "a1", c.to, c.r, "bench"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkUpsertAlerts measures the engine's persistence path: batches of 100 alerts,
// half new, half repeats, in one transaction each.
func BenchmarkUpsertAlerts(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	batch := make([]AlertRecord, 100)
	n := 0
	for b.Loop() {
		for j := range batch {
			id := fmt.Sprintf("a%d", n/2) // every id comes twice: insert, then bump
			n++
			batch[j] = alertRec(id, t0.Add(time.Duration(n)*time.Millisecond))
		}
		if err := s.UpsertAlerts(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkMatches1000 checks one alert against 1,000 allowlist entries, none of which
// match (the engine's common case: every entry is tried).
func BenchmarkMatches1000(b *testing.B) {
	evs := loadEvents(b)
	entries := make([]AllowEntry, 1000)
	for i := range entries {
		e := &entries[i]
		switch i % 4 {
		case 0:
			e.Image = mustPattern(b, fmt.Sprintf(`C:\Program Files\Vendor%d\*.exe`, i))
		case 1:
			e.RuleID = fmt.Sprintf("rule-%d", i)
			e.ParentImage = mustPattern(b, `*\services.exe`)
		case 2:
			e.CommandLine = mustPattern(b, fmt.Sprintf(`re:--job=%d\b`, i))
		case 3:
			e.User = mustPattern(b, fmt.Sprintf(`CORP\svc_%d`, i))
			e.Host = mustPattern(b, "WORKSTATION5")
		}
	}
	now := time.Now()
	ev := &evs[0]
	b.ReportAllocs()
	for b.Loop() {
		for i := range entries {
			if entries[i].Matches("r1", ev, now) {
				b.Fatal("unexpected match")
			}
		}
	}
}

// BenchmarkUpsertAlertSingle is one alert per transaction (one fsync each): the worst
// case, when alerts trickle in one at a time.
func BenchmarkUpsertAlertSingle(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	n := 0
	for b.Loop() {
		n++
		if err := s.UpsertAlert(ctx, alertRec(fmt.Sprintf("a%d", n/2), t0.Add(time.Duration(n)*time.Millisecond))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
