package jsonfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// BenchmarkReadFromStart measures a file read through the feed: framing, decoding and
// handing over real flat-JSON Sysmon/4688 records (about 1.9 KB each).
func BenchmarkReadFromStart(b *testing.B) {
	ls := lines(b)
	const n = 5000
	var buf bytes.Buffer
	for i := range n {
		buf.Write(seqLine(ls, i))
	}
	path := filepath.Join(b.TempDir(), "x.ndjson")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		f, err := New(Config{Patterns: []string{path}, FromStart: true})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan source.Event, 256)
		done := make(chan error, 1)
		go func() { done <- f.Run(ctx, out) }()
		for range n {
			<-out
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
