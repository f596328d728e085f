//go:build !linux

package decode

import "time"

// processCPU is not measured off Linux; benchmarks then report wall-clock figures only.
func processCPU() time.Duration { return 0 }
