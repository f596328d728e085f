package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

// drawBoxes draws each pane's outline on a w x h canvas with its initial, so a layout
// case reads as a picture.
func drawBoxes(w, h int, p panes) string {
	if p.TooSmall {
		return "too small"
	}
	grid := make([][]byte, h)
	for y := range grid {
		grid[y] = []byte(strings.Repeat(" ", w))
	}
	box := func(r rect, c byte) {
		for y := r.Y; y < r.Y+r.H; y++ {
			for x := r.X; x < r.X+r.W; x++ {
				edge := y == r.Y || y == r.Y+r.H-1 || x == r.X || x == r.X+r.W-1
				if edge && grid[y][x] == ' ' {
					grid[y][x] = c
				}
			}
		}
	}
	box(p.Header, 'H')
	box(p.Alerts, 'A')
	box(p.Tree, 'T')
	box(p.Detail, 'D')
	box(p.Footer, 'F')
	lines := make([]string, h)
	for y := range grid {
		lines[y] = strings.TrimRight(string(grid[y]), " ")
	}
	return strings.Join(lines, "\n")
}

func TestLayout(t *testing.T) {
	cases := []struct {
		name string
		w, h int
	}{
		{"80x24", 80, 24},
		{"120x40", 120, 40},
		{"200x60", 200, 60},
		{"too_small", 79, 24},
		{"negative", -5, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := layout(c.w, c.h, layoutState{})
			// The drawings live in testdata/TestLayout/*.golden (go test ./ui -update).
			golden.RequireEqual(t, []byte(drawBoxes(max(c.w, 0), max(c.h, 0), p)))
			if p.TooSmall {
				return
			}
			// Panes tile the body exactly: no overlap, no gap, nothing negative.
			if p.Alerts.W+p.Tree.W != c.w || p.Tree.W != p.Detail.W || p.Tree.H+p.Detail.H != p.Alerts.H || p.Alerts.H+2 != c.h {
				t.Errorf("panes do not tile %dx%d: %+v", c.w, c.h, p)
			}
			for _, r := range []rect{p.Header, p.Alerts, p.Tree, p.Detail, p.Footer} {
				if r.W < 0 || r.H < 0 {
					t.Errorf("negative rect %+v", r)
				}
			}
		})
	}
}
