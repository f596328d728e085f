package main

import (
	"context"
	"fmt"
)

// runHuntCmd is a placeholder until its issue lands; it says so instead of pretending.
func runHuntCmd(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "vigil: hunt: not built yet")
	return exitFailure
}
