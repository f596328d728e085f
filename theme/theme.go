// Package theme holds vigil's lipgloss styles and palettes. It imports lipgloss and
// nothing of vigil's; the ui package receives a *Styles built in cmd/vigil.
package theme

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Palette selects the colours: Dark and Light fix them, Auto picks per background.
type Palette uint8

const (
	Auto Palette = iota
	Dark
	Light
)

// String returns the flag spelling of p.
func (p Palette) String() string {
	switch p {
	case Dark:
		return "dark"
	case Light:
		return "light"
	default:
		return "auto"
	}
}

// ParsePalette reads a --theme value.
func ParsePalette(s string) (Palette, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "dark":
		return Dark, nil
	case "light":
		return Light, nil
	}
	return Auto, fmt.Errorf("theme %q: want dark, light or auto", s)
}

// Glyphs are the symbols the UI draws; each has an ASCII fallback so meaning survives a
// terminal without Unicode (and NO_COLOR, which drops every attribute).
type Glyphs struct {
	Selected   string // alert-list selection and the alerting process in the tree
	TreeCursor string // the cursor inside the process tree
	Branch     string // tree connector of a last child
	BranchMid  string // tree connector of a child with later siblings
	Pipe       string // a parent's line continuing past a child
	Arrow      string // parent → child
	Ellipsis   string
	Dot        string // feed state bullet
	// Pane borders: horizontal, vertical, and the corners top-left, top-right,
	// bottom-left, bottom-right.
	BoxH, BoxV, BoxTL, BoxTR, BoxBL, BoxBR string
}

// UnicodeGlyphs are the default symbols.
var UnicodeGlyphs = Glyphs{
	Selected: "▶", TreeCursor: "›", Branch: "└ ", BranchMid: "├ ", Pipe: "│ ", Arrow: "→", Ellipsis: "…", Dot: "●",
	BoxH: "─", BoxV: "│", BoxTL: "┌", BoxTR: "┐", BoxBL: "└", BoxBR: "┘",
}

// ASCIIGlyphs replace UnicodeGlyphs where the terminal cannot draw them.
var ASCIIGlyphs = Glyphs{
	Selected: ">", TreeCursor: "*", Branch: "`-", BranchMid: "|-", Pipe: "| ", Arrow: "->", Ellipsis: "~", Dot: "*",
	BoxH: "-", BoxV: "|", BoxTL: "+", BoxTR: "+", BoxBL: "+", BoxBR: "+",
}

// Styles are the semantic styles every pane draws with. Build them with New; the zero
// value renders plain text.
type Styles struct {
	Renderer *lipgloss.Renderer
	Glyphs   Glyphs

	Text, Muted, Bold lipgloss.Style

	Pane, FocusedPane         lipgloss.Style // bordered boxes
	Border, FocusedBorder     lipgloss.Style // the border glyphs of a pane
	PaneTitle, FocusedTitle   lipgloss.Style
	Selected                  lipgloss.Style // the selected row
	Header                    lipgloss.Style // column headings
	Tab, ActiveTab            lipgloss.Style
	Label                     lipgloss.Style // field names in the detail pane
	Suppressed                lipgloss.Style // the SUPPRESSED tag
	Saving                    lipgloss.Style
	StatusOpen, StatusClosed  lipgloss.Style
	Synthesized, Exited       lipgloss.Style // process-tree node marks
	Focus                     lipgloss.Style // the alerting process
	StatusBar, StatusKey      lipgloss.Style
	FeedOK, FeedWarn, FeedErr lipgloss.Style
	FlashInfo, FlashWarn      lipgloss.Style
	FlashError                lipgloss.Style
	Dialog, Danger            lipgloss.Style // dialog box; a dangerous confirmation
	HelpKey, HelpDesc         lipgloss.Style
	HelpSep                   lipgloss.Style
	Disabled                  lipgloss.Style

	sev [5]lipgloss.Style // crit, high, med, low, info
}

// Severity words, fixed width so the column lines up without colour.
var sevWords = [5]string{"CRIT", "HIGH", "MED ", "LOW ", "INFO"}

// SeverityRank maps a Sigma level to 0 (critical) .. 4 (informational or unknown).
func SeverityRank(level string) int {
	switch strings.ToLower(level) {
	case "critical":
		return 0
	case "high":
		return 1
	case "medium":
		return 2
	case "low":
		return 3
	}
	return 4
}

// Severity renders a Sigma level as its four-cell word (CRIT HIGH MED LOW INFO), styled.
func (s *Styles) Severity(level string) string {
	r := SeverityRank(level)
	return s.sev[r].Render(sevWords[r])
}

// SeverityWord is the unstyled word for level, trimmed.
func SeverityWord(level string) string {
	return strings.TrimSpace(sevWords[SeverityRank(level)])
}

type colors struct {
	fg, muted, accent, accentFg, selBg, selFg, border, focusBorder lipgloss.TerminalColor
	crit, high, med, low, info, ok, warn, err, suppressed          lipgloss.TerminalColor
}

// ANSI 256 indexes: readable on both backgrounds where a pair is not needed.
func paletteColors(p Palette) colors {
	dark := colors{
		fg: lipgloss.Color("252"), muted: lipgloss.Color("245"), accent: lipgloss.Color("75"),
		accentFg: lipgloss.Color("16"), selBg: lipgloss.Color("237"), selFg: lipgloss.Color("231"),
		border: lipgloss.Color("240"), focusBorder: lipgloss.Color("75"),
		crit: lipgloss.Color("199"), high: lipgloss.Color("203"), med: lipgloss.Color("214"),
		low: lipgloss.Color("114"), info: lipgloss.Color("110"),
		ok: lipgloss.Color("114"), warn: lipgloss.Color("214"), err: lipgloss.Color("203"),
		suppressed: lipgloss.Color("141"),
	}
	light := colors{
		fg: lipgloss.Color("235"), muted: lipgloss.Color("242"), accent: lipgloss.Color("25"),
		accentFg: lipgloss.Color("231"), selBg: lipgloss.Color("254"), selFg: lipgloss.Color("16"),
		border: lipgloss.Color("248"), focusBorder: lipgloss.Color("25"),
		crit: lipgloss.Color("161"), high: lipgloss.Color("160"), med: lipgloss.Color("130"),
		low: lipgloss.Color("28"), info: lipgloss.Color("24"),
		ok: lipgloss.Color("28"), warn: lipgloss.Color("130"), err: lipgloss.Color("160"),
		suppressed: lipgloss.Color("91"),
	}
	switch p {
	case Dark:
		return dark
	case Light:
		return light
	}
	pair := func(l, d lipgloss.TerminalColor) lipgloss.TerminalColor {
		return lipgloss.AdaptiveColor{Light: string(l.(lipgloss.Color)), Dark: string(d.(lipgloss.Color))}
	}
	return colors{
		fg: pair(light.fg, dark.fg), muted: pair(light.muted, dark.muted),
		accent: pair(light.accent, dark.accent), accentFg: pair(light.accentFg, dark.accentFg),
		selBg: pair(light.selBg, dark.selBg), selFg: pair(light.selFg, dark.selFg),
		border: pair(light.border, dark.border), focusBorder: pair(light.focusBorder, dark.focusBorder),
		crit: pair(light.crit, dark.crit), high: pair(light.high, dark.high), med: pair(light.med, dark.med),
		low: pair(light.low, dark.low), info: pair(light.info, dark.info),
		ok: pair(light.ok, dark.ok), warn: pair(light.warn, dark.warn), err: pair(light.err, dark.err),
		suppressed: pair(light.suppressed, dark.suppressed),
	}
}

// New builds the styles for palette p on renderer r (nil: lipgloss's default renderer).
// For Auto it asks r for the background once, here: lipgloss v1 probes lazily, and a
// reply arriving after Bubble Tea owns stdin would read as keystrokes, so call New
// before tea.Program.Run.
func New(r *lipgloss.Renderer, p Palette) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if p == Auto {
		_ = r.HasDarkBackground() // cached by the renderer from here on
	}
	c := paletteColors(p)
	ns := r.NewStyle
	s := &Styles{Renderer: r, Glyphs: UnicodeGlyphs}
	s.Text = ns().Foreground(c.fg)
	s.Muted = ns().Foreground(c.muted)
	s.Bold = ns().Bold(true)
	s.Pane = ns().Border(lipgloss.NormalBorder()).BorderForeground(c.border)
	s.FocusedPane = ns().Border(lipgloss.NormalBorder()).BorderForeground(c.focusBorder)
	s.Border = ns().Foreground(c.border)
	s.FocusedBorder = ns().Foreground(c.focusBorder)
	s.PaneTitle = ns().Foreground(c.muted).Bold(true)
	s.FocusedTitle = ns().Foreground(c.accent).Bold(true)
	s.Selected = ns().Background(c.selBg).Foreground(c.selFg).Bold(true)
	s.Header = ns().Foreground(c.muted).Underline(true)
	s.Tab = ns().Foreground(c.muted)
	s.ActiveTab = ns().Foreground(c.accentFg).Background(c.accent).Bold(true)
	s.Label = ns().Foreground(c.accent)
	s.Suppressed = ns().Foreground(c.suppressed).Bold(true)
	s.Saving = ns().Foreground(c.warn).Italic(true)
	s.StatusOpen = ns().Foreground(c.fg)
	s.StatusClosed = ns().Foreground(c.muted)
	s.Synthesized = ns().Foreground(c.muted).Italic(true)
	s.Exited = ns().Foreground(c.muted).Strikethrough(false)
	s.Focus = ns().Foreground(c.high).Bold(true)
	s.StatusBar = ns().Foreground(c.fg)
	s.StatusKey = ns().Foreground(c.accent).Bold(true)
	s.FeedOK = ns().Foreground(c.ok)
	s.FeedWarn = ns().Foreground(c.warn)
	s.FeedErr = ns().Foreground(c.err).Bold(true)
	s.FlashInfo = ns().Foreground(c.ok)
	s.FlashWarn = ns().Foreground(c.warn).Bold(true)
	s.FlashError = ns().Foreground(c.err).Bold(true)
	s.Dialog = ns().Border(lipgloss.NormalBorder()).BorderForeground(c.accent)
	s.Danger = ns().Border(lipgloss.DoubleBorder()).BorderForeground(c.err)
	s.HelpKey = ns().Foreground(c.accent).Bold(true)
	s.HelpDesc = ns().Foreground(c.muted)
	s.HelpSep = ns().Foreground(c.border)
	s.Disabled = ns().Foreground(c.border).Strikethrough(true)
	s.sev = [5]lipgloss.Style{
		ns().Foreground(c.crit).Bold(true).Reverse(true),
		ns().Foreground(c.high).Bold(true),
		ns().Foreground(c.med),
		ns().Foreground(c.low),
		ns().Foreground(c.info),
	}
	return s
}
