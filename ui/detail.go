package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/viewport"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/detect/attack"
	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/detect/rules"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/theme"
)

// RuleInfo is what the detail tabs show about a rule beyond sigma.Rule's own fields:
// vigil's rule metadata (detect/rules), mapped by the wiring in cmd/vigil.
type RuleInfo struct {
	Severity         string   // the rule page's word ("Trouble")
	SelectedFields   []string // Event tab order, Sigma field names: Computer, Message, ...
	SelectedLabels   []string // the page's label for each ("host name"), "" for none
	Mitigations      []RuleMitigation
	NextSteps        []string
	Prerequisites    []string
	AttackChain      []string
	Impact           []string
	SecurityStandard string
	ExecutionMode    string
	// DerivedFrom credits the public rule this one is based on (the Detection Rule
	// License asks alerts to credit the rule's author).
	DerivedFrom string
}

// RuleMitigation is one mitigation as the rule page words it.
type RuleMitigation struct{ ID, Name, Text string }

// describeRule maps detect/rules metadata to what the detail tabs show.
func describeRule(r *sigma.Rule) RuleInfo {
	md := rules.MetadataOf(r)
	info := RuleInfo{
		Severity: md.Severity, SelectedFields: md.SelectedFields, SelectedLabels: md.SelectedLabels,
		NextSteps: md.NextSteps, Prerequisites: md.Prerequisites, AttackChain: md.AttackChain,
		Impact: md.Impact, SecurityStandard: md.SecurityStandard, ExecutionMode: md.ExecutionMode,
	}
	if d := md.DerivedFrom; d.Title != "" || d.ID != "" {
		info.DerivedFrom = strings.TrimSpace(fmt.Sprintf("%s (%s) by %s, %s %s", d.Title, d.ID, d.Author, d.License, d.URL))
	}
	for _, m := range md.Mitigations {
		info.Mitigations = append(info.Mitigations, RuleMitigation{ID: m.ID, Name: m.Name, Text: m.Description})
	}
	return info
}

// Detail tabs, in order; 1-6 select them.
const (
	tabEvent = iota
	tabAttack
	tabMitigations
	tabNextSteps
	tabHistory
	tabRaw
	tabCount
)

var tabNames = [tabCount]string{"Event", "ATT&CK", "Mitigations", "Next steps", "History", "Raw"}

// ruleView caches what one rule resolves to; rules are immutable and shared.
type ruleView struct {
	info RuleInfo
	att  attack.Resolved
}

// detailPane is the tabbed, scrollable lower-right pane. Its content is rebuilt only
// when what it shows changes (key), never per frame.
type detailPane struct {
	vp    viewport.Model // scroll state (offset, paging)
	lines []string       // the content, wrapped; View slices it at the viewport's offset
	tab   int
	key   string
}

// setContent replaces what the pane shows.
func (d *detailPane) setContent(s string) {
	d.vp.SetContent(s)
	d.lines = strings.Split(s, "\n")
}

// view is the visible window of the content. The lines are already wrapped to the
// pane, so this skips viewport.View's second lipgloss pass over every cell.
func (d *detailPane) view() string {
	top := min(max(d.vp.YOffset, 0), len(d.lines))
	end := min(top+d.vp.Height, len(d.lines))
	return strings.Join(d.lines[top:end], "\n")
}

// maxRawBytes bounds the Raw tab.
const maxRawBytes = 64 << 10

// defaultSelected is the rule page's field order when the rule names none.
var defaultSelected = []string{"host", "message", "command line", "file name", "process name", "user name", "parent process name"}

// selectedField resolves one of the rule's selected field names against an alert.
func selectedField(name string, a *detect.Alert) (label, value string, ok bool) {
	ev := &a.Event
	n := strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(name))
	switch n {
	case "host", "hostname", "computer":
		h := a.Host
		if h == "" {
			h = ev.Host
		}
		return "Host", h, true
	case "message":
		return "Message", ev.Message, true
	case "commandline":
		return "Command line", ev.Process.CommandLine, true
	case "filename", "image":
		return "File name", ev.Process.Image, true
	case "processname":
		return "Process name", baseName(ev.Process.Image), true
	case "originalfilename":
		if ev.Process.OriginalFileName != "" {
			return "Process name", ev.Process.OriginalFileName, true
		}
		return "Process name", baseName(ev.Process.Image), true
	case "username", "user":
		return "User name", ev.Process.User, true
	case "parentprocessname", "parentimage":
		return "Parent process name", ev.Parent.Image, true
	}
	if v, found := ev.Field(name); found {
		return name, v, true
	}
	return "", "", false
}

// buildDetail renders one tab's content for an alert, wrapped to width. node, when not
// nil, is a process picked in the tree: the Event tab then leads with its details.
func buildDetail(a *detect.Alert, tab int, rv ruleView, node *proctree.Node, hist []triage.Audit, histLoaded bool, width int, st *theme.Styles) string {
	var b strings.Builder
	line := func(label, value string) {
		b.WriteString(st.Label.Render(cell(label)))
		b.WriteString("  ")
		b.WriteString(cell(value))
		b.WriteByte('\n')
	}
	para := func(s string) {
		b.WriteString(sanitize(s, false))
		b.WriteByte('\n')
	}
	heading := func(s string) {
		b.WriteString(st.Bold.Render(s))
		b.WriteByte('\n')
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		heading(title)
		for _, it := range items {
			b.WriteString("  - ")
			b.WriteString(cell(it))
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	var r *sigma.Rule = a.Rule
	switch tab {
	case tabEvent:
		if node != nil {
			heading("Process (from the tree)")
			line("Image", node.Image)
			line("PID", fmt.Sprint(node.PID))
			line("GUID", node.GUID)
			line("Command line", node.CommandLine)
			line("User", node.User)
			if !node.Start.IsZero() {
				line("Started", node.Start.UTC().Format("2006-01-02 15:04:05.000Z"))
			}
			if node.Exited {
				line("Exited", node.Exit.UTC().Format("2006-01-02 15:04:05.000Z"))
			}
			if node.Synthesized {
				line("Note", "started before the feed: known only from a child's parent fields")
			}
			b.WriteByte('\n')
		}
		if r != nil {
			line("Rule", r.Title)
		}
		sel := rv.info.SelectedFields
		if len(sel) == 0 {
			sel = defaultSelected
		}
		for i, name := range sel {
			if label, v, ok := selectedField(name, a); ok {
				if i < len(rv.info.SelectedLabels) && rv.info.SelectedLabels[i] != "" {
					label = rv.info.SelectedLabels[i]
				}
				if strings.Contains(v, "\n") {
					// A rendered message reads best as its own lines.
					b.WriteString(st.Label.Render(cell(label)))
					b.WriteByte('\n')
					para(strings.ReplaceAll(v, "\r\n", "\n"))
					continue
				}
				line(label, v)
			}
		}
		if a.ParentFromTree {
			line("Note", "parent resolved from process tree")
		}
		line("First seen", a.FirstSeen.UTC().Format("2006-01-02 15:04:05Z"))
		line("Last seen", a.LastSeen.UTC().Format("2006-01-02 15:04:05Z"))
		line("Count", fmt.Sprint(a.Count))
		line("Origin", a.Event.Origin.String())
		b.WriteByte('\n')
		heading("All fields")
		for _, f := range a.Event.Fields {
			line(f.Name, f.Value)
		}
	case tabAttack:
		if len(rv.att.Techniques) == 0 && len(rv.att.Unresolved) == 0 && len(rv.att.Tactics) == 0 {
			para("The rule names no ATT&CK technique.")
		}
		for _, t := range rv.att.Techniques {
			heading(cell(t.Technique.ID + " " + t.Technique.Name))
			var tac []string
			for _, x := range t.Tactics {
				tac = append(tac, x.Name+" ("+x.ID+")")
			}
			line("Tactics", strings.Join(tac, ", "))
			line("URL", t.Technique.URL)
			if t.Technique.Revoked || t.Technique.Deprecated {
				line("Note", "revoked or deprecated in ATT&CK")
			}
			para(t.Technique.Description)
			b.WriteByte('\n')
		}
		for _, t := range rv.att.Tactics {
			line("Tactic", t.Name+" ("+t.ID+")")
		}
		for _, u := range rv.att.Unresolved {
			line("Unknown", u.ID+" ("+u.Kind+", not in the embedded ATT&CK catalog)")
		}
	case tabMitigations:
		cat := attack.Embedded()
		seen := map[string]bool{}
		for _, m := range rv.info.Mitigations {
			seen[m.ID] = true
			heading(cell(m.ID + " " + m.Name))
			line("Rule page", m.Text)
			if am, ok := cat.Mitigation(m.ID); ok {
				b.WriteString(st.Label.Render("ATT&CK"))
				b.WriteByte('\n')
				para(am.Description)
			} else {
				line("ATT&CK", "unknown mitigation id")
			}
			b.WriteByte('\n')
		}
		for _, t := range rv.att.Techniques {
			for _, m := range t.Mitigations {
				if seen[m.ID] {
					continue
				}
				seen[m.ID] = true
				heading(cell(m.ID + " " + m.Name + " (ATT&CK, " + t.Technique.ID + ")"))
				para(m.Use)
				b.WriteByte('\n')
			}
		}
		if len(seen) == 0 {
			para("No mitigations recorded for this rule.")
		}
	case tabNextSteps:
		if rv.info.Severity != "" {
			line("Severity", rv.info.Severity)
		}
		if r != nil {
			line("Level", r.Level)
		}
		list("Next steps", rv.info.NextSteps)
		if r != nil {
			list("False positives", r.FalsePositives)
		}
		list("Prerequisites", rv.info.Prerequisites)
		if rv.info.SecurityStandard != "" {
			heading("Security standard")
			para(rv.info.SecurityStandard)
			b.WriteByte('\n')
		}
		if len(rv.info.AttackChain) > 0 {
			heading("Attack chain")
			para(strings.Join(rv.info.AttackChain, " → "))
			b.WriteByte('\n')
		}
		list("Impact", rv.info.Impact)
		if r != nil {
			// The Detection Rule License asks that alerts credit the rule's author.
			line("Rule author", r.Author)
			if rv.info.DerivedFrom != "" {
				line("Derived from", rv.info.DerivedFrom)
			}
			list("References", r.References)
			line("Rule id", r.ID)
			if r.File != "" {
				line("Rule file", fmt.Sprintf("%s:%d", r.File, r.Line))
			}
		}
	case tabHistory:
		if !histLoaded {
			para("loading…")
			break
		}
		if len(hist) == 0 {
			para("No status changes yet.")
		}
		for _, h := range hist {
			s := h.At.UTC().Format("2006-01-02 15:04:05Z") + "  " + string(h.From) + " → " + string(h.To)
			if h.Reason != "" {
				s += " (" + string(h.Reason) + ")"
			}
			s += "  by " + h.Who
			if h.Host != "" {
				s += "@" + h.Host
			}
			b.WriteString(cell(s))
			b.WriteByte('\n')
			if h.Note != "" {
				b.WriteString("    " + cell(h.Note) + "\n")
			}
		}
	case tabRaw:
		raw := a.Event.Raw
		if len(raw) == 0 {
			para("The record's original bytes were not kept.")
			break
		}
		cut := len(raw) > maxRawBytes
		if cut {
			raw = raw[:maxRawBytes]
		}
		b.WriteString(sanitizeN(string(raw), false, maxRawBytes))
		if cut {
			b.WriteString("\n…[cut at 64 KiB]")
		}
	}
	return wrap(strings.TrimRight(b.String(), "\n"), width)
}

// wrap fits every line into width cells, breaking long words.
func wrap(s string, width int) string {
	if width <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Hardwrap(ansi.Wrap(l, width, ""), width, true)
		}
	}
	return strings.Join(lines, "\n")
}

// tabBar draws the tab names, the active one bracketed (readable without colour).
func tabBar(active, width int, st *theme.Styles) string {
	parts := make([]string, tabCount)
	for i, n := range tabNames {
		label := fmt.Sprintf("%d %s", i+1, n)
		if i == active {
			parts[i] = st.ActiveTab.Render("[" + label + "]")
		} else {
			parts[i] = st.Tab.Render(" " + label + " ")
		}
	}
	return ansi.Truncate(strings.Join(parts, ""), width, "")
}
