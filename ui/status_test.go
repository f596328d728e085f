package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/vigil-soc/vigil/detect"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/theme"
)

// TestRenderHeaderFeedStates: each feed shows its state in words; a reconnecting dialer
// shows its countdown and gap, an erroring feed why, and a hostile detail is escaped.
func TestRenderHeaderFeedStates(t *testing.T) {
	st := theme.New(lipgloss.DefaultRenderer(), theme.Dark)
	tests := []struct {
		name string
		feed source.Status
		want []string
		not  []string
	}{
		{"listening", source.Status{Name: "tcp://0.0.0.0:1514", State: source.StateListening}, []string{"tcp://0.0.0.0:1514", "listening"}, nil},
		{"reconnecting", source.Status{Name: "tls://relay:6514", State: source.StateReconnecting,
			Detail: "reconnecting in 4s; 3 disconnects, gap 12s total; dial tcp: connection refused"},
			[]string{"reconnecting in 4s; 3 disconnects, gap 12s total"}, []string{"connection refused"}},
		{"error", source.Status{Name: "file:x.json", State: source.StateError, Detail: "open x.json: permission denied"},
			[]string{"error: open x.json: permission denied"}, nil},
		{"hostile detail", source.Status{Name: "tcp://:1514", State: source.StateError, Detail: "peer \x1b]0;pwned\x07"},
			[]string{`\x1b]0;pwned\x07`}, []string{"\x1b]0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := renderHeader([]feedView{{st: tc.feed}}, detect.Stats{}, 0, 0, 0, false, 200, st)
			plain := ansi.Strip(line)
			for _, w := range tc.want {
				if !strings.Contains(plain, w) {
					t.Errorf("header %q lacks %q", plain, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(line, n) {
					t.Errorf("header %q should not contain %q", line, n)
				}
			}
		})
	}
}
