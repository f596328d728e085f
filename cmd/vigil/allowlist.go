package main

import (
	"context"
	"fmt"
)

// runAllowlistCmd is a placeholder until its issue lands; it says so instead of pretending.
func runAllowlistCmd(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "vigil: allowlist: not built yet")
	return exitFailure
}
