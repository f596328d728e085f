package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/vigil-soc/vigil/detect/triage"
	"github.com/vigil-soc/vigil/theme"
)

// TestRenderRowKeepsChildName: at the 80x24 list width a closed, repeated alert still
// shows the child's name and its status; wider lists keep seconds and the full status.
// A suppressed alert keeps a visible tag at every width.
func TestRenderRowKeepsChildName(t *testing.T) {
	as, _ := fixtureAlerts(t)
	base := as[1]
	base.Status, base.Reason, base.Count = triage.StatusClosed, triage.ReasonFalsePositive, 12
	l := newAlertList(theme.New(lipgloss.DefaultRenderer(), theme.Dark))
	child := baseName(base.Event.Process.Image)
	tests := []struct {
		name       string
		suppressed bool
		width      int
		want, not  []string
	}{
		{"narrow", false, 34, []string{"→" + child[:3], " FP", "x12"}, []string{"closed:", ":58:00"}},
		{"wide", false, 60, []string{child, "closed:FP", "x12", ":58:00"}, nil},
		{"narrow suppressed", true, 34, []string{"→" + child[:2], " FP", "x12", "SUPP"}, []string{"closed:"}},
		{"wide suppressed", true, 80, []string{child, "closed:FP", "SUPPRESSED"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			a.Suppressed = tc.suppressed
			line := l.renderRow(&row{a: a}, tc.width, false)
			if w := ansi.StringWidth(line); w > tc.width {
				t.Errorf("row is %d cells, wider than %d: %q", w, tc.width, line)
			}
			for _, p := range tc.want {
				if !strings.Contains(line, p) {
					t.Errorf("row %q lacks %q", line, p)
				}
			}
			for _, p := range tc.not {
				if strings.Contains(line, p) {
					t.Errorf("row %q should not contain %q", line, p)
				}
			}
		})
	}
}
