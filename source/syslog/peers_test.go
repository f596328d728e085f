package syslog

import (
	"net/netip"
	"testing"
)

func TestPeerTableIsBounded(t *testing.T) {
	pt := newPeerTable()
	for i := range MaxPeers + 40 {
		pc := pt.get(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		pc.records.Add(1)
	}
	// An IPv4-mapped IPv6 address is the same sender as its IPv4 form.
	pt.get(netip.MustParseAddr("::ffff:10.0.0.0")).records.Add(1)
	snap := pt.snapshot()
	if len(snap) != MaxPeers+1 {
		t.Fatalf("%d entries, want %d plus %q", len(snap), MaxPeers, OtherPeers)
	}
	last := snap[len(snap)-1]
	if last.Addr != OtherPeers || last.Records != 40 {
		t.Fatalf("pooled entry %+v, want %q with 40 records", last, OtherPeers)
	}
	var total uint64
	for _, p := range snap {
		total += p.Records
	}
	if total != MaxPeers+40+1 {
		t.Fatalf("records across peers %d, want %d", total, MaxPeers+41)
	}
	if n := pt.count(); n != MaxPeers+1 {
		t.Fatalf("count %d", n)
	}
}
