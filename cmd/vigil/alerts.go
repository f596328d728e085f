package main

import (
	"context"
	"fmt"
)

// runAlertsCmd is a placeholder until its issue lands; it says so instead of pretending.
func runAlertsCmd(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "vigil: alerts: not built yet")
	return exitFailure
}
