package syslog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// loopReader serves data over and over, n bytes in total.
type loopReader struct {
	data []byte
	off  int
	left int64
}

func (r *loopReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	n = int(min(int64(n), r.left))
	r.off = (r.off + n) % len(r.data)
	r.left -= int64(n)
	return n, nil
}

func wireOf(recs [][]byte, octet bool) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		if octet {
			fmt.Fprintf(&b, "%d ", len(r))
			b.Write(r)
		} else {
			b.Write(r)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// BenchmarkFramer measures framing alone over real records (MB/s of wire bytes).
func BenchmarkFramer(b *testing.B) {
	recs := readRecords(b, "otrf-cobaltstrike.ndjson")
	for _, octet := range []bool{false, true} {
		name := "lf"
		if octet {
			name = "octet"
		}
		b.Run(name, func(b *testing.B) {
			wire := wireOf(recs, octet)
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				f := newFramer(&loopReader{data: wire, left: int64(len(wire))}, DefaultMaxMessage)
				n := 0
				for {
					if _, err := f.next(); err != nil {
						break
					}
					n++
				}
				if n != len(recs) {
					b.Fatalf("framed %d of %d", n, len(recs))
				}
			}
		})
	}
}

// BenchmarkTCPIngest measures one sender streaming real events to the listener over
// loopback TCP: framing, decoding (raw: copy only; decode: source/decode), and hand-off
// on out to a consumer that keeps up. One op is one event.
func BenchmarkTCPIngest(b *testing.B) {
	recs := readRecords(b, "otrf-cobaltstrike.ndjson")
	wire := wireOf(recs, false)
	for _, dec := range []struct {
		name string
		fn   DecodeFunc
	}{{"raw", rawDecode}, {"decode", decode.Decode}} {
		b.Run(dec.name, func(b *testing.B) {
			l, err := NewListener(ListenConfig{URL: "tcp://127.0.0.1:0", Decode: dec.fn})
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Bind(); err != nil {
				b.Fatal(err)
			}
			out := make(chan source.Event, 1024)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go l.Run(ctx, out)
			conn, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			b.SetBytes(int64(len(wire) / len(recs)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			go func() {
				w := bufio.NewWriterSize(conn, 64<<10)
				io.Copy(w, &loopReader{data: wire, left: int64(len(wire)) * int64(b.N/len(recs)+1)})
				w.Flush()
			}()
			for i := 0; i < b.N; i++ {
				<-out
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
			if st := l.Status(); st.DecodeErrors != 0 || st.Dropped != 0 {
				b.Fatalf("decode errors %d dropped %d: %q", st.DecodeErrors, st.Dropped, st.LastErrors)
			}
		})
	}
}
