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
// shows the child's name; wider lists keep seconds and the full status.
func TestRenderRowKeepsChildName(t *testing.T) {
	as, _ := fixtureAlerts(t)
	a := as[1]
	a.Status, a.Reason, a.Count = triage.StatusClosed, triage.ReasonFalsePositive, 12
	l := newAlertList(theme.New(lipgloss.DefaultRenderer(), theme.Dark))
	child := baseName(a.Event.Process.Image)
	tests := []struct {
		width      int
		wantParts  []string
		wantAbsent []string
	}{
		{34, []string{"→" + child[:3], " FP", "x12"}, []string{"closed:"}},
		{60, []string{child, "closed:FP", "x12", ":58:00"}, nil},
	}
	for _, tc := range tests {
		line := l.renderRow(&row{a: a}, tc.width, false)
		if w := ansi.StringWidth(line); w > tc.width {
			t.Errorf("width %d: row is %d cells: %q", tc.width, w, line)
		}
		for _, p := range tc.wantParts {
			if !strings.Contains(line, p) {
				t.Errorf("width %d: row %q lacks %q", tc.width, line, p)
			}
		}
		for _, p := range tc.wantAbsent {
			if strings.Contains(line, p) {
				t.Errorf("width %d: row %q should not contain %q", tc.width, line, p)
			}
		}
	}
}
