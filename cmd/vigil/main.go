// Command vigil is a terminal UI for live SOC triage of Windows process events.
// This package only parses flags and wires packages together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdio is the process's standard streams, injected so subcommands are testable.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}

// Exit codes everywhere: 0 done, 1 runtime failure, 2 bad usage or bad input.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) > 0 {
		switch args[0] {
		case "hunt":
			return runHuntCmd(ctx, args[1:], io)
		case "rules":
			return runRulesCmd(ctx, args[1:], io)
		case "alerts":
			return runAlertsCmd(ctx, args[1:], io)
		case "allowlist":
			return runAllowlistCmd(ctx, args[1:], io)
		case "version", "--version", "-version":
			return runVersionCmd(args[1:], io)
		case "help", "-h", "--help", "-help":
			fmt.Fprint(io.out, usage)
			return exitOK
		}
	}
	return runTUICmd(ctx, args, io)
}

const usage = `vigil: live triage of Windows process events

Attach to a feed:
  vigil --listen tcp://0.0.0.0:1514        a forwarder (rsyslog, NXLog, syslog-ng) pushes to vigil
  vigil --connect tls://relay:6514          vigil dials a relay that serves the stream
  vigil --file /var/log/winlogbeat/x.ndjson  watch a JSON / XML / syslog file (repeatable, globs)
  vigil --winlog                            the local Windows event log (Sysmon, Security)
  vigil --demo                              a built-in scenario, replayed live

Headless and admin:
  vigil hunt [source flags] [--rules DIR]... [--no-builtin] [--state DIR] [FILE...|-]
  vigil rules list|test ...     vigil alerts list|set|show ...     vigil allowlist add|list|rm|export|import ...
  vigil --version [--legal]

Run "vigil COMMAND -h" for a command's flags.
`
