package syslog

import (
	"bufio"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// udpCounters reads the Udp line of /proc/net/snmp (the network namespace's totals).
func udpCounters(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kernel UDP counters: %v", err)
		}
		t.Skipf("kernel UDP counters unavailable (%v): kernel drops cannot be accounted", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fields[1:]
			continue
		}
		m := make(map[string]uint64, len(names))
		for i, v := range fields[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			m[names[i]] = n
		}
		return m
	}
	t.Fatalf("/proc/net/snmp has no Udp counters")
	return nil
}

// TestUDPFloodSlowConsumer sends UDP at ten times the rate the consumer drains out and
// checks that nothing is lost silently: every datagram sent was either read by vigil or
// dropped by the kernel (socket buffer full, counted in RcvbufErrors), and every record
// vigil read was consumed, is still queued, or was counted as Dropped.
func TestUDPFloodSlowConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test sends for 1.5 s")
	}
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")
	l, err := NewListener(ListenConfig{URL: "udp://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	out := make(chan source.Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- l.Run(ctx, out) }()

	// The slow consumer: 2 events per millisecond tick, about 2000/s.
	consumed := make(chan uint64)
	stopConsumer := make(chan struct{})
	go func() {
		var n uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopConsumer:
				consumed <- n
				return
			case <-tick.C:
				for i := 0; i < 2; i++ {
					select {
					case <-out:
						n++
					default:
					}
				}
			}
		}
	}()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	k0 := udpCounters(t)

	conn, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The sender: 20 datagrams per millisecond, about 20000/s, for 1.5 s.
	var sent, sendErrs uint64
	tick := time.NewTicker(time.Millisecond)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		<-tick.C
		for i := 0; i < 20; i++ {
			if _, err := conn.Write(recs[int(sent+sendErrs)%len(recs)]); err != nil {
				sendErrs++ // never reached the socket: not "sent"
				continue
			}
			sent++
		}
	}
	tick.Stop()

	// Let the reader finish what the kernel still holds.
	var last uint64
	waitFor(t, 10*time.Second, "reader to go quiet", func() bool {
		n := l.Status().Records
		quiet := n == last
		last = n
		time.Sleep(100 * time.Millisecond)
		return quiet
	})
	// The kernel reports the socket's drop count with the next datagram it delivers: send
	// one more once the buffer has room, so drops at the very end are reported too.
	if _, err := conn.Write(recs[0]); err != nil {
		t.Fatal(err)
	}
	sent++
	waitFor(t, 10*time.Second, "probe datagram", func() bool { return l.Status().Records == last+1 })
	k1 := udpCounters(t)
	close(stopConsumer)
	got := <-consumed
	queued := uint64(len(out))
	st := l.Status()

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}

	kernelDrops := k1["RcvbufErrors"] - k0["RcvbufErrors"]
	sockDrops, known := l.KernelDrops()
	t.Logf("sent %d (send errors %d), vigil read %d, decoded %d, decode errors %d, consumed %d, queued %d, dropped by vigil %d, socket drops reported %d, kernel RcvbufErrors delta %d, InErrors delta %d; heap in use %d KiB before, %d KiB after",
		sent, sendErrs, st.Records, st.Decoded, st.DecodeErrors, got, queued, st.Dropped, sockDrops, kernelDrops,
		k1["InErrors"]-k0["InErrors"], before.HeapInuse>>10, after.HeapInuse>>10)
	if !known {
		t.Errorf("the socket's drop counter (SO_RXQ_OVFL) is not available on Linux")
	} else if st.Records+sockDrops != sent {
		t.Errorf("sent %d != read %d + socket drops %d: loss not accounted for", sent, st.Records, sockDrops)
	}
	if sockDrops > 0 && !strings.Contains(st.Detail, "dropped by the kernel") {
		t.Errorf("detail %q does not show the kernel drops", st.Detail)
	}

	if st.Records != st.Decoded+st.DecodeErrors+st.Skipped {
		t.Errorf("records %d != decoded %d + errors %d + skipped %d", st.Records, st.Decoded, st.DecodeErrors, st.Skipped)
	}
	if st.DecodeErrors != 0 {
		t.Errorf("decode errors: %q", st.LastErrors)
	}
	if st.Decoded != got+queued+st.Dropped {
		t.Errorf("decoded %d != consumed %d + queued %d + dropped %d", st.Decoded, got, queued, st.Dropped)
	}
	if st.Records > sent {
		t.Errorf("vigil read %d records but only %d were sent", st.Records, sent)
	}
	// The kernel counters are namespace-wide: other UDP traffic can only add to them.
	if st.Records+kernelDrops < sent {
		t.Errorf("lost silently: sent %d, read %d + kernel drops %d = %d", sent, st.Records, kernelDrops, st.Records+kernelDrops)
	}
	if st.Dropped == 0 {
		t.Errorf("a consumer at a tenth of the send rate caused no counted drops: the test did not flood")
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 32<<20 {
		t.Errorf("heap grew by %d MiB during the flood", grew>>20)
	}
	if s := l.Status().State; s != source.StateDone {
		t.Errorf("state after cancel: %v, want done", s)
	}
}

// TestUDPKernelDropsCounted overflows a small socket buffer before the reader runs: the
// datagrams the kernel drops are reported by the socket and shown, so sent = read + drops.
func TestUDPKernelDropsCounted(t *testing.T) {
	if _, err := os.Stat("/proc/net/snmp"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("socket drop counters are reported on Linux only")
	}
	recs := readRecords(t, "otrf-cobaltstrike.ndjson")
	l, err := NewListener(ListenConfig{URL: "udp://127.0.0.1:0", Decode: rawDecode})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	if err := l.pc.SetReadBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const burst = 300 // about 750 KB against a 16 KiB buffer nobody reads yet
	for i := range burst {
		if _, err := conn.Write(recs[i%len(recs)]); err != nil {
			t.Fatal(err)
		}
	}
	out := make(chan source.Event, burst+1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, out) }()
	var last uint64
	waitFor(t, 10*time.Second, "buffered datagrams read", func() bool {
		n := l.Status().Records
		quiet := n > 0 && n == last
		last = n
		time.Sleep(50 * time.Millisecond)
		return quiet
	})
	if _, err := conn.Write(recs[0]); err != nil { // carries the drop count
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "probe datagram", func() bool { return l.Status().Records == last+1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	drops, known := l.KernelDrops()
	st := l.Status()
	if !known || drops == 0 {
		t.Fatalf("kernel drops %d (known %v) after overflowing the socket buffer", drops, known)
	}
	if st.Records+drops != burst+1 {
		t.Fatalf("sent %d != read %d + kernel drops %d", burst+1, st.Records, drops)
	}
	if !strings.Contains(st.Detail, strconv.FormatUint(drops, 10)+" datagrams dropped by the kernel") {
		t.Errorf("detail %q does not show the kernel drops", st.Detail)
	}
}
