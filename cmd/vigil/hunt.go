package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/rules"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// huntOptions is what `vigil hunt` was asked to do.
type huntOptions struct {
	rules     []string // --rules, repeatable: directories or files
	noBuiltin bool
	state     string      // --state DIR: record alerts there and apply its allowlist
	src       sourceFlags // live feeds; --max-record also bounds FILE records
	files     []string    // FILE arguments; "-" is stdin
}

// parseInterleaved parses flags that may come after positional arguments
// ("vigil hunt x.json --rules r/"), which the flag package alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newHuntOptions(args []string, stderr io.Writer) (*huntOptions, error) {
	o := &huntOptions{}
	fs := flag.NewFlagSet("vigil hunt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*flagList)(&o.rules), "rules", "Sigma rule directory (recursive .yml/.yaml) or file; repeatable")
	fs.BoolVar(&o.noBuiltin, "no-builtin", false, "do not load the built-in rules")
	fs.StringVar(&o.state, "state", "", "triage store directory: record alerts there and apply its allowlist")
	o.src.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil hunt [source flags] [--rules DIR]... [--no-builtin] [--state DIR] [--max-record BYTES] [FILE...|-]")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	o.files = files
	if o.src.maxRecord < 0 || o.src.maxRecord > decode.MaxRecordBytes {
		return nil, fmt.Errorf("--max-record %d: must be between 1 and %d", o.src.maxRecord, decode.MaxRecordBytes)
	}
	switch {
	case len(o.files) == 0 && !o.src.any():
		return nil, errors.New("no input: give FILE arguments, - for standard input, or source flags (--file, --listen, --connect, --winlog)")
	case len(o.files) > 0 && o.src.any():
		return nil, fmt.Errorf("FILE arguments (%s) and source flags do not mix: FILEs are read once, source flags run until interrupted", o.files[0])
	}
	chk := o.src
	if len(o.files) > 0 {
		chk.maxRecord = 0 // hunt's --max-record also bounds FILE arguments
	}
	if err := chk.check(); err != nil {
		return nil, err
	}
	if err := checkRulePaths(o.rules); err != nil {
		return nil, err
	}
	return o, nil
}

// checkRulePaths turns a missing --rules path into a usage error rather than a refused rule.
func checkRulePaths(paths []string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("--rules %s: %w", p, err)
		}
	}
	return nil
}

func runHuntCmd(ctx context.Context, args []string, io stdio) int {
	opts, err := newHuntOptions(args, io.err)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(io.err, "vigil hunt: %v\n", err)
		return exitUsage
	}
	return runHunt(ctx, opts, io)
}

// loadedRules is the outcome of loading the built-in and --rules rules.
type loadedRules struct {
	set     *sigma.Set
	refused []sigma.Refused
}

// loadRules parses the built-in rules (unless noBuiltin) and every --rules path, and
// compiles them into one set. Refused rules are returned, not fatal.
func loadRules(paths []string, noBuiltin bool) loadedRules {
	var all []*sigma.Rule
	var refused []sigma.Refused
	if !noBuiltin {
		files := rules.Builtin()
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			rs, ref := sigma.ParseRules(files[n], "builtin:"+n, nil)
			all = append(all, rs...)
			refused = append(refused, ref...)
		}
	}
	if len(paths) > 0 {
		rs, ref := sigma.LoadPaths(paths, nil)
		all = append(all, rs...)
		refused = append(refused, ref...)
	}
	set, ref := sigma.NewSet(all)
	refused = append(refused, ref...)
	return loadedRules{set: set, refused: refused}
}

// detectionRules counts the rules that can raise alerts (filters cannot).
func detectionRules(set *sigma.Set) int {
	n := 0
	for _, r := range set.Rules() {
		if !r.IsFilter {
			n++
		}
	}
	return n
}

// huntCounters is what hunt reports on stderr at the end. Invariant:
// records = decoded + decodeErrors + skipped.
type huntCounters struct {
	records, decoded, decodeErrors, skipped uint64
	dropped                                 uint64 // live feeds: events their queues dropped
	byFormat                                [source.FormatCount]uint64
	matches                                 uint64
}

func runHunt(ctx context.Context, o *huntOptions, io stdio) int {
	lr := loadRules(o.rules, o.noBuiltin)
	for _, r := range lr.refused {
		fmt.Fprintf(io.err, "%s\n", r.Error())
	}
	if detectionRules(lr.set) == 0 {
		fmt.Fprintln(io.err, "vigil hunt: no rule could be loaded")
		return exitUsage
	}
	var store *triage.Store
	if o.state != "" {
		s, err := openStore(o.state)
		if err != nil {
			fmt.Fprintf(io.err, "vigil hunt: --state %s: %v\n", o.state, err)
			return exitFailure
		}
		defer s.Close()
		store = s
	}
	eng, err := detect.NewEngine(ctx, detect.Config{Rules: lr.set, Store: store, RulesRefused: len(lr.refused)})
	if err != nil {
		fmt.Fprintf(io.err, "vigil hunt: %v\n", err)
		return exitFailure
	}
	h := &hunter{
		eng:   eng,
		out:   bufio.NewWriterSize(io.out, 64<<10),
		err:   io.err,
		techs: map[*sigma.Rule][]string{},
		// Store writes must outlive an interrupt: hunt drains and flushes after SIGINT.
		storeCtx: context.WithoutCancel(ctx),
	}
	var code int
	if len(o.files) > 0 {
		maxRecord := o.src.maxRecord
		if maxRecord == 0 {
			maxRecord = decode.DefaultMaxRecord
		}
		for _, name := range o.files {
			if ctx.Err() != nil {
				break
			}
			code = worse(code, h.huntFile(ctx, name, maxRecord, io.in))
		}
	} else {
		var cp source.Checkpointer
		if store != nil {
			cp = store // a headless collector resumes where it stopped
		}
		code = h.huntFeeds(ctx, &o.src, cp)
	}
	if err := eng.Flush(h.storeCtx); err != nil {
		fmt.Fprintf(io.err, "vigil hunt: %v\n", err)
		code = exitFailure
	}
	if err := h.out.Flush(); err != nil {
		fmt.Fprintf(io.err, "vigil hunt: write alerts: %v\n", err)
		code = exitFailure
	}
	h.report(eng.Stats())
	if h.storeFailed {
		code = exitFailure
	}
	return code
}

// huntFeeds runs the live feeds until ctx is done (SIGINT/SIGTERM), processing every
// event they deliver, then drains what they had read. Decoding happened in the feeds;
// their counters are added to the report.
func (h *hunter) huntFeeds(ctx context.Context, src *sourceFlags, cp source.Checkpointer) int {
	feeds, err := src.feeds(cp)
	if err != nil {
		fmt.Fprintf(h.err, "vigil hunt: %v\n", err)
		return exitUsage
	}
	// The engine is the only receiver; feeds block or drop (and count) per their policy
	// when it falls behind. RunAll closes events once every feed has returned.
	events := make(chan source.Event, 1024)
	done := make(chan error, 1)
	go func() { done <- source.RunAll(ctx, feeds, events) }()
	for ev := range events {
		h.ev = ev
		h.process()
		h.out.Flush() // live: a consumer of the JSON lines sees them now
	}
	runErr := <-done
	h.n = huntCounters{matches: h.n.matches}
	for _, f := range feeds {
		st := f.Status()
		h.n.records += st.Records
		h.n.decoded += st.Decoded
		h.n.decodeErrors += st.DecodeErrors
		h.n.skipped += st.Skipped
		h.n.dropped += st.Dropped
		for i, c := range st.ErrorsByFormat {
			h.n.byFormat[i] += c
		}
		for _, e := range st.LastErrors { // already "where: reason"; the last few only
			fmt.Fprintln(h.err, e)
		}
	}
	if runErr != nil {
		fmt.Fprintf(h.err, "vigil hunt: %v\n", runErr)
		return exitFailure
	}
	return exitOK
}

// worse keeps the more serious exit code: a runtime failure outranks bad input.
func worse(a, b int) int {
	if a == exitFailure || b == exitFailure {
		return exitFailure
	}
	return max(a, b)
}

// hunter runs records through the engine and writes a JSON line per match.
type hunter struct {
	eng         *detect.Engine
	out         *bufio.Writer
	err         io.Writer
	n           huntCounters
	ev          source.Event
	alerts      []detect.Alert
	line        []byte
	techs       map[*sigma.Rule][]string
	storeFailed bool
	storeCtx    context.Context // for store writes only; see runHunt
}

// huntFile reads one file (or stdin for "-") once, to its end.
func (h *hunter) huntFile(ctx context.Context, name string, maxRecord int, stdin io.Reader) int {
	var r io.Reader
	feed := "file" // with Where = name, origins read "file NAME:LINE"
	if name == "-" {
		r, feed, name = stdin, "stdin", "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(h.err, "vigil hunt: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		r = f
	}
	fr := decode.NewFramer(maxRecord)
	buf := make([]byte, 64<<10)
	code := exitOK
	for {
		n, err := r.Read(buf)
		if n > 0 {
			fr.Write(buf[:n])
			for {
				rec, ok := fr.Next()
				if !ok {
					break
				}
				code = worse(code, h.record(ctx, rec, feed, name))
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(h.err, "vigil hunt: read %s: %v\n", name, err)
			return exitFailure
		}
		if ctx.Err() != nil {
			return code
		}
	}
	if rec, ok := fr.Close(); ok {
		code = worse(code, h.record(ctx, rec, feed, name))
	}
	return code
}

// record decodes one framed record and runs it through the engine.
func (h *hunter) record(ctx context.Context, rec decode.Record, feed, name string) int {
	h.n.records++
	origin := source.Origin{Feed: feed, Where: name, Line: rec.Line, Offset: rec.Offset}
	if rec.Oversize {
		h.n.skipped++
		fmt.Fprintf(h.err, "%s: record longer than --max-record, skipped\n", origin)
		return exitUsage
	}
	h.ev = source.Event{Fields: h.ev.Fields[:0]}
	if err := decode.Decode(rec.Data, origin, &h.ev); err != nil {
		h.n.decodeErrors++
		var de *decode.Error
		if errors.As(err, &de) {
			h.n.byFormat[de.Format]++
			fmt.Fprintln(h.err, de.Error())
		} else {
			h.n.byFormat[source.FormatUnknown]++
			fmt.Fprintf(h.err, "%s: %v\n", origin, err)
		}
		return exitUsage
	}
	h.n.decoded++
	h.process()
	return exitOK
}

// process runs h.ev through the engine and writes a JSON line per match.
func (h *hunter) process() {
	var err error
	h.alerts, err = h.eng.Process(h.storeCtx, &h.ev, h.alerts[:0])
	if err != nil && !h.storeFailed {
		// Reported once; the engine keeps the alerts queued and counts every failure.
		fmt.Fprintf(h.err, "vigil hunt: %v\n", err)
		h.storeFailed = true
	}
	for i := range h.alerts {
		h.n.matches++
		h.line = h.appendAlert(h.line[:0], &h.ev, &h.alerts[i])
		h.out.Write(h.line)
	}
	clear(h.alerts) // do not pin alert events until the next match
}

// report prints the counters on stderr.
func (h *hunter) report(s detect.Stats) {
	n := &h.n
	fmt.Fprintf(h.err, "vigil hunt: records %d = decoded %d + decode errors %d + skipped %d\n",
		n.records, n.decoded, n.decodeErrors, n.skipped)
	if n.dropped > 0 {
		fmt.Fprintf(h.err, "vigil hunt: dropped %d decoded events (feed queues full)\n", n.dropped)
	}
	if n.decodeErrors > 0 {
		var parts []string
		for f, c := range n.byFormat {
			if c > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", source.Format(f), c))
			}
		}
		fmt.Fprintf(h.err, "vigil hunt: decode errors by format: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(h.err, "vigil hunt: events %d, process starts %d, matches %d, alerts %d (grouped repeats %d), suppressed %d, store errors %d\n",
		s.Events, s.ProcessStarts, n.matches, s.Alerts, s.Grouped, s.Suppressed, s.StoreErrors)
	fmt.Fprintf(h.err, "vigil hunt: rules loaded %d, refused %d\n", s.RulesLoaded, s.RulesRefused)
}

// techniques returns a rule's ATT&CK technique ids from its attack.tNNNN tags.
func (h *hunter) techniques(r *sigma.Rule) []string {
	if t, ok := h.techs[r]; ok {
		return t
	}
	t := techniqueIDs(r.Tags)
	h.techs[r] = t
	return t
}

func techniqueIDs(tags []string) []string {
	var out []string
	for _, tag := range tags {
		rest, ok := strings.CutPrefix(strings.ToLower(tag), "attack.t")
		if !ok || rest == "" || rest[0] < '0' || rest[0] > '9' {
			continue
		}
		id := "T" + strings.ToUpper(rest)
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// appendAlert writes one ECS-style JSON line for the match of a.Rule on ev. The process
// fields come from ev (this sighting), the alert fields from a (the grouped alert).
func (h *hunter) appendAlert(b []byte, ev *source.Event, a *detect.Alert) []byte {
	w := jsonObject{b: append(b, '{')}
	if !ev.Time.IsZero() {
		w.str("@timestamp", ev.Time.UTC().Format(time.RFC3339Nano))
	}
	w.optStr("host.name", ev.Host)
	w.optStr("user.name", ev.Process.User)
	w.optStr("process.executable", ev.Process.Image)
	w.optStr("process.command_line", ev.Process.CommandLine)
	if ev.Process.PID != 0 {
		w.uint("process.pid", uint64(ev.Process.PID))
	}
	w.optStr("process.entity_id", ev.Process.GUID)
	w.optStr("process.parent.executable", ev.Parent.Image)
	w.optStr("process.parent.command_line", ev.Parent.CommandLine)
	if ev.Parent.PID != 0 {
		w.uint("process.parent.pid", uint64(ev.Parent.PID))
	}
	r := a.Rule
	w.str("rule.id", r.ID)
	w.str("rule.name", r.Title)
	// The Detection Rule License asks alerts to keep the rule's author.
	w.optStr("rule.author", r.Author)
	w.optStr("event.severity", r.Level)
	w.uint("event.code", uint64(ev.EventID))
	w.strs("threat.technique.id", h.techniques(r))
	w.str("vigil.alert_id", a.ID)
	w.str("vigil.origin", originString(ev.Origin))
	w.bool("vigil.suppressed", a.Suppressed)
	if a.Suppressed {
		w.str("vigil.allowlist_id", a.AllowlistID)
	}
	if ev.ParentFromTree {
		w.bool("vigil.parent_from_tree", true)
	}
	return append(w.b, '}', '\n')
}

// originString is "feed file:line" (or "feed peer"), or just the feed.
func originString(o source.Origin) string {
	where := o.String()
	if o.Feed == "" || where == o.Feed {
		return where
	}
	return o.Feed + " " + where
}

// jsonObject appends the members of one JSON object; it writes the commas.
type jsonObject struct {
	b []byte
	n int
}

func (w *jsonObject) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jsonObject) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

func (w *jsonObject) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jsonObject) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonObject) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonObject) strs(k string, vs []string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, v)
	}
	w.b = append(w.b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Event text is attacker-controlled: control
// characters are escaped, invalid UTF-8 becomes U+FFFD (JSON text must be UTF-8), and
// U+2028/U+2029 are escaped for consumers that embed the line in JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
