package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

const rulesUsage = `usage: vigil rules list [--rules DIR|FILE]... [--no-builtin] [--json]
       vigil rules test [--rules DIR|FILE]... [--no-builtin] FILE...
`

// rulesOptions is what `vigil rules list|test` was asked to do.
type rulesOptions struct {
	sub       string // "list" or "test"
	rules     []string
	noBuiltin bool
	json      bool
	files     []string // test: event files; "-" is stdin
	maxRecord int
}

func newRulesOptions(args []string, stderr io.Writer) (*rulesOptions, error) {
	if len(args) == 0 || (args[0] != "list" && args[0] != "test") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stderr, rulesUsage)
			return nil, flag.ErrHelp
		}
		return nil, errors.New("want a subcommand: list or test")
	}
	o := &rulesOptions{sub: args[0], maxRecord: decode.DefaultMaxRecord}
	fs := flag.NewFlagSet("vigil rules "+o.sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*flagList)(&o.rules), "rules", "Sigma rule directory (recursive .yml/.yaml) or file; repeatable")
	fs.BoolVar(&o.noBuiltin, "no-builtin", false, "do not load the built-in rules")
	if o.sub == "list" {
		fs.BoolVar(&o.json, "json", false, "one JSON object per rule instead of a table")
	} else {
		fs.IntVar(&o.maxRecord, "max-record", decode.DefaultMaxRecord, "skip (and count) records longer than `BYTES`")
	}
	fs.Usage = func() { fmt.Fprint(stderr, rulesUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return nil, err
	}
	switch {
	case o.sub == "list" && len(pos) > 0:
		return nil, fmt.Errorf("rules list: unexpected argument %q", pos[0])
	case o.sub == "test" && len(pos) == 0:
		return nil, errors.New("rules test: no event FILE given")
	}
	if o.maxRecord <= 0 || o.maxRecord > decode.MaxRecordBytes {
		return nil, fmt.Errorf("--max-record %d: must be between 1 and %d", o.maxRecord, decode.MaxRecordBytes)
	}
	o.files = pos
	if err := checkRulePaths(o.rules); err != nil {
		return nil, err
	}
	return o, nil
}

func runRulesCmd(ctx context.Context, args []string, io stdio) int {
	o, err := newRulesOptions(args, io.err)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(io.err, "vigil rules: %v\n", err)
		return exitUsage
	}
	if o.sub == "list" {
		return runRulesList(o, io)
	}
	return runRulesTest(ctx, o, io)
}

func runRulesList(o *rulesOptions, io stdio) int {
	lr := loadRules(o.rules, o.noBuiltin)
	out := bufio.NewWriter(io.out)
	if o.json {
		var b []byte
		for _, r := range lr.set.Rules() {
			b = appendRuleJSON(b[:0], r.ID, r.Title, r.Level, r.Status, techniqueIDs(r.Tags), r.File, r.IsFilter, "")
			out.Write(b)
		}
		for _, r := range lr.refused {
			b = appendRuleJSON(b[:0], r.ID, r.Title, "", "", nil, r.File, false, r.Error())
			out.Write(b)
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLEVEL\tSTATUS\tATTACK\tTITLE\tFILE")
		for _, r := range lr.set.Rules() {
			level := r.Level
			if r.IsFilter {
				level = "filter"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ruleCell(r.ID), ruleCell(level), ruleCell(r.Status),
				ruleCell(strings.Join(techniqueIDs(r.Tags), ",")), ruleCell(r.Title), ruleCell(r.File))
		}
		for _, r := range lr.refused {
			fmt.Fprintf(tw, "%s\trefused\t\t\t%s\t%s\n", ruleCell(r.ID), ruleCell(r.Title), ruleCell(r.Error()))
		}
		tw.Flush()
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(io.err, "vigil rules list: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// ruleCell makes rule text safe for a terminal table: rule files are input too, so control
// characters are shown quoted rather than sent to the terminal.
func ruleCell(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\uFFFD' {
			q := strconv.QuoteToASCII(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

func appendRuleJSON(b []byte, id, title, level, status string, attack []string, file string, filter bool, refused string) []byte {
	w := jsonObject{b: append(b, '{')}
	w.str("rule.id", id)
	w.str("rule.name", title)
	if refused == "" {
		w.str("level", level)
		w.str("status", status)
		w.strs("attack", attack)
	}
	w.str("file", file)
	if filter {
		w.bool("filter", true)
	}
	if refused != "" {
		w.str("refused", refused)
	}
	return append(w.b, '}', '\n')
}

// runRulesTest runs every event in the files through the loaded rules (through the
// engine, so 4688 parents are filled from the process tree as in hunt) and prints how
// many events each rule matched.
func runRulesTest(ctx context.Context, o *rulesOptions, io stdio) int {
	lr := loadRules(o.rules, o.noBuiltin)
	for _, r := range lr.refused {
		fmt.Fprintln(io.err, r.Error())
	}
	if detectionRules(lr.set) == 0 {
		fmt.Fprintln(io.err, "vigil rules test: no rule could be loaded")
		return exitUsage
	}
	eng, err := detect.NewEngine(ctx, detect.Config{Rules: lr.set, RulesRefused: len(lr.refused)})
	if err != nil {
		fmt.Fprintf(io.err, "vigil rules test: %v\n", err)
		return exitFailure
	}
	counts := map[*sigma.Rule]int{}
	var (
		ev     source.Event
		alerts []detect.Alert
	)
	code := exitOK
	for _, name := range o.files {
		c := eachRecord(ctx, name, io.in, o.maxRecord, io.err, func(data []byte, origin source.Origin) error {
			ev = source.Event{Fields: ev.Fields[:0]}
			if err := decode.Decode(data, origin, &ev); err != nil {
				return err
			}
			alerts, _ = eng.Process(ctx, &ev, alerts[:0]) // no store: cannot fail
			for i := range alerts {
				counts[alerts[i].Rule]++
			}
			clear(alerts)
			return nil
		})
		code = worse(code, c)
	}
	out := bufio.NewWriter(io.out)
	var b []byte
	for _, r := range lr.set.Rules() {
		if r.IsFilter {
			continue
		}
		w := jsonObject{b: append(b[:0], '{')}
		w.str("rule.id", r.ID)
		w.str("rule.name", r.Title)
		w.uint("matches", uint64(counts[r]))
		b = append(w.b, '}', '\n')
		out.Write(b)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(io.err, "vigil rules test: %v\n", err)
		return exitFailure
	}
	return code
}

// eachRecord frames a file (or stdin for "-") and calls fn for each record. Oversize
// records and fn's errors are reported as "file:line: reason" and make the result
// exitUsage; the other records are still processed.
func eachRecord(ctx context.Context, name string, stdin io.Reader, maxRecord int, stderr io.Writer, fn func([]byte, source.Origin) error) int {
	var r io.Reader
	feed := "file" // with Where = name, origins read "file NAME:LINE"
	if name == "-" {
		r, feed, name = stdin, "stdin", "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		defer f.Close()
		r = f
	}
	code := exitOK
	handle := func(rec decode.Record) {
		origin := source.Origin{Feed: feed, Where: name, Line: rec.Line, Offset: rec.Offset}
		if rec.Oversize {
			fmt.Fprintf(stderr, "%s: record longer than --max-record, skipped\n", origin)
			code = exitUsage
			return
		}
		if err := fn(rec.Data, origin); err != nil {
			var de *decode.Error
			if errors.As(err, &de) {
				fmt.Fprintln(stderr, de.Error())
			} else {
				fmt.Fprintf(stderr, "%s: %v\n", origin, err)
			}
			code = exitUsage
		}
	}
	fr := decode.NewFramer(maxRecord)
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, err := r.Read(buf)
		if n > 0 {
			fr.Write(buf[:n])
			for rec, ok := fr.Next(); ok; rec, ok = fr.Next() {
				handle(rec)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(stderr, "read %s: %v\n", name, err)
			return exitFailure
		}
	}
	if rec, ok := fr.Close(); ok {
		handle(rec)
	}
	return code
}
