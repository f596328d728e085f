package ui

import (
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a minimal one-line text input: append, backspace, ctrl+u. It replaces
// bubbles/textinput, whose clipboard dependency is not available to this module.
type lineInput struct {
	Prompt      string
	Placeholder string
	CharLimit   int
	Width       int
	value       []rune
	focused     bool
}

func newLineInput(prompt string, limit int) lineInput {
	return lineInput{Prompt: prompt, CharLimit: limit, focused: true}
}

func (in *lineInput) Focus()       { in.focused = true }
func (in *lineInput) Blur()        { in.focused = false }
func (in lineInput) Focused() bool { return in.focused }
func (in lineInput) Value() string { return string(in.value) }
func (in *lineInput) SetValue(s string) {
	in.value = []rune(s)
	if in.CharLimit > 0 && len(in.value) > in.CharLimit {
		in.value = in.value[:in.CharLimit]
	}
}

// Update edits the value on a key press; other messages are ignored.
func (in lineInput) Update(msg tea.Msg) (lineInput, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !in.focused {
		return in, nil
	}
	switch k.Type {
	case tea.KeyBackspace:
		if len(in.value) > 0 {
			in.value = in.value[:len(in.value)-1]
		}
	case tea.KeyCtrlU:
		in.value = in.value[:0]
	case tea.KeySpace:
		in.add(' ')
	case tea.KeyRunes:
		for _, r := range k.Runes {
			in.add(r)
		}
	}
	return in, nil
}

func (in *lineInput) add(r rune) {
	if r < 0x20 || r == 0x7f || r == utf8.RuneError {
		return
	}
	if in.CharLimit > 0 && len(in.value) >= in.CharLimit {
		return
	}
	in.value = append(in.value, r)
}

// View shows the prompt and the value's tail that fits Width, with a cursor when focused.
func (in lineInput) View() string {
	v := cell(string(in.value))
	if v == "" && in.Placeholder != "" && !in.focused {
		v = in.Placeholder
	}
	cur := ""
	if in.focused {
		cur = "_"
	}
	room := in.Width - ansi.StringWidth(in.Prompt) - 1
	if in.Width > 0 && room > 0 && ansi.StringWidth(v) > room {
		v = ansi.TruncateLeft(v, ansi.StringWidth(v)-room, "")
	}
	return in.Prompt + v + cur
}
