package ui

// Minimum terminal size (DESIGN.md): below it the UI says so instead of drawing panes.
const (
	minWidth  = 80
	minHeight = 24
)

// rect is a pane's outer box on screen, borders included.
type rect struct{ X, Y, W, H int }

// contains reports whether the cell (x, y) is inside r.
func (r rect) contains(x, y int) bool { return x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H }

// panes is where everything goes for one terminal size.
type panes struct {
	TooSmall                     bool
	Header, Alerts, Tree, Detail rect
	Footer                       rect
}

// layoutState is what of the model's state changes the layout.
type layoutState struct {
	// Wide gives the alert list more room (the tree and detail still show).
	Wide bool
}

// layout splits a w x h terminal: a one-line header (feeds and totals), the alert list
// on the left, the process tree above the detail pane on the right, a one-line footer
// (help or flash). It never returns a negative size.
func layout(w, h int, st layoutState) panes {
	w, h = max(w, 0), max(h, 0)
	if w < minWidth || h < minHeight {
		return panes{TooSmall: true, Header: rect{W: w, H: min(h, 1)}}
	}
	body := h - 2
	leftW := w * 2 / 5
	if st.Wide {
		leftW = w / 2
	}
	leftW = max(leftW, 36)
	rightW := w - leftW
	treeH := max(body*2/5, 6)
	return panes{
		Header: rect{X: 0, Y: 0, W: w, H: 1},
		Alerts: rect{X: 0, Y: 1, W: leftW, H: body},
		Tree:   rect{X: leftW, Y: 1, W: rightW, H: treeH},
		Detail: rect{X: leftW, Y: 1 + treeH, W: rightW, H: body - treeH},
		Footer: rect{X: 0, Y: h - 1, W: w, H: 1},
	}
}
