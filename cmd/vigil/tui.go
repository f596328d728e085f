package main

import (
	"context"
	"fmt"
)

// runTUICmd is a placeholder until its issue lands; it says so instead of pretending.
func runTUICmd(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "vigil: tui: not built yet")
	return exitFailure
}
