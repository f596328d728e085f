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
	prefixes := treePrefixes(snap.Nodes, g)
	lines := make([]string, 0, end-top)
	for i := top; i < end; i++ {
		n := &snap.Nodes[i]
		cur := " "
		if i == cursor {
			cur = g.TreeCursor
		}
		indent := prefixes[i]
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

// treePrefixes computes each node's connector from the preorder depths: "├ " for a
// child with later siblings, "└ " for the last, and "│ " where an ancestor's later
// siblings continue below. Depths that jump are treated as one level deeper.
func treePrefixes(nodes []proctree.Node, g theme.Glyphs) []string {
	n := len(nodes)
	last := make([]bool, n)
	for i := range nodes {
		last[i] = true
		for j := i + 1; j < n; j++ {
			if nodes[j].Depth < nodes[i].Depth {
				break
			}
			if nodes[j].Depth == nodes[i].Depth {
				last[i] = false
				break
			}
		}
	}
	out := make([]string, n)
	var open []bool // per level above the node: does that ancestor have later siblings
	for i, nd := range nodes {
		d := max(nd.Depth, 0)
		if d == 0 {
			open = open[:0]
			continue
		}
		for len(open) < d-1 {
			open = append(open, false)
		}
		open = open[:d-1]
		var b strings.Builder
		for _, o := range open {
			if o {
				b.WriteString(g.Pipe)
			} else {
				b.WriteString("  ")
			}
		}
		if last[i] {
			b.WriteString(g.Branch)
		} else {
			b.WriteString(g.BranchMid)
		}
		out[i] = b.String()
		open = append(open, !last[i])
	}
	return out
}
