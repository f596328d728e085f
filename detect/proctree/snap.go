package proctree

// Snapshot returns the tree around k's process, as values (safe to hand to another
// goroutine): its ancestors from the root down, the process (Focus), all its
// descendants in preorder, and its siblings under the same parent in start order.
// A root whose parent left the tree (aged out, evicted) gets a Synthesized ancestor
// drawn from the PID and image its start event named. Bounded by MaxSnapshotNodes
// (see Snapshot.Truncated). An unknown or evicted key yields a Snapshot without nodes.
func (t *Tree) Snapshot(k Key) Snapshot {
	n := t.lookup(k)
	if n == nil {
		return Snapshot{Host: k.Host}
	}
	s := Snapshot{Host: n.host.name}

	var anc [maxAncestors]*node
	na := 0
	top := n
	for p := n.parent; p != nil; p = p.parent {
		if na == maxAncestors {
			for ; p != nil && s.Truncated < maxWalk; p = p.parent {
				s.Truncated++
			}
			break
		}
		anc[na] = p
		na++
		top = p
	}
	placeholder := s.Truncated == 0 && top.parent == nil && !top.synthesized && (top.ppid != 0 || top.parentImage != "")
	size := na + 1
	if placeholder {
		size++
	}
	s.Nodes = make([]Node, 0, min(MaxSnapshotNodes, size+8))
	depth := 0
	if placeholder {
		s.Nodes = append(s.Nodes, Node{PID: top.ppid, Image: top.parentImage, Synthesized: true, Role: RoleAncestor})
		depth++
	}
	for i := na - 1; i >= 0; i-- {
		s.Nodes = append(s.Nodes, anc[i].snap(depth, RoleAncestor))
		depth++
	}
	budget := MaxSnapshotNodes - len(s.Nodes) - 1

	// Descendants first (they are what the analyst follows), in preorder.
	var desc []Node
	d := depth + 1
	for c := n.firstChild; c != nil; {
		if budget > 0 {
			desc = append(desc, c.snap(d, RoleDescendant))
			budget--
		} else {
			s.Truncated++
		}
		if c.firstChild != nil {
			c, d = c.firstChild, d+1
			continue
		}
		for c != n && c.nextSib == nil {
			c, d = c.parent, d-1
		}
		if c == n {
			break
		}
		c = c.nextSib
	}

	// Then the siblings nearest the focus, alternating sides.
	var left, right []*node
	l, r := n.prevSib, n.nextSib
	for (l != nil || r != nil) && budget > 0 {
		if l != nil {
			left = append(left, l)
			l = l.prevSib
			budget--
		}
		if r != nil && budget > 0 {
			right = append(right, r)
			r = r.nextSib
			budget--
		}
	}
	for ; l != nil; l = l.prevSib {
		s.Truncated++
	}
	for ; r != nil; r = r.nextSib {
		s.Truncated++
	}

	for i := len(left) - 1; i >= 0; i-- {
		s.Nodes = append(s.Nodes, left[i].snap(depth, RoleSibling))
	}
	s.Focus = len(s.Nodes)
	s.Nodes = append(s.Nodes, n.snap(depth, RoleFocus))
	s.Nodes = append(s.Nodes, desc...)
	for _, x := range right {
		s.Nodes = append(s.Nodes, x.snap(depth, RoleSibling))
	}
	return s
}

func (n *node) snap(depth int, role Role) Node {
	return Node{
		Key:         n.key(),
		Depth:       depth,
		Role:        role,
		PID:         n.pid,
		GUID:        n.guid,
		Image:       n.image,
		CommandLine: n.cmd,
		User:        n.user,
		Start:       fromNano(n.start),
		Exit:        fromNano(n.exit),
		Exited:      n.exited,
		Synthesized: n.synthesized,
	}
}
