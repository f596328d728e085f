package syslog

import (
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// MaxPeers bounds the per-peer statistics a feed keeps: senders beyond it are pooled
// under OtherPeers so a spoofed-source UDP flood cannot grow memory.
const MaxPeers = 64

// OtherPeers is the Addr of the pooled statistics of peers past MaxPeers.
const OtherPeers = "other"

// PeerStatus is a value snapshot of one sender's counters (keyed by IP address: a
// sender's port changes per connection).
type PeerStatus struct {
	Addr         string
	Records      uint64 // messages framed, including oversize and unframeable ones
	Bytes        uint64 // wire bytes
	DecodeErrors uint64
	Skipped      uint64 // oversize messages dropped
	Dropped      uint64 // decoded events dropped on a full queue
	Connections  uint64 // TCP/TLS connections accepted (UDP: 0)
	Disconnects  uint64 // connections ended (closed, idle, error)
	Refused      uint64 // connections refused (max connections, TLS handshake)
	Open         int64  // connections open now
	LastSeen     time.Time
}

type peerCounters struct {
	records, bytes, decodeErrors, skipped, dropped atomic.Uint64
	conns, disconnects, refused                    atomic.Uint64
	open                                           atomic.Int64
	lastSeen                                       atomic.Int64
}

func (pc *peerCounters) touch() { pc.lastSeen.Store(time.Now().UnixNano()) }

type peerTable struct {
	mu    sync.Mutex
	m     map[netip.Addr]*peerCounters
	other peerCounters
}

func newPeerTable() *peerTable { return &peerTable{m: make(map[netip.Addr]*peerCounters)} }

// get returns the counters for addr, creating them while under MaxPeers.
func (t *peerTable) get(addr netip.Addr) *peerCounters {
	addr = addr.Unmap()
	t.mu.Lock()
	defer t.mu.Unlock()
	if pc, ok := t.m[addr]; ok {
		return pc
	}
	if len(t.m) >= MaxPeers {
		return &t.other
	}
	pc := &peerCounters{}
	t.m[addr] = pc
	return pc
}

// count is the number of senders seen (those pooled under OtherPeers count once).
func (t *peerTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.m)
	if t.other.conns.Load()+t.other.records.Load()+t.other.refused.Load() > 0 {
		n++
	}
	return n
}

func (t *peerTable) snapshot() []PeerStatus {
	t.mu.Lock()
	out := make([]PeerStatus, 0, len(t.m)+1)
	for a, pc := range t.m {
		out = append(out, pc.status(a.String()))
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	if o := t.other.status(OtherPeers); o.Records+o.Connections+o.Refused > 0 {
		out = append(out, o)
	}
	return out
}

func (pc *peerCounters) status(addr string) PeerStatus {
	s := PeerStatus{
		Addr: addr, Records: pc.records.Load(), Bytes: pc.bytes.Load(),
		DecodeErrors: pc.decodeErrors.Load(), Skipped: pc.skipped.Load(), Dropped: pc.dropped.Load(),
		Connections: pc.conns.Load(), Disconnects: pc.disconnects.Load(), Refused: pc.refused.Load(),
		Open: pc.open.Load(),
	}
	if n := pc.lastSeen.Load(); n != 0 {
		s.LastSeen = time.Unix(0, n)
	}
	return s
}
