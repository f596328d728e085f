package syslog

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// FuzzStream pushes arbitrary bytes through a whole stream (framer, batches, decode
// workers, emitter) and checks the books: every record framed is decoded, failed or
// skipped; every decoded event is delivered or counted as dropped; no byte is counted
// that was not sent.
func FuzzStream(f *testing.F) {
	f.Add([]byte("<13>1 2026-12-04T10:00:00Z host app - - - {\"EventID\":1,\"Image\":\"C:\\\\x.exe\"}\n<13>plain\n"), uint8(64))
	f.Add([]byte("12 <13>toolong!5 <13>b3 abc"), uint8(8))
	f.Add([]byte("5x garbage"), uint8(16))
	f.Add([]byte("\x00\x00\n\r\n{\"Event\":{}}\n"), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		var c source.Counters
		p := &pipe{
			name: "fuzz", decode: decode.Decode, max: int(max) + 1,
			idle: 5 * time.Second, read: 5 * time.Second, queue: time.Millisecond, c: &c,
		}
		stop := p.startWorkers()
		out := make(chan source.Event, 8)
		var got uint64
		drained := make(chan struct{})
		go func() {
			for range out {
				got++
			}
			close(drained)
		}()
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			p.serve(context.Background(), server, "fuzz-peer", &peerCounters{}, out)
			server.Close()
			close(done)
		}()
		client.Write(data) // may stop early when the framer gives up on the stream
		client.Close()
		<-done
		stop()
		close(out)
		<-drained
		st := c.Snapshot("fuzz", "tcp")
		if st.Records != st.Decoded+st.DecodeErrors+st.Skipped {
			t.Fatalf("records %d != decoded %d + errors %d + skipped %d", st.Records, st.Decoded, st.DecodeErrors, st.Skipped)
		}
		if st.Decoded != got+st.Dropped {
			t.Fatalf("decoded %d != delivered %d + dropped %d", st.Decoded, got, st.Dropped)
		}
		if st.Bytes > uint64(len(data)) {
			t.Fatalf("counted %d bytes of %d", st.Bytes, len(data))
		}
	})
}
