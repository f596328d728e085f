package theme

import (
	"fmt"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// ColorMode is the --color flag: auto follows the terminal and NO_COLOR / CLICOLOR.
type ColorMode uint8

const (
	ColorAuto ColorMode = iota
	ColorAlways
	ColorNever
)

// ParseColorMode reads a --color value.
func ParseColorMode(s string) (ColorMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return ColorAuto, nil
	case "always":
		return ColorAlways, nil
	case "never":
		return ColorNever, nil
	}
	return ColorAuto, fmt.Errorf("color %q: want auto, always or never", s)
}

// ApplyColorMode sets r's colour profile for mode. Auto keeps what termenv detected
// (which honours NO_COLOR, CLICOLOR=0 and CLICOLOR_FORCE); always forces at least
// ANSI 256 unless the terminal reports more; never drops to the Ascii profile.
func ApplyColorMode(r *lipgloss.Renderer, mode ColorMode, getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch mode {
	case ColorNever:
		r.SetColorProfile(termenv.Ascii)
	case ColorAlways:
		if r.ColorProfile() == termenv.Ascii {
			r.SetColorProfile(termenv.ANSI256)
		}
	default:
		if NoColor(getenv) {
			r.SetColorProfile(termenv.Ascii)
		}
	}
}

// NoColor reports whether the environment asks for no colour: NO_COLOR set to anything
// non-empty, or CLICOLOR=0 without CLICOLOR_FORCE.
func NoColor(getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return true
	}
	force := getenv("CLICOLOR_FORCE")
	return getenv("CLICOLOR") == "0" && (force == "" || force == "0")
}
