package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/theme"
)

// noteDialog asks for an optional note before a status change.
type noteDialog struct {
	alertID string
	to      triage.Status
	reason  triage.Reason
	title   string
	input   lineInput
}

// allowCond is one prefilled allowlist condition.
type allowCond struct {
	label   string
	exact   string // from the alert
	wide    string // the widened glob, "" when it cannot widen
	on      bool
	widened bool
}

func (c allowCond) pattern() *triage.Pattern {
	if !c.on {
		return nil
	}
	if c.widened && c.wide != "" {
		return &triage.Pattern{Kind: triage.PatternGlob, Text: c.wide}
	}
	return &triage.Pattern{Kind: triage.PatternExact, Text: c.exact}
}

// Allowlist dialog rows: conditions, then reason and expiry inputs.
const (
	condRule = iota
	condImage
	condCommandLine
	condParentImage
	condHost
	condCount
	rowReason = condCount
	rowExpiry = condCount + 1
	rowCount  = condCount + 2
)

// allowDialog builds an allowlist entry from an alert.
type allowDialog struct {
	alertID    string
	conds      [condCount]allowCond
	cursor     int
	reason     lineInput
	expiry     lineInput
	confirm    bool // the dangerous step: y sends, n goes back
	countSeq   int
	count      int // open alerts the entry would close; -1 while asking
	countErr   string
	err        string
	expiresAt  time.Time
	ruleID     string
	authorHint string
}

// widenPath replaces a Windows path's directory with '*': C:\x\cmd.exe -> *\cmd.exe.
func widenPath(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return "*" + p[i:]
	}
	return ""
}

// widenCommandLine keeps the program and replaces the arguments with '*'.
func widenCommandLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var prog string
	if s[0] == '"' {
		if j := strings.IndexByte(s[1:], '"'); j >= 0 {
			prog = s[:j+2]
		}
	}
	if prog == "" {
		prog, _, _ = strings.Cut(s, " ")
	}
	if prog == s {
		return ""
	}
	return prog + " *"
}

// widenHost replaces a host's trailing digits or domain with '*': dc01 -> dc*.
func widenHost(h string) string {
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i] + ".*"
	}
	t := strings.TrimRight(h, "0123456789")
	if t == h || t == "" {
		return ""
	}
	return t + "*"
}

func newAllowDialog(a *detect.Alert) allowDialog {
	d := allowDialog{alertID: a.ID, count: -1}
	ruleID := ""
	if a.Rule != nil {
		ruleID = a.Rule.ID
	}
	d.ruleID = ruleID
	ev := &a.Event
	d.conds = [condCount]allowCond{
		condRule:        {label: "rule", exact: ruleID, on: ruleID != ""},
		condImage:       {label: "image", exact: ev.Process.Image, wide: widenPath(ev.Process.Image), on: ev.Process.Image != ""},
		condCommandLine: {label: "command line", exact: ev.Process.CommandLine, wide: widenCommandLine(ev.Process.CommandLine), on: ev.Process.CommandLine != ""},
		condParentImage: {label: "parent image", exact: ev.Parent.Image, wide: widenPath(ev.Parent.Image), on: ev.Parent.Image != ""},
		condHost:        {label: "host", exact: a.Host, wide: widenHost(a.Host), on: a.Host != ""},
	}
	d.reason = newLineInput("", 500)
	d.expiry = newLineInput("", 40)
	d.expiry.Placeholder = "never (7d, 24h, 2026-12-31)"
	d.reason.Blur()
	d.expiry.Blur()
	return d
}

// entry is the allowlist entry the dialog describes now.
func (d *allowDialog) entry(author string, now time.Time) triage.AllowEntry {
	e := triage.AllowEntry{
		Image:       d.conds[condImage].pattern(),
		CommandLine: d.conds[condCommandLine].pattern(),
		ParentImage: d.conds[condParentImage].pattern(),
		Host:        d.conds[condHost].pattern(),
		Reason:      strings.TrimSpace(d.reason.Value()),
		Author:      author,
		Created:     now,
		Expires:     d.expiresAt,
	}
	if d.conds[condRule].on {
		e.RuleID = d.ruleID
	}
	return e
}

// focusRow moves the cursor and focuses the matching text input.
func (d *allowDialog) focusRow(row int) {
	d.cursor = (row + rowCount) % rowCount
	d.reason.Blur()
	d.expiry.Blur()
	switch d.cursor {
	case rowReason:
		d.reason.Focus()
	case rowExpiry:
		d.expiry.Focus()
	}
}

// validate checks the dialog before confirmation.
func (d *allowDialog) validate(now time.Time) error {
	any := false
	for _, c := range d.conds[condImage:] {
		any = any || c.on
	}
	if !any {
		return errors.New("turn on at least one field condition (space)")
	}
	if strings.TrimSpace(d.reason.Value()) == "" {
		return errors.New("a reason is required")
	}
	t, err := parseExpiry(d.expiry.Value(), now)
	if err != nil {
		return err
	}
	d.expiresAt = t
	return nil
}

// maxExpiry bounds relative expiries so arithmetic cannot overflow.
const maxExpiry = 100 * 365 * 24 * time.Hour

// parseExpiry reads an allowlist expiry: "" (never), a duration with d (days), h or m
// units ("7d", "36h", "1d12h"), or a date (2026-12-31, at its end in UTC) or RFC 3339
// time. It must lie after now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) > 40 {
		return time.Time{}, fmt.Errorf("expiry %q: too long", s[:40])
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		t = t.Add(24*time.Hour - time.Second)
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("expiry %s: in the past", s)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("expiry %s: in the past", s)
		}
		return t, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 6 {
			return time.Time{}, fmt.Errorf("expiry %q: want 7d, 24h, 30m or a date like 2026-12-31", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		var unit time.Duration
		switch rest[i] {
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		default:
			return time.Time{}, fmt.Errorf("expiry %q: unknown unit %q (want d, h or m)", s, rest[i])
		}
		total += time.Duration(n) * unit
		if total > maxExpiry {
			return time.Time{}, fmt.Errorf("expiry %q: more than 100 years", s)
		}
		rest = rest[i+1:]
	}
	if total <= 0 {
		return time.Time{}, fmt.Errorf("expiry %q: must be in the future", s)
	}
	return now.Add(total), nil
}

// view draws the dialog in a width x height box.
func (d *allowDialog) view(width, height int, st *theme.Styles) string {
	var b strings.Builder
	b.WriteString(st.Bold.Render("Allowlist: suppress alerts like this one"))
	b.WriteString("\n\n")
	for i, c := range d.conds {
		cur := "  "
		if d.cursor == i && !d.confirm {
			cur = st.Glyphs.Selected + " "
		}
		box := "[ ]"
		if c.on {
			box = "[x]"
		}
		val := c.exact
		kind := "exact"
		if c.widened && c.wide != "" {
			val, kind = c.wide, "glob"
		}
		if val == "" {
			val = "(empty)"
		}
		head := cur + box + " " + fmt.Sprintf("%-13s", c.label) + fmt.Sprintf("%-6s", kind) + " "
		b.WriteString(head + ansi.Truncate(cell(val), max(width-ansi.StringWidth(head), 1), st.Glyphs.Ellipsis))
		b.WriteByte('\n')
	}
	for i, in := range []lineInput{d.reason, d.expiry} {
		cur := "  "
		if d.cursor == rowReason+i && !d.confirm {
			cur = st.Glyphs.Selected + " "
		}
		label := "reason:  "
		if i == 1 {
			label = "expires: "
		}
		in.Width = max(width-len(label)-4, 4)
		b.WriteString(cur + label + in.View() + "\n")
	}
	b.WriteByte('\n')
	switch {
	case d.countErr != "":
		b.WriteString(st.FlashError.Render("count failed: " + cell(d.countErr)))
	case d.count < 0:
		b.WriteString(st.Muted.Render("counting open alerts it would close…"))
	default:
		b.WriteString(fmt.Sprintf("would also close %d open alert(s)", d.count))
	}
	b.WriteByte('\n')
	if d.err != "" {
		b.WriteString(st.FlashError.Render(cell(d.err)) + "\n")
	}
	if d.confirm {
		n := max(d.count, 0)
		msg := fmt.Sprintf("DANGER: allowlist, closing %d open alert(s)? y/n", n)
		b.WriteString("\n" + st.Danger.Render(ansi.Truncate(msg, max(width-2, 1), "")))
	} else {
		b.WriteString(st.Muted.Render("↑/↓ move  space toggle  w widen  enter confirm  esc cancel"))
	}
	return fitBox(b.String(), width, height)
}

// fitBox cuts or pads s to exactly width x height cells.
func fitBox(s string, width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		w := ansi.StringWidth(l)
		if w > width {
			l = ansi.Truncate(l, width, "")
			w = ansi.StringWidth(l)
		}
		lines[i] = l + strings.Repeat(" ", width-w)
	}
	for len(lines) < height {
		lines = append(lines, strings.Repeat(" ", width))
	}
	return strings.Join(lines, "\n")
}

// manager is the allowlist manager view (A).
type manager struct {
	entries []triage.AllowEntry
	loaded  bool
	cursor  int
	confirm bool // removing the selected entry awaits y/n
	err     string
}

func patternText(p *triage.Pattern) string {
	if p == nil {
		return ""
	}
	if p.Kind == triage.PatternRegex {
		return "re:" + p.Text
	}
	return p.Text
}

func (m *manager) view(width, height int, now time.Time, st *theme.Styles) string {
	var b strings.Builder
	b.WriteString(st.Bold.Render("Allowlist entries") + st.Muted.Render("   j/k move  x remove  esc back") + "\n\n")
	if !m.loaded {
		b.WriteString("loading…\n")
	}
	if m.err != "" {
		b.WriteString(st.FlashError.Render(cell(m.err)) + "\n")
	}
	if m.loaded && len(m.entries) == 0 {
		b.WriteString(st.Muted.Render("no entries") + "\n")
	}
	for i, e := range m.entries {
		cur := "  "
		if i == m.cursor {
			cur = st.Glyphs.Selected + " "
		}
		var conds []string
		for _, c := range []struct {
			n string
			p *triage.Pattern
		}{{"image", e.Image}, {"parent", e.ParentImage}, {"cmd", e.CommandLine}, {"user", e.User}, {"host", e.Host}} {
			if c.p != nil {
				conds = append(conds, c.n+"="+patternText(c.p))
			}
		}
		rule := e.RuleID
		if rule == "" {
			rule = "any rule"
		}
		exp := "never"
		if !e.Expires.IsZero() {
			exp = e.Expires.UTC().Format("2006-01-02")
			if !e.Expires.After(now) {
				exp = "EXPIRED " + exp
			}
		}
		line := fmt.Sprintf("%s%s  %s  %s  expires %s  hits %d  %s", cur, e.ID, rule, strings.Join(conds, " "), exp, e.Hits, e.Reason)
		line = ansi.Truncate(cell(line), width, st.Glyphs.Ellipsis)
		if i == m.cursor {
			line = st.Selected.Render(line)
		}
		b.WriteString(line + "\n")
	}
	if m.confirm && m.cursor < len(m.entries) {
		b.WriteString("\n" + st.Danger.Render(ansi.Truncate("DANGER: remove entry "+cell(m.entries[m.cursor].ID)+"? y/n", max(width-2, 1), "")))
	}
	return fitBox(b.String(), width, height)
}
