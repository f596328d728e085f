package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/theme"
)

// renderTree draws a process-tree snapshot in a width x height box: one process per line,
// indented by depth, the alerting process marked with the Selected glyph, the cursor
// (when >= 0) with the TreeCursor glyph; PID, image name, and the command line cut to the
// pane. Synthesized ancestors read "(before feed)", exited processes "(exited)". The
// window scrolls to keep the cursor (or else the focus) visible. It is a pure function of
// its arguments.
func renderTree(snap proctree.Snapshot, width, height, cursor int, st *theme.Styles) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	if len(snap.Nodes) == 0 {
		return st.Muted.Render(ansi.Truncate("no process tree for this alert", width, st.Glyphs.Ellipsis))
	}
	keep := cursor
	if keep < 0 || keep >= len(snap.Nodes) {
		keep = snap.Focus
	}
	top := 0
	if keep >= height {
		top = keep - height + 1
	}
	end := min(top+height, len(snap.Nodes))
	g := st.Glyphs
	lines := make([]string, 0, end-top)
	for i := top; i < end; i++ {
		n := &snap.Nodes[i]
		cur := " "
		if i == cursor {
			cur = g.TreeCursor
		}
		indent := ""
		if n.Depth > 0 {
			indent = strings.Repeat("  ", n.Depth-1) + g.Branch
		}
		focus := ""
		if n.Role == proctree.RoleFocus {
			focus = g.Selected
		}
		name := cell(baseName(n.Image))
		if name == "" {
			name = "?"
		}
		label := name + " (" + strconv.FormatUint(uint64(n.PID), 10) + ")"
		var marks string
		if n.Synthesized {
			marks += " (before feed)"
		}
		if n.Exited {
			marks += " (exited)"
		}
		head := cur + indent + focus + label + marks
		head = ansi.Truncate(head, width, g.Ellipsis)
		rest := width - ansi.StringWidth(head)
		cmd := ""
		if rest > 4 && n.CommandLine != "" {
			cmd = " " + ansi.Truncate(cell(n.CommandLine), rest-1, g.Ellipsis)
		}
		// Style after measuring: the label's style follows the node's role.
		styled := head
		switch {
		case n.Role == proctree.RoleFocus:
			styled = st.Focus.Render(head)
		case n.Synthesized || n.Exited:
			styled = st.Synthesized.Render(head)
		}
		line := styled + st.Muted.Render(cmd)
		if i == cursor {
			line = st.Selected.Render(head + cmd)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
