// Package proctree keeps a bounded per-host index of processes built from process
// start and end events, and hands out value snapshots of the tree around a process.
//
// Linking: Sysmon events link by ProcessGuid/ParentProcessGuid; events without GUIDs
// (4688) link by PID and time: the parent is the process that held the PID when the
// child started (a 4689/Sysmon 5 end, or a newer start with the same PID, ends a
// holder). A parent the tree has not seen is synthesized from the child's Parent*
// fields and merged when its own start arrives (by GUID, or by PID if it started no
// later than its first child). A Sysmon 1 and a 4688 of the same process (same host,
// PID and image, starts within 2 s) are one node.
//
// Bounds: MaxPerHost nodes per host (the oldest exited process is evicted first, then
// the oldest), exited processes age out ExitedTTL after their exit (event time),
// MaxHosts hosts, ancestor chains of at most 256, MaxSnapshotNodes per snapshot, and
// clipped field sizes. Evictions are counted in Stats.
package proctree

import "time"

// Config bounds the tree.
type Config struct {
	MaxPerHost int           // nodes kept per host; the oldest exited, then oldest, are evicted
	ExitedTTL  time.Duration // exited processes are aged out after this long (event time)
	MaxHosts   int           // hosts kept; the least recently active host is dropped whole
}

// Key names a node: the host and a tree-internal id, stable while the node lives.
type Key struct {
	Host string
	ID   uint64
}

// Role is a node's relation to the snapshot's focus.
type Role uint8

const (
	RoleAncestor Role = iota
	RoleFocus
	RoleDescendant
	RoleSibling
)

// Node is one process in a snapshot.
type Node struct {
	Key         Key
	Depth       int
	Role        Role
	PID         uint32
	GUID        string
	Image       string
	CommandLine string
	User        string
	Start, Exit time.Time
	Exited      bool
	// Synthesized marks an ancestor that started before the feed: known only from a
	// child's Parent* fields.
	Synthesized bool
}

// Snapshot is the tree around one process, in preorder, ready to draw: ancestors from
// the root down, then the focus, its descendants, and its siblings under the same parent.
type Snapshot struct {
	Host  string
	Nodes []Node
	Focus int // index of the focus node in Nodes
	// Truncated counts the processes left out to stay within MaxSnapshotNodes: the
	// deepest-last descendants in preorder, then the siblings farthest from the focus.
	Truncated int
}

// Stats counts the tree's size and evictions.
type Stats struct {
	Hosts, Nodes uint64
	// Evicted counts processes dropped to honour MaxPerHost or MaxHosts.
	Evicted uint64
	// AgedOut counts exited processes dropped after ExitedTTL (normal operation).
	AgedOut uint64
}
