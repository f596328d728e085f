package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/jsonfile"
	"github.com/vigil-soc/vigil/theme"
	"github.com/vigil-soc/vigil/ui"
)

// tuiOptions are the TUI's flags: the shared source flags (feeds.go) plus its own.
type tuiOptions struct {
	src       sourceFlags
	rules     []string
	noBuiltin bool
	state     string
	readOnly  bool
	palette   theme.Palette
	color     theme.ColorMode
	logFile   string
	demo      bool
}

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
	o.src.register(fs)
	fs.Var((*flagList)(&o.rules), "rules", "Sigma rule directory (recursive .yml/.yaml) or file; repeatable")
	fs.BoolVar(&o.noBuiltin, "no-builtin", false, "do not load the built-in rules")
	fs.StringVar(&o.state, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil; the demo uses a temp dir)")
	fs.BoolVar(&o.readOnly, "read-only", false, "disable verdicts and allowlist edits")
	themeName := fs.String("theme", "auto", "colours: dark, light or auto")
	colorName := fs.String("color", "auto", "colour output: auto, always or never (NO_COLOR and CLICOLOR are honoured)")
	fs.StringVar(&o.logFile, "log", "", "write logs to `FILE` (nothing is printed while the TUI runs)")
	fs.BoolVar(&o.demo, "demo", false, "replay the built-in scenario live")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil [source flags] [--rules DIR]... [--no-builtin] [--state DIR] [--read-only] [--theme dark|light|auto] [--color auto|always|never] [--log FILE] [--demo]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (files are watched with --file; vigil hunt reads FILE arguments)", fs.Arg(0))
	}
	var err error
	if o.palette, err = theme.ParsePalette(*themeName); err != nil {
		return o, fmt.Errorf("--theme: %w", err)
	}
	if o.color, err = theme.ParseColorMode(*colorName); err != nil {
		return o, fmt.Errorf("--color: %w", err)
	}
	if !o.src.any() && !o.demo {
		return o, errNoSource
	}
	if err := o.src.check(); err != nil {
		return o, err
	}
	if err := checkRulePaths(o.rules); err != nil {
		return o, err
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
	out, ok := io.out.(*os.File)
	if !ok || !term.IsTerminal(out.Fd()) {
		fmt.Fprintln(io.err, "vigil: stdout is not a terminal; the TUI needs one. For scripts and pipes use: vigil hunt [source flags] [FILE...]")
		return exitUsage
	}
	// Fatal errors are printed here, after the program restored the terminal.
	if err := runTUI(ctx, o, out, io); err != nil {
		fmt.Fprintln(io.err, "vigil:", err)
		var bad *badInputError
		if errors.As(err, &bad) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

// badInputError marks a failure caused by the command line (a source flag the feeds
// cannot be built from): exit 2 rather than 1.
type badInputError struct{ err error }

func (e *badInputError) Error() string { return e.err.Error() }
func (e *badInputError) Unwrap() error { return e.err }

// demoFileName is the scenario's file inside its temporary directory.
const demoFileName = "demo-sysmon.ndjson"

// eventQueue bounds the events between the feeds and the engine: the engine is the only
// receiver and never drops; when it is slow, feeds block or apply their own counted drops.
const eventQueue = 4096

// runTUI wires store, rules, feeds, engine and UI, and runs the program until the analyst
// quits or ctx ends. Nothing is printed while it runs; logs go to --log only.
func runTUI(ctx context.Context, o tuiOptions, out *os.File, io stdio) (err error) {
	logger := slog.New(slog.DiscardHandler)
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("--log %s: %w", o.logFile, err)
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, nil))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Every goroutine started here returns on ctx.Done(); runTUI returns only after they
	// have (deferred last-in first-out: before the temp dir and the store go away).
	var wg sync.WaitGroup
	var demoErr, engineErr error
	defer func() { cancel(); wg.Wait() }()

	var feeds []source.Feed
	stateDir := o.state
	if o.demo {
		tmp, err := os.MkdirTemp("", "vigil-demo-")
		if err != nil {
			return fmt.Errorf("demo: temporary directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		if stateDir == "" {
			stateDir = filepath.Join(tmp, "state")
		}
		steps, err := loadDemo(demoScenario)
		if err != nil {
			return err
		}
		path := filepath.Join(tmp, demoFileName)
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return fmt.Errorf("demo: create %s: %w", path, err)
		}
		f, err := jsonfile.New(jsonfile.Config{Patterns: []string{path}, FromStart: true, Name: "demo:" + demoFileName})
		if err != nil {
			return fmt.Errorf("demo feed: %w", err)
		}
		feeds = append(feeds, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					demoErr = fmt.Errorf("demo writer panic: %v", r)
					cancel()
				}
			}()
			if err := writeDemo(ctx, path, steps, time.Now, sleepCtx); err != nil && ctx.Err() == nil {
				logger.Error("demo writer stopped", "err", err)
			}
		}()
	}
	store, err := openStore(stateDir)
	if err != nil {
		return err
	}
	defer store.Close()
	if o.src.any() {
		fs, err := o.src.feeds(store)
		if err != nil {
			return &badInputError{err}
		}
		feeds = append(feeds, fs...)
	}

	lr := loadRules(o.rules, o.noBuiltin)
	set, refused := lr.set, lr.refused
	if detectionRules(set) == 0 {
		return errors.New("no detection rules loaded (check --rules and --no-builtin)")
	}
	for _, r := range refused {
		logger.Warn("rule refused", "where", r.Error())
	}
	eng, err := detect.NewEngine(ctx, detect.Config{Rules: set, Store: store, RulesRefused: len(refused)})
	if err != nil {
		return fmt.Errorf("start the engine: %w", err)
	}
	initial, err := storedAlerts(ctx, store, set)
	if err != nil {
		logger.Warn("load alerts from the store", "err", err)
	}
	initialTrees, err := storedTrees(ctx, store, initial)
	if err != nil { // the trees that did load are still shown
		logger.Warn("load process trees from the store", "err", err)
	}

	events := make(chan source.Event, eventQueue)
	// batches: the engine blocks on it (alerts are never dropped); the UI keeps one
	// receive outstanding and drains what is queued. Closed by us after Run returns.
	batches := make(chan detect.Batch, 1)
	// cmds: UI Cmds block on it until the engine takes the command or ctx ends.
	cmds := make(chan detect.Command)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := source.RunAll(ctx, feeds, events); err != nil && ctx.Err() == nil {
			logger.Error("feeds stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		defer close(batches)
		defer func() {
			if r := recover(); r != nil {
				engineErr = fmt.Errorf("engine panic: %v", r)
				cancel()
			}
		}()
		if err := eng.Run(ctx, events, cmds, batches); err != nil && ctx.Err() == nil {
			engineErr = err
			cancel()
		}
	}()

	r := lipgloss.NewRenderer(out)
	theme.ApplyColorMode(r, o.color, os.Getenv)
	styles := theme.New(r, o.palette) // probes the background now, before Run owns stdin
	if !utf8Locale(os.Getenv) {
		styles.Glyphs = theme.ASCIIGlyphs
	}
	user := os.Getenv("USER")
	if user == "" {
		user = os.Getenv("USERNAME")
	}
	m := ui.New(ui.Config{
		Styles: styles, Batches: batches, Commands: cmds, Done: ctx.Done(),
		Feeds: func() []source.Status {
			st := make([]source.Status, len(feeds))
			for i, f := range feeds {
				st[i] = f.Status()
			}
			return st
		},
		Initial: initial, InitialTrees: initialTrees, ReadOnly: o.readOnly, User: user,
	})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx),
		tea.WithOutput(out), tea.WithInput(io.in))
	_, runErr := p.Run()
	cancel()
	wg.Wait()
	switch {
	case engineErr != nil:
		return engineErr
	case demoErr != nil:
		return demoErr
	case runErr != nil && !errors.Is(runErr, tea.ErrProgramKilled):
		return fmt.Errorf("terminal: %w", runErr)
	}
	return nil
}

// utf8Locale reports whether the locale can draw box and arrow glyphs.
func utf8Locale(getenv func(string) string) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true
}

// maxStoredAlerts bounds how many alerts are loaded from the store at startup.
const maxStoredAlerts = 5000

// storedAlerts loads recent alerts from the store, so verdicts made in an earlier run
// show again. Each is rebuilt from its original record where the record decodes.
func storedAlerts(ctx context.Context, store *triage.Store, set *sigma.Set) ([]detect.Alert, error) {
	recs, err := store.ListAlerts(ctx, triage.AlertFilter{Limit: maxStoredAlerts})
	if err != nil {
		return nil, err
	}
	byID := map[string]*sigma.Rule{}
	for _, r := range set.Rules() {
		byID[r.ID] = r
	}
	out := make([]detect.Alert, 0, len(recs))
	for _, rec := range recs {
		out = append(out, detect.AlertFromRecord(rec, byID[rec.RuleID]))
	}
	return out, nil
}

// storedTrees loads the process-tree snapshots stored with alerts, so an alert from an
// earlier run still shows the tree it had then. On error it returns the trees that did
// load with it.
func storedTrees(ctx context.Context, store *triage.Store, alerts []detect.Alert) (map[string]proctree.Snapshot, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	ids := make([]string, len(alerts))
	for i := range alerts {
		ids[i] = alerts[i].ID
	}
	return store.Trees(ctx, ids)
}
