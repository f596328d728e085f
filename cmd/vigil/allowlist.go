package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-soc/vigil/detect/triage"
)

const allowlistUsage = `usage:
  vigil allowlist add [--rule ID] [--image P] [--parent-image P] [--command-line P] [--user P]
                      [--host P] [--expires DURATION|DATE] [--close-matching]
                      [--close-reason false_positive|benign_positive] --reason TEXT [--state DIR]
  vigil allowlist list [--json] [--state DIR]
  vigil allowlist rm ID [--state DIR]
  vigil allowlist export [FILE] [--state DIR]     Sigma filter rules; stdout without FILE
  vigil allowlist import FILE [--state DIR]
patterns P (case-insensitive unless prefixed with "cased:"):
  C:\Windows\System32\cmd.exe    exact, whole value
  *\cmd.exe   cmd?.exe           glob: * any run, ? one character
  re:^cmd /c .*backup            RE2 regular expression (unanchored)
  exact:a*b                      literal even with * or ?
expiry: a duration (36h, 90m, 7d) from now, or a date (2026-06-30) or RFC 3339 time
`

// allowAddOptions are the flags of "vigil allowlist add".
type allowAddOptions struct {
	state         string
	entry         triage.AllowEntry
	closeMatching bool
	closeReason   triage.Reason
}

// allowListOptions are the flags of "vigil allowlist list".
type allowListOptions struct {
	state string
	json  bool
	now   time.Time
}

// allowIDOptions are "vigil allowlist rm ID".
type allowIDOptions struct {
	state string
	id    string
}

// allowFileOptions are "vigil allowlist export [FILE]" and "import FILE".
type allowFileOptions struct {
	state string
	file  string // "" for stdout (export only)
}

// runAllowlistCmd dispatches "vigil allowlist SUBCOMMAND".
func runAllowlistCmd(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, allowlistUsage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	name := "allowlist " + sub
	switch sub {
	case "add":
		o, err := parseAllowAddFlags(args, time.Now(), io.err)
		if err != nil {
			return exitFor(io, name, err)
		}
		return exitFor(io, name, runAllowAdd(ctx, o, io))
	case "list":
		o, err := parseAllowListFlags(args, io.err)
		if err != nil {
			return exitFor(io, name, err)
		}
		o.now = time.Now()
		return exitFor(io, name, runAllowList(ctx, o, io))
	case "rm":
		o, err := parseAllowIDFlags(name, args, io.err)
		if err != nil {
			return exitFor(io, name, err)
		}
		return exitFor(io, name, runAllowRemove(ctx, o, io))
	case "export":
		o, err := parseAllowFileFlags(name, args, false, io.err)
		if err != nil {
			return exitFor(io, name, err)
		}
		return exitFor(io, name, runAllowExport(ctx, o, io))
	case "import":
		o, err := parseAllowFileFlags(name, args, true, io.err)
		if err != nil {
			return exitFor(io, name, err)
		}
		return exitFor(io, name, runAllowImport(ctx, o, io))
	case "-h", "--help", "help":
		fmt.Fprint(io.out, allowlistUsage)
		return exitOK
	default:
		fmt.Fprintf(io.err, "vigil allowlist: unknown command %q\n%s", printable(sub), allowlistUsage)
		return exitUsage
	}
}

func stateFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil)")
}

// patternFlag parses a pattern flag's value when given, naming the flag on error.
func patternFlag(fs *flag.FlagSet, name, usage string, dst **triage.Pattern) {
	fs.Func(name, usage, func(v string) error {
		p, err := triage.ParsePattern(v)
		if err != nil {
			return err
		}
		*dst = &p
		return nil
	})
}

func parseAllowAddFlags(args []string, now time.Time, stderr io.Writer) (allowAddOptions, error) {
	var o allowAddOptions
	e := &o.entry
	fs := flag.NewFlagSet("vigil allowlist add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateFlag(fs, &o.state)
	fs.StringVar(&e.RuleID, "rule", "", "only alerts of this rule `ID` (default: every rule)")
	patternFlag(fs, "image", "process image `P`attern", &e.Image)
	patternFlag(fs, "parent-image", "parent image `P`attern", &e.ParentImage)
	patternFlag(fs, "command-line", "command line `P`attern", &e.CommandLine)
	patternFlag(fs, "user", "user `P`attern (DOMAIN\\name)", &e.User)
	patternFlag(fs, "host", "host name `P`attern", &e.Host)
	expires := fs.String("expires", "", "expire after a `DURATION` (36h, 7d) or at a DATE (2026-06-30)")
	fs.BoolVar(&o.closeMatching, "close-matching", false, "also close the open alerts the entry matches")
	closeReason := fs.String("close-reason", string(triage.ReasonFalsePositive), "reason for the alerts it closes: false_positive or benign_positive")
	fs.StringVar(&e.Reason, "reason", "", "why these alerts are expected (required)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usagef("unexpected argument %q", pos[0])
	}
	if strings.TrimSpace(e.Reason) == "" {
		return o, usagef("--reason is required")
	}
	if len(e.Reason) > triage.MaxReasonLen {
		return o, usagef("--reason: %d bytes, over the %d limit", len(e.Reason), triage.MaxReasonLen)
	}
	if e.RuleID == "" && e.Image == nil && e.ParentImage == nil && e.CommandLine == nil && e.User == nil && e.Host == nil {
		return o, usagef("give --rule or at least one of --image, --parent-image, --command-line, --user, --host")
	}
	if *expires != "" {
		if e.Expires, err = parseExpiry(*expires, now); err != nil {
			return o, usagef("--expires %q: %v", *expires, err)
		}
	}
	switch r := triage.Reason(*closeReason); r {
	case triage.ReasonFalsePositive, triage.ReasonBenignPositive:
		o.closeReason = r
	default:
		return o, usagef("--close-reason %q: want false_positive or benign_positive", *closeReason)
	}
	return o, nil
}

// parseExpiry reads a duration from now ("36h", "90m", "7d") or an absolute time
// ("2026-06-30" at local midnight, or RFC 3339). It must lie in the future.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	t, err := expiryTime(s, now)
	if err != nil {
		return t, err
	}
	if !t.After(now) {
		return t, errors.New("that is not in the future")
	}
	return t.UTC(), nil
}

func expiryTime(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3650 {
			return time.Time{}, errors.New("want a number of days between 1 and 3650")
		}
		return now.AddDate(0, 0, days), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("the duration must be positive")
		}
		return now.Add(d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a duration (36h, 7d), a date (2026-06-30) or an RFC 3339 time")
}

func parseAllowListFlags(args []string, stderr io.Writer) (allowListOptions, error) {
	var o allowListOptions
	fs := flag.NewFlagSet("vigil allowlist list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateFlag(fs, &o.state)
	fs.BoolVar(&o.json, "json", false, "one JSON object per line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usagef("unexpected argument %q", pos[0])
	}
	return o, nil
}

func parseAllowIDFlags(name string, args []string, stderr io.Writer) (allowIDOptions, error) {
	var o allowIDOptions
	fs := flag.NewFlagSet("vigil "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateFlag(fs, &o.state)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) != 1 {
		return o, usagef("want exactly one allowlist entry ID, got %d arguments", len(pos))
	}
	o.id = pos[0]
	return o, nil
}

func parseAllowFileFlags(name string, args []string, required bool, stderr io.Writer) (allowFileOptions, error) {
	var o allowFileOptions
	fs := flag.NewFlagSet("vigil "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateFlag(fs, &o.state)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	switch {
	case len(pos) > 1:
		return o, usagef("want at most one FILE, got %d", len(pos))
	case len(pos) == 0 && required:
		return o, usagef("want a FILE to import")
	case len(pos) == 1:
		o.file = pos[0]
	}
	return o, nil
}

func runAllowAdd(ctx context.Context, o allowAddOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	e, closed, err := s.AddAllow(ctx, o.entry, o.closeMatching, o.closeReason)
	if err != nil {
		return err
	}
	if o.closeMatching {
		fmt.Fprintf(io.out, "added %s; closed %d matching alert(s) as %s\n", e.ID, closed, o.closeReason)
	} else {
		fmt.Fprintf(io.out, "added %s\n", e.ID)
	}
	return nil
}

// allowJSON is one line of "vigil allowlist list --json".
type allowJSON struct {
	ID          string `json:"id"`
	RuleID      string `json:"rule.id,omitempty"`
	Image       string `json:"image,omitempty"`
	ParentImage string `json:"parent_image,omitempty"`
	CommandLine string `json:"command_line,omitempty"`
	User        string `json:"user,omitempty"`
	Host        string `json:"host,omitempty"`
	Expires     string `json:"expires,omitempty"`
	Expired     bool   `json:"expired"`
	Reason      string `json:"reason"`
	Author      string `json:"author"`
	Created     string `json:"created"`
	Hits        int    `json:"hits"`
	LastHit     string `json:"last_hit,omitempty"`
}

func patString(p *triage.Pattern) string {
	if p == nil {
		return ""
	}
	return p.String()
}

// conditions renders an entry's conditions for the table.
func conditions(e *triage.AllowEntry) string {
	var parts []string
	for _, c := range []struct {
		name string
		p    *triage.Pattern
	}{{"image", e.Image}, {"parent", e.ParentImage}, {"cmdline", e.CommandLine}, {"user", e.User}, {"host", e.Host}} {
		if c.p != nil {
			parts = append(parts, c.name+"="+c.p.String())
		}
	}
	if len(parts) == 0 {
		return "(any event)"
	}
	return strings.Join(parts, " ")
}

func runAllowList(ctx context.Context, o allowListOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.Allowlist(ctx)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(io.out)
		enc.SetEscapeHTML(false)
		for i := range list {
			e := &list[i]
			if err := enc.Encode(allowJSON{
				ID: e.ID, RuleID: e.RuleID, Image: patString(e.Image), ParentImage: patString(e.ParentImage),
				CommandLine: patString(e.CommandLine), User: patString(e.User), Host: patString(e.Host),
				Expires: jsonTime(e.Expires), Expired: e.Expired(o.now), Reason: e.Reason, Author: e.Author,
				Created: jsonTime(e.Created), Hits: e.Hits, LastHit: jsonTime(e.LastHit),
			}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRULE\tCONDITIONS\tEXPIRES\tHITS\tAUTHOR\tREASON")
	for i := range list {
		e := &list[i]
		exp := "never"
		if !e.Expires.IsZero() {
			exp = shortTime(e.Expires)
			if e.Expired(o.now) {
				exp += " EXPIRED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", printable(e.ID), cell(dash(e.RuleID), 38),
			cell(conditions(e), 70), exp, e.Hits, cell(e.Author, 16), cell(e.Reason, 50))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if len(list) == 0 {
		fmt.Fprintf(io.err, "the allowlist in %s is empty\n", s.Path())
	}
	return nil
}

func runAllowRemove(ctx context.Context, o allowIDOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.RemoveAllow(ctx, o.id); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "removed %s\n", printable(o.id))
	return nil
}

func runAllowExport(ctx context.Context, o allowFileOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.Allowlist(ctx)
	if err != nil {
		return err
	}
	data, err := triage.ExportSigma(list)
	if err != nil {
		return err
	}
	if o.file == "" {
		if _, err := io.out.Write(data); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	if err := os.WriteFile(o.file, data, 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(io.err, "exported %d entries to %s\n", len(list), o.file)
	return nil
}

func runAllowImport(ctx context.Context, o allowFileOptions, io stdio) error {
	data, err := readFileLimit(o.file, triage.MaxImportLen)
	if err != nil {
		return usagef("import: %v", err)
	}
	entries, err := triage.ImportSigma(data)
	if err != nil {
		return usagef("%s: %v", o.file, err)
	}
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	added, skipped, err := s.ImportAllow(ctx, entries)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	fmt.Fprintf(io.out, "imported %d entries from %s (%d already present)\n", added, o.file, skipped)
	return nil
}

// readFileLimit reads a file of at most limit bytes.
func readFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over the %d byte limit", path, limit)
	}
	return data, nil
}
