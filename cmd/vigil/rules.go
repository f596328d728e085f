package main

import (
	"context"
	"fmt"
)

// runRulesCmd is a placeholder until its issue lands; it says so instead of pretending.
func runRulesCmd(ctx context.Context, args []string, io stdio) int {
	fmt.Fprintln(io.err, "vigil: rules: not built yet")
	return exitFailure
}
