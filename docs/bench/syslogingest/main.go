// Command syslogingest is the vigil side of docs/bench/syslog-tcp.sh: it runs the
// source/syslog listener (with source/decode) on -listen, counts -n decoded events and
// prints how long they took from the first byte, then exits. It stands in for
// `vigil hunt --listen` so the figure is the feed's alone, without rules or output.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/syslog"
)

func main() {
	listen := flag.String("listen", "tcp://127.0.0.1:0", "listener URL")
	n := flag.Uint64("n", 100000, "events to receive before exiting")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	os.Exit(run(*listen, *n, *timeout))
}

func run(listen string, n uint64, timeout time.Duration) int {
	l, err := syslog.NewListener(syslog.ListenConfig{URL: listen})
	if err != nil {
		fmt.Fprintln(os.Stderr, "syslogingest:", err)
		return 2
	}
	if err := l.Bind(); err != nil {
		fmt.Fprintln(os.Stderr, "syslogingest:", err)
		return 2
	}
	fmt.Printf("listening %s\n", l.Addr())
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	defer cancelT()
	out := make(chan source.Event, 4096)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, out) }()
	var got uint64
	var first time.Time
	for got < n {
		select {
		case <-out:
			got++
		case <-ctx.Done():
			st := l.Status()
			fmt.Printf("incomplete: %d of %d events (records %d, decode errors %d, dropped %d)\n", got, n, st.Records, st.DecodeErrors, st.Dropped)
			return 1
		}
		if got == 1 {
			first = time.Now()
		}
	}
	el := time.Since(first)
	st := l.Status()
	cancel()
	<-done
	fmt.Printf("events %d records %d bytes %d decode_errors %d dropped %d skipped %d seconds_from_first_event %.3f events_per_s %.0f cpu_s %.2f\n",
		got, st.Records, st.Bytes, st.DecodeErrors, st.Dropped, st.Skipped, el.Seconds(), float64(got)/el.Seconds(), cpuSeconds())
	if st.DecodeErrors+st.Dropped+st.Skipped > 0 {
		return 1
	}
	return 0
}
