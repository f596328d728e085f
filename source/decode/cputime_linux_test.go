//go:build linux

package decode

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used. Benchmarks report throughput per
// CPU second beside the wall-clock figure because the build machine is shared: wall time
// there includes waiting for a core, CPU time does not (run with -cpu 1 so GC is counted
// on the same budget).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
