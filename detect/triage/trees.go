package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-soc/vigil/detect/proctree"
)

// MaxTreeLen bounds one alert's stored tree snapshot (JSON). proctree caps a snapshot at
// MaxSnapshotNodes, but with long command lines that can still be megabytes: SaveTrees
// clips a larger one (see fitTree) and Trees refuses one it finds over the limit.
const MaxTreeLen = 256 << 10

// maxTreeIDs bounds how many alert ids one Trees query binds at a time (SQLite's
// variable limit is 32766; stay well under it).
const maxTreeIDs = 500

// treeWire is the stored form of a proctree.Snapshot. It is ours rather than the
// snapshot's own JSON so a renamed proctree field cannot silently drop stored data; V
// says which form a blob has.
type treeWire struct {
	V         int        `json:"v"`
	Host      string     `json:"host"`
	Focus     int        `json:"focus"`
	Truncated int        `json:"truncated,omitempty"`
	Nodes     []nodeWire `json:"nodes"`
}

type nodeWire struct {
	Host        string `json:"host,omitempty"` // only when not the snapshot's host
	ID          uint64 `json:"id,omitempty"`
	Depth       int    `json:"depth"`
	Role        uint8  `json:"role"`
	PID         uint32 `json:"pid,omitempty"`
	GUID        string `json:"guid,omitempty"`
	Image       string `json:"image,omitempty"`
	CommandLine string `json:"cmd,omitempty"`
	User        string `json:"user,omitempty"`
	Start       int64  `json:"start,omitempty"` // UTC nanoseconds
	Exit        int64  `json:"exit,omitempty"`
	Exited      bool   `json:"exited,omitempty"`
	Synthesized bool   `json:"synth,omitempty"`
}

const treeWireVersion = 1

func toWire(s proctree.Snapshot) treeWire {
	w := treeWire{V: treeWireVersion, Host: s.Host, Focus: s.Focus, Truncated: s.Truncated,
		Nodes: make([]nodeWire, len(s.Nodes))}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		nw := nodeWire{ID: n.Key.ID, Depth: n.Depth, Role: uint8(n.Role), PID: n.PID, GUID: n.GUID,
			Image: n.Image, CommandLine: n.CommandLine, User: n.User,
			Start: toNanos(n.Start), Exit: toNanos(n.Exit), Exited: n.Exited, Synthesized: n.Synthesized}
		if n.Key.Host != s.Host {
			nw.Host = n.Key.Host
		}
		w.Nodes[i] = nw
	}
	return w
}

// encodeTree encodes s for the store, fitting it within MaxTreeLen.
func encodeTree(s proctree.Snapshot) ([]byte, error) {
	w := toWire(s)
	// A cheap lower bound on the encoded size spares marshalling megabytes only to
	// throw them away: an oversized snapshot goes straight to fitTree.
	est := 0
	for i := range w.Nodes {
		n := &w.Nodes[i]
		est += len(n.Host) + len(n.GUID) + len(n.Image) + len(n.CommandLine) + len(n.User)
	}
	if est > MaxTreeLen {
		return fitTree(w)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	if len(b) <= MaxTreeLen {
		return b, nil
	}
	return fitTree(w)
}

// clipped sizes used only when a snapshot is over MaxTreeLen: enough to recognise a
// process in the tree pane; the alert's own record keeps its full command line.
const (
	fitCommand = 512
	fitImage   = 260
	fitUser    = 128
)

// fitTree makes an oversized snapshot fit MaxTreeLen: first it clips command lines,
// images and users, then drops nodes after the focus from the end of the preorder (the
// siblings farthest from it, then the deepest-last descendants, as proctree does), then
// the ancestors nearest the root. Every dropped node is counted in Truncated.
func fitTree(w treeWire) ([]byte, error) {
	for i := range w.Nodes {
		n := &w.Nodes[i]
		n.CommandLine = clipString(n.CommandLine, fitCommand)
		n.Image = clipString(n.Image, fitImage)
		n.User = clipString(n.User, fitUser)
	}
	b, err := json.Marshal(w)
	if err != nil || len(b) <= MaxTreeLen {
		return b, err
	}
	// Nodes are similar in size after clipping: estimate how many fit, then trim until
	// it does (a few rounds at most).
	for len(b) > MaxTreeLen {
		keep := len(w.Nodes) * MaxTreeLen / len(b)
		if keep >= len(w.Nodes) {
			keep = len(w.Nodes) - 1
		}
		if keep < 1 {
			return nil, fmt.Errorf("tree snapshot of %d bytes does not fit %d even as one node", len(b), MaxTreeLen)
		}
		drop := len(w.Nodes) - keep
		tail := len(w.Nodes) - (w.Focus + 1) // nodes after the focus
		fromTail := min(drop, tail)
		w.Nodes = w.Nodes[:len(w.Nodes)-fromTail]
		w.Truncated += fromTail
		if head := drop - fromTail; head > 0 {
			head = min(head, w.Focus)
			w.Nodes = w.Nodes[head:]
			w.Focus -= head
			w.Truncated += head
			if len(w.Nodes) > 0 {
				// The new root is drawn at depth 0.
				d := w.Nodes[0].Depth
				for i := range w.Nodes {
					w.Nodes[i].Depth = max(w.Nodes[i].Depth-d, 0)
				}
			}
		}
		if b, err = json.Marshal(w); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// clipString cuts s to at most n bytes on a rune boundary.
func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// decodeTree reads a stored snapshot. The store file is the user's own, but it is
// checked like any input: size, version, node count, and a focus inside the nodes, so a
// damaged blob gives an error instead of a snapshot the tree pane cannot draw.
func decodeTree(b []byte) (proctree.Snapshot, error) {
	if len(b) > MaxTreeLen {
		return proctree.Snapshot{}, fmt.Errorf("%d bytes is over the %d limit", len(b), MaxTreeLen)
	}
	var w treeWire
	if err := json.Unmarshal(b, &w); err != nil {
		return proctree.Snapshot{}, fmt.Errorf("decode: %w", err)
	}
	if w.V != treeWireVersion {
		return proctree.Snapshot{}, fmt.Errorf("unknown tree version %d (want %d)", w.V, treeWireVersion)
	}
	if len(w.Nodes) > proctree.MaxSnapshotNodes {
		return proctree.Snapshot{}, fmt.Errorf("%d nodes is over the %d limit", len(w.Nodes), proctree.MaxSnapshotNodes)
	}
	if len(w.Nodes) > 0 && (w.Focus < 0 || w.Focus >= len(w.Nodes)) {
		return proctree.Snapshot{}, fmt.Errorf("focus %d is outside its %d nodes", w.Focus, len(w.Nodes))
	}
	if len(w.Nodes) == 0 && w.Focus != 0 {
		return proctree.Snapshot{}, fmt.Errorf("focus %d in a tree without nodes", w.Focus)
	}
	if w.Truncated < 0 {
		return proctree.Snapshot{}, fmt.Errorf("negative truncated count %d", w.Truncated)
	}
	s := proctree.Snapshot{Host: w.Host, Focus: w.Focus, Truncated: w.Truncated}
	if len(w.Nodes) > 0 {
		s.Nodes = make([]proctree.Node, len(w.Nodes))
	}
	for i := range w.Nodes {
		nw := &w.Nodes[i]
		if nw.Depth < 0 || nw.Depth > proctree.MaxSnapshotNodes {
			return proctree.Snapshot{}, fmt.Errorf("node %d: depth %d out of range", i, nw.Depth)
		}
		if nw.Role > uint8(proctree.RoleSibling) {
			return proctree.Snapshot{}, fmt.Errorf("node %d: unknown role %d", i, nw.Role)
		}
		host := nw.Host
		if host == "" {
			host = w.Host
		}
		s.Nodes[i] = proctree.Node{
			Key: proctree.Key{Host: host, ID: nw.ID}, Depth: nw.Depth, Role: proctree.Role(nw.Role),
			PID: nw.PID, GUID: nw.GUID, Image: nw.Image, CommandLine: nw.CommandLine, User: nw.User,
			Start: fromNanos(nw.Start), Exit: fromNanos(nw.Exit), Exited: nw.Exited, Synthesized: nw.Synthesized,
		}
	}
	return s, nil
}

// SaveTrees stores the latest process-tree snapshot of each alert in trees (by alert
// id), in one transaction, replacing the one stored before. Only alerts already in the
// store are updated: a tree is never stored without its alert, and an unknown id is
// skipped (the engine writes alerts before their trees). A snapshot over MaxTreeLen is
// clipped to fit (fitTree) and says so in its Truncated count.
func (s *Store) SaveTrees(ctx context.Context, trees map[string]proctree.Snapshot) error {
	if len(trees) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save trees in %s: %w", s.path, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, "UPDATE alerts SET tree = ? WHERE id = ?")
	if err != nil {
		return fmt.Errorf("save trees in %s: %w", s.path, err)
	}
	defer st.Close()
	for id, snap := range trees {
		if id == "" {
			return fmt.Errorf("save trees: %w", invalidf("empty alert id"))
		}
		b, err := encodeTree(snap)
		if err != nil {
			return fmt.Errorf("save tree of alert %s: %w", id, err)
		}
		if _, err := st.ExecContext(ctx, b, id); err != nil {
			return fmt.Errorf("save tree of alert %s in %s: %w", id, s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save trees in %s: %w", s.path, err)
	}
	return nil
}

// Trees returns the stored snapshots of the alerts in ids that have one. An alert
// without a stored tree (or unknown) is absent from the map. A stored tree that cannot
// be read is left out and named in the error, which joins every such problem, while the
// rest are still returned: one damaged row does not hide the others.
func (s *Store) Trees(ctx context.Context, ids []string) (map[string]proctree.Snapshot, error) {
	out := make(map[string]proctree.Snapshot)
	var bad []error
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxTreeIDs)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := "SELECT id, tree FROM alerts WHERE tree IS NOT NULL AND id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return out, fmt.Errorf("read trees from %s: %w", s.path, err)
		}
		for rows.Next() {
			var id string
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				rows.Close()
				return out, fmt.Errorf("read trees from %s: %w", s.path, err)
			}
			snap, err := decodeTree(b)
			if err != nil {
				bad = append(bad, fmt.Errorf("tree of alert %s in %s: %w", id, s.path, err))
				continue
			}
			out[id] = snap
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, fmt.Errorf("read trees from %s: %w", s.path, err)
		}
	}
	return out, errors.Join(bad...)
}
