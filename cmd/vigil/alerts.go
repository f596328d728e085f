package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-soc/vigil/detect/triage"
)

const alertsUsage = `usage:
  vigil alerts list [--state DIR] [--status open|acknowledged|closed] [--json]
  vigil alerts set ID --status acknowledged|closed|open [--reason R] [--note TEXT] [--state DIR]
  vigil alerts show ID [--state DIR]
reasons (closing only): true_positive, false_positive, benign_positive, duplicate, other
`

// alertsListOptions are the flags of "vigil alerts list".
type alertsListOptions struct {
	state  string
	status triage.Status
	json   bool
	limit  int
}

// alertsSetOptions are the flags and argument of "vigil alerts set".
type alertsSetOptions struct {
	state  string
	id     string
	status triage.Status
	reason triage.Reason
	note   string
}

// alertsShowOptions are the flags and argument of "vigil alerts show".
type alertsShowOptions struct {
	state string
	id    string
}

// runAlertsCmd dispatches "vigil alerts SUBCOMMAND".
func runAlertsCmd(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, alertsUsage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		o, err := parseAlertsListFlags(args, io.err)
		if err != nil {
			return exitFor(io, "alerts list", err)
		}
		return exitFor(io, "alerts list", runAlertsList(ctx, o, io))
	case "set":
		o, err := parseAlertsSetFlags(args, io.err)
		if err != nil {
			return exitFor(io, "alerts set", err)
		}
		return exitFor(io, "alerts set", runAlertsSet(ctx, o, io))
	case "show":
		o, err := parseAlertsShowFlags(args, io.err)
		if err != nil {
			return exitFor(io, "alerts show", err)
		}
		return exitFor(io, "alerts show", runAlertsShow(ctx, o, io))
	case "-h", "--help", "help":
		fmt.Fprint(io.out, alertsUsage)
		return exitOK
	default:
		fmt.Fprintf(io.err, "vigil alerts: unknown command %q\n%s", printable(sub), alertsUsage)
		return exitUsage
	}
}

func parseAlertsListFlags(args []string, stderr io.Writer) (alertsListOptions, error) {
	var o alertsListOptions
	fs := flag.NewFlagSet("vigil alerts list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.state, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil)")
	status := fs.String("status", "", "only alerts with this `STATUS`: open, acknowledged or closed")
	fs.BoolVar(&o.json, "json", false, "one JSON object per line")
	fs.IntVar(&o.limit, "limit", 0, "at most `N` alerts, newest first (0: all)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usagef("unexpected argument %q", pos[0])
	}
	if o.limit < 0 {
		return o, usagef("--limit %d: must not be negative", o.limit)
	}
	if *status != "" {
		if o.status, err = triage.ParseStatus(*status); err != nil {
			return o, usagef("--status: %v", err)
		}
	}
	return o, nil
}

func parseAlertsSetFlags(args []string, stderr io.Writer) (alertsSetOptions, error) {
	var o alertsSetOptions
	fs := flag.NewFlagSet("vigil alerts set", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.state, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil)")
	status := fs.String("status", "", "new `STATUS`: acknowledged, closed or open (reopen)")
	reason := fs.String("reason", "", "why it is closed: true_positive, false_positive, benign_positive, duplicate or other")
	fs.StringVar(&o.note, "note", "", "free `TEXT` kept in the audit trail")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) != 1 {
		return o, usagef("want exactly one alert ID, got %d arguments", len(pos))
	}
	o.id = pos[0]
	if *status == "" {
		return o, usagef("--status is required (acknowledged, closed or open)")
	}
	if o.status, err = triage.ParseStatus(*status); err != nil {
		return o, usagef("--status: %v", err)
	}
	if o.reason, err = triage.ParseReason(*reason); err != nil {
		return o, usagef("--reason: %v", err)
	}
	if o.status == triage.StatusClosed && o.reason == triage.ReasonNone {
		return o, usagef("--reason is required with --status closed (true_positive, false_positive, benign_positive, duplicate or other)")
	}
	if o.status != triage.StatusClosed && o.reason != triage.ReasonNone {
		return o, usagef("--reason is only given with --status closed")
	}
	if len(o.note) > triage.MaxNoteLen {
		return o, usagef("--note: %d bytes, over the %d limit", len(o.note), triage.MaxNoteLen)
	}
	return o, nil
}

func parseAlertsShowFlags(args []string, stderr io.Writer) (alertsShowOptions, error) {
	var o alertsShowOptions
	fs := flag.NewFlagSet("vigil alerts show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.state, "state", "", "triage store `DIR` (default $XDG_STATE_HOME/vigil)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	if len(pos) != 1 {
		return o, usagef("want exactly one alert ID, got %d arguments", len(pos))
	}
	o.id = pos[0]
	return o, nil
}

// alertJSON is one line of "vigil alerts list --json", in hunt's ECS-style names.
type alertJSON struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	Reason            string `json:"reason"`
	RuleID            string `json:"rule.id"`
	RuleName          string `json:"rule.name"`
	Severity          string `json:"event.severity"`
	EventCode         uint32 `json:"event.code"`
	Host              string `json:"host.name"`
	User              string `json:"user.name"`
	Executable        string `json:"process.executable"`
	CommandLine       string `json:"process.command_line"`
	PID               uint32 `json:"process.pid"`
	ParentExecutable  string `json:"process.parent.executable"`
	ParentCommandLine string `json:"process.parent.command_line"`
	ParentPID         uint32 `json:"process.parent.pid"`
	Count             int    `json:"count"`
	Suppressed        bool   `json:"suppressed"`
	AllowlistID       string `json:"vigil.allowlist_id"`
	Origin            string `json:"vigil.origin"`
	ParentFromTree    bool   `json:"vigil.parent_from_tree"`
	FirstSeen         string `json:"first_seen"`
	LastSeen          string `json:"last_seen"`
}

func toAlertJSON(a *triage.AlertRecord) alertJSON {
	return alertJSON{
		ID: a.ID, Status: string(a.Status), Reason: string(a.Reason), RuleID: a.RuleID, RuleName: a.RuleName,
		Severity: a.Level, EventCode: a.EventID, Host: a.Host, User: a.User, Executable: a.Image,
		CommandLine: a.CommandLine, PID: a.PID, ParentExecutable: a.ParentImage,
		ParentCommandLine: a.ParentCommandLine, ParentPID: a.ParentPID, Count: a.Count,
		Suppressed: a.Suppressed, AllowlistID: a.AllowlistID, Origin: a.Origin,
		ParentFromTree: a.ParentFromTree, FirstSeen: jsonTime(a.FirstSeen), LastSeen: jsonTime(a.LastSeen),
	}
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell makes an event string fit one table cell: safe, and cut to n runes.
func cell(s string, n int) string {
	s = printable(s)
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return dash(s)
}

// runAlertsList prints the stored alerts, newest first.
func runAlertsList(ctx context.Context, o alertsListOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	list, err := s.ListAlerts(ctx, triage.AlertFilter{Status: o.status, Limit: o.limit})
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(io.out)
		enc.SetEscapeHTML(false)
		for i := range list {
			if err := enc.Encode(toAlertJSON(&list[i])); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLAST SEEN\tSTATUS\tLEVEL\tHOST\tRULE\tPARENT -> PROCESS\tCOUNT")
	for i := range list {
		a := &list[i]
		status := string(a.Status)
		if a.Reason != "" {
			status += "/" + string(a.Reason)
		}
		if a.Suppressed {
			status += " [suppressed " + a.AllowlistID + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s -> %s\t%d\n", printable(a.ID), shortTime(a.LastSeen), status,
			cell(a.Level, 10), cell(a.Host, 20), cell(a.RuleName, 40), cell(baseName(a.ParentImage), 24),
			cell(baseName(a.Image), 24), a.Count)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if len(list) == 0 {
		fmt.Fprintf(io.err, "no alerts in %s\n", s.Path())
	}
	return nil
}

// baseName is the last element of a Windows or POSIX path.
func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '\\' || p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// runAlertsSet records a verdict; it prints it only after the store committed it.
func runAlertsSet(ctx context.Context, o alertsSetOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	au, err := s.SetStatus(ctx, o.id, o.status, o.reason, o.note)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%s: %s -> %s", printable(au.AlertID), au.From, au.To)
	if au.Reason != "" {
		msg += " (" + string(au.Reason) + ")"
	}
	fmt.Fprintln(io.out, msg)
	return nil
}

// maxShowRaw bounds the raw record "alerts show" prints.
const maxShowRaw = 4096

// runAlertsShow prints one alert and its audit trail.
func runAlertsShow(ctx context.Context, o alertsShowOptions, io stdio) error {
	s, err := openStore(o.state)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := s.Alert(ctx, o.id)
	if err != nil {
		return err
	}
	hist, err := s.History(ctx, o.id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, printable(v)) }
	row("ID", a.ID)
	status := string(a.Status)
	if a.Reason != "" {
		status += " (" + string(a.Reason) + ")"
	}
	row("Status", status)
	row("Rule", a.RuleName+" ["+a.RuleID+"]")
	row("Level", dash(a.Level))
	row("Host", dash(a.Host))
	row("User", dash(a.User))
	row("Process", a.Image+" (PID "+strconv.FormatUint(uint64(a.PID), 10)+")")
	row("Command line", dash(a.CommandLine))
	parent := a.ParentImage + " (PID " + strconv.FormatUint(uint64(a.ParentPID), 10) + ")"
	if a.ParentFromTree {
		parent += " [from process tree]"
	}
	row("Parent", parent)
	row("Parent command line", dash(a.ParentCommandLine))
	row("Event ID", strconv.FormatUint(uint64(a.EventID), 10))
	row("Origin", dash(a.Origin))
	row("First seen", shortTime(a.FirstSeen))
	row("Last seen", shortTime(a.LastSeen))
	row("Count", strconv.Itoa(a.Count))
	if a.Suppressed {
		row("Suppressed by", a.AllowlistID)
	} else if a.AllowlistID != "" {
		row("Allowlist", a.AllowlistID)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if len(a.Raw) > 0 {
		raw := a.Raw
		more := ""
		if len(raw) > maxShowRaw {
			raw, more = raw[:maxShowRaw], fmt.Sprintf(" ... (%d more bytes)", len(a.Raw)-maxShowRaw)
		}
		fmt.Fprintln(io.out, "\nRaw:")
		// Line by line, so multi-line XML stays readable while each line is made safe.
		for _, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n") {
			fmt.Fprintf(io.out, "  %s\n", printable(strings.TrimSuffix(line, "\r")))
		}
		if more != "" {
			fmt.Fprintf(io.out, "  %s\n", more)
		}
	}
	fmt.Fprintln(io.out, "\nHistory:")
	if len(hist) == 0 {
		fmt.Fprintln(io.out, "  (no changes)")
	}
	tw = tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	for _, h := range hist {
		change := string(h.From) + " -> " + string(h.To)
		if h.Reason != "" {
			change += " (" + string(h.Reason) + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s@%s\t%s\t%s\n", shortTime(h.At), printable(h.Who), printable(h.Host), change, printable(h.Note))
	}
	return tw.Flush()
}
