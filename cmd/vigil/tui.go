package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/x/term"

	"github.com/vigil-soc/vigil/theme"
)

// tuiOptions are the TUI's own flags; source flags come from feeds.go once it lands.
type tuiOptions struct {
	rules     stringList
	noBuiltin bool
	state     string
	readOnly  bool
	palette   theme.Palette
	color     theme.ColorMode
	logFile   string
	demo      bool
	sources   []string // source flags seen (until feeds.go parses them)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint([]string(*s)) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const tuiUsage = `vigil: no feed to watch. Attach one, or try the demo:
  vigil --listen tcp://0.0.0.0:1514       a forwarder pushes syslog to vigil
  vigil --connect tls://relay:6514         vigil dials a relay
  vigil --file PATH                        watch a JSON / XML / syslog file
  vigil --winlog                           the local Windows event log
  vigil --demo                             a built-in scenario, replayed live
`

// errNoSource means neither a source flag nor --demo was given.
var errNoSource = errors.New("no source")

// parseTUIFlags parses the TUI's command line.
func parseTUIFlags(args []string, stderr io.Writer) (tuiOptions, error) {
	var o tuiOptions
	fs := flag.NewFlagSet("vigil", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.rules, "rules", "load Sigma rules from `DIR` (repeatable)")
	fs.BoolVar(&o.noBuiltin, "no-builtin", false, "do not load the built-in rules")
	fs.StringVar(&o.state, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil; the demo uses a temp dir)")
	fs.BoolVar(&o.readOnly, "read-only", false, "disable verdicts and allowlist edits")
	themeName := fs.String("theme", "auto", "colours: dark, light or auto")
	colorName := fs.String("color", "auto", "colour output: auto, always or never (NO_COLOR and CLICOLOR are honoured)")
	fs.StringVar(&o.logFile, "log", "", "write logs to `FILE` (nothing is printed while the TUI runs)")
	fs.BoolVar(&o.demo, "demo", false, "replay the built-in scenario live")
	src := func(name string) func(string) error {
		return func(v string) error { o.sources = append(o.sources, "--"+name+"="+v); return nil }
	}
	fs.Func("file", "watch `PATH` (repeatable, globs)", src("file"))
	fs.Func("listen", "listen on `URL` (udp://, tcp://, tls://; repeatable)", src("listen"))
	fs.Func("connect", "dial `URL` (tcp://, tls://)", src("connect"))
	fs.BoolFunc("winlog", "the local Windows event log", src("winlog"))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (files are watched with --file)", fs.Arg(0))
	}
	var err error
	if o.palette, err = theme.ParsePalette(*themeName); err != nil {
		return o, fmt.Errorf("--theme: %w", err)
	}
	if o.color, err = theme.ParseColorMode(*colorName); err != nil {
		return o, fmt.Errorf("--color: %w", err)
	}
	if len(o.sources) == 0 && !o.demo {
		return o, errNoSource
	}
	return o, nil
}

// runTUICmd runs the triage TUI.
func runTUICmd(ctx context.Context, args []string, io stdio) int {
	o, err := parseTUIFlags(args, io.err)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errNoSource):
		fmt.Fprint(io.err, tuiUsage)
		return exitUsage
	case err != nil:
		fmt.Fprintln(io.err, "vigil:", err)
		return exitUsage
	}
	if f, ok := io.out.(*os.File); !ok || !term.IsTerminal(f.Fd()) {
		fmt.Fprintln(io.err, "vigil: stdout is not a terminal; the TUI needs one. For scripts and pipes use: vigil hunt [source flags] [FILE...]")
		return exitUsage
	}
	_ = ctx
	_ = o
	// The engine's Run, the shared source flags (feeds.go) and the store opener
	// (store.go) have not landed yet; the ui package is ready for them (ui.Config).
	fmt.Fprintln(io.err, "vigil: tui: waiting on the engine wiring (detect.Engine.Run, feeds.go, store.go)")
	return exitFailure
}
