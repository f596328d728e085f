package ui

import "github.com/charmbracelet/bubbles/key"

// keyMap is every binding of the TUI. FullHelp groups them in four columns: navigate,
// triage, view, app. Bindings are enabled or disabled from state after each Update so
// help stays truthful.
type keyMap struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	NextPane, PrevPane, Open                key.Binding

	FalsePositive, TruePositive, BenignPositive key.Binding
	Acknowledge, Reopen, Allowlist              key.Binding

	Filter, Clear, Sort, ShowClosed, ShowSuppressed key.Binding
	PrevTab, NextTab, TabN, Allowlists              key.Binding

	Help, Quit, ForceQuit key.Binding
}

func defaultKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
		Up:       b([]string{"k", "up"}, "k/↑", "up"),
		Down:     b([]string{"j", "down"}, "j/↓", "down"),
		Top:      b([]string{"g", "home"}, "g", "top"),
		Bottom:   b([]string{"G", "end"}, "G", "bottom"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		NextPane: b([]string{"tab"}, "tab", "next pane"),
		PrevPane: b([]string{"shift+tab"}, "shift+tab", "previous pane"),
		Open:     b([]string{"enter"}, "enter", "process details"),

		FalsePositive:  b([]string{"f"}, "f", "false positive"),
		TruePositive:   b([]string{"t"}, "t", "true positive"),
		BenignPositive: b([]string{"b"}, "b", "benign positive"),
		Acknowledge:    b([]string{"c"}, "c", "acknowledge"),
		Reopen:         b([]string{"o"}, "o", "reopen"),
		Allowlist:      b([]string{"a"}, "a", "allowlist"),

		Filter:         b([]string{"/"}, "/", "filter"),
		Clear:          b([]string{"esc"}, "esc", "clear / back"),
		Sort:           b([]string{"s"}, "s", "sort: time, severity, host"),
		ShowClosed:     b([]string{"C"}, "C", "show closed"),
		ShowSuppressed: b([]string{"S"}, "S", "show suppressed"),
		PrevTab:        b([]string{"["}, "[", "previous tab"),
		NextTab:        b([]string{"]"}, "]", "next tab"),
		TabN:           b([]string{"1", "2", "3", "4", "5", "6"}, "1-6", "detail tab"),
		Allowlists:     b([]string{"A"}, "A", "allowlist manager"),

		Help:      b([]string{"?"}, "?", "help"),
		Quit:      b([]string{"q"}, "q", "quit"),
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit now"),
	}
}

// verdictKeys are the bindings --read-only disables.
func (k *keyMap) verdictKeys() []*key.Binding {
	return []*key.Binding{&k.FalsePositive, &k.TruePositive, &k.BenignPositive, &k.Acknowledge, &k.Reopen, &k.Allowlist}
}

// ShortHelp is the footer line.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.FalsePositive, k.TruePositive, k.Allowlist, k.Filter, k.NextPane, k.Help, k.Quit}
}

// FullHelp is the help screen: navigate, triage, view, app.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown, k.NextPane, k.PrevPane, k.Open},
		{k.FalsePositive, k.TruePositive, k.BenignPositive, k.Acknowledge, k.Reopen, k.Allowlist},
		{k.Filter, k.Clear, k.Sort, k.ShowClosed, k.ShowSuppressed, k.PrevTab, k.NextTab, k.TabN, k.Allowlists},
		{k.Help, k.Quit, k.ForceQuit},
	}
}
