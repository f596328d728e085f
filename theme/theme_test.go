package theme

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func TestParsePalette(t *testing.T) {
	for in, want := range map[string]Palette{"": Auto, "auto": Auto, "dark": Dark, "LIGHT": Light} {
		got, err := ParsePalette(in)
		if err != nil || got != want {
			t.Errorf("ParsePalette(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePalette("neon"); err == nil || !strings.Contains(err.Error(), "neon") {
		t.Errorf("ParsePalette(neon) error = %v, want one naming the value", err)
	}
}

func TestNoColor(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"empty", nil, false},
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, true},
		{"CLICOLOR=0", map[string]string{"CLICOLOR": "0"}, true},
		{"CLICOLOR=0 forced", map[string]string{"CLICOLOR": "0", "CLICOLOR_FORCE": "1"}, false},
		{"CLICOLOR=1", map[string]string{"CLICOLOR": "1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := NoColor(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("NoColor = %v, want %v", got, c.want)
			}
		})
	}
}

func TestApplyColorMode(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	ApplyColorMode(r, ColorAuto, env(map[string]string{"NO_COLOR": "1"}))
	if r.ColorProfile() != termenv.Ascii {
		t.Errorf("auto with NO_COLOR: profile %v, want Ascii", r.ColorProfile())
	}
	ApplyColorMode(r, ColorAlways, env(nil))
	if r.ColorProfile() != termenv.ANSI256 {
		t.Errorf("always: profile %v, want ANSI256", r.ColorProfile())
	}
	ApplyColorMode(r, ColorNever, env(nil))
	if r.ColorProfile() != termenv.Ascii {
		t.Errorf("never: profile %v, want Ascii", r.ColorProfile())
	}
	if _, err := ParseColorMode("sometimes"); err == nil {
		t.Error("ParseColorMode(sometimes) accepted")
	}
}

// Meaning never rides on colour alone: with the Ascii profile the words still differ.
func TestSeverityWordsWithoutColor(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	for _, p := range []Palette{Dark, Light, Auto} {
		s := New(r, p)
		got := []string{s.Severity("critical"), s.Severity("high"), s.Severity("medium"), s.Severity("low"), s.Severity("informational"), s.Severity("bogus")}
		want := []string{"CRIT", "HIGH", "MED ", "LOW ", "INFO", "INFO"}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%v: severity %d = %q, want %q", p, i, got[i], want[i])
			}
		}
	}
	r.SetColorProfile(termenv.ANSI256)
	if s := New(r, Dark); s.Severity("high") == "HIGH" {
		t.Error("ANSI256 severity carries no colour")
	}
}
