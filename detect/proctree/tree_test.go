package proctree

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

const (
	services = `C:\Windows\System32\services.exe`
	dnsExe   = `C:\Windows\System32\dns.exe`
	cmdExe   = `C:\Windows\System32\cmd.exe`
	whoami   = `C:\Windows\System32\whoami.exe`
)

func start(at time.Duration, pid, ppid uint32, image, parentImage string) *source.Event {
	return &source.Event{
		Time: t0.Add(at), Host: "dc01", Kind: source.KindProcessStart, EventID: 4688,
		Process: source.Process{PID: pid, Image: image, CommandLine: image + " /x"},
		Parent:  source.Parent{PID: ppid, Image: parentImage},
	}
}

func sysmon(at time.Duration, guid string, pid uint32, image, pguid string, ppid uint32, parentImage string) *source.Event {
	return &source.Event{
		Time: t0.Add(at), Host: "dc01", Kind: source.KindProcessStart, EventID: 1,
		Process: source.Process{GUID: guid, PID: pid, Image: image},
		Parent:  source.Parent{GUID: pguid, PID: ppid, Image: parentImage},
	}
}

func end(at time.Duration, pid uint32) *source.Event {
	return &source.Event{Time: t0.Add(at), Host: "dc01", Kind: source.KindProcessEnd, EventID: 4689, Process: source.Process{PID: pid}}
}

// observe runs ev the way the engine does: Enrich, then Observe.
func observe(t testing.TB, tr *Tree, ev *source.Event) Key {
	t.Helper()
	tr.Enrich(ev)
	k, _ := tr.Observe(ev)
	if ev.Kind == source.KindProcessStart && k == (Key{}) {
		t.Fatalf("Observe(%+v) returned the zero key", ev.Process)
	}
	checkInvariants(t, tr)
	return k
}

// checkInvariants walks every node: counts, lists, maps and parent/child links agree.
func checkInvariants(t testing.TB, tr *Tree) {
	t.Helper()
	total := 0
	for name, h := range tr.hosts {
		if h.name != name {
			t.Fatalf("host %q filed under %q", h.name, name)
		}
		n := 0
		for _, l := range []*list{&h.live, &h.exited} {
			var prev *node
			for x := l.head; x != nil; x = x.lnext {
				n++
				if x.lprev != prev || x.host != h || (l == &h.exited) != x.exited {
					t.Fatalf("host %s: list corrupt at pid %d", name, x.pid)
				}
				if x.parent != nil && x.parent.host != h {
					t.Fatalf("pid %d: parent on another host", x.pid)
				}
				kids := 0
				for c := x.firstChild; c != nil; c = c.nextSib {
					if c.parent != x {
						t.Fatalf("pid %d: child %d does not point back", x.pid, c.pid)
					}
					kids++
					if kids > h.n {
						t.Fatalf("pid %d: child list loops", x.pid)
					}
				}
				if got := tr.lookup(x.key()); got != x {
					t.Fatalf("pid %d: key does not resolve", x.pid)
				}
				if x.guid != "" && h.byGUID[x.guid] != x {
					t.Fatalf("pid %d: guid %s not indexed", x.pid, x.guid)
				}
				prev = x
			}
			if l.tail != prev {
				t.Fatalf("host %s: list tail corrupt", name)
			}
		}
		if n != h.n {
			t.Fatalf("host %s: %d nodes listed, %d counted", name, n, h.n)
		}
		if h.n > tr.cfg.MaxPerHost {
			t.Fatalf("host %s: %d nodes over the cap %d", name, h.n, tr.cfg.MaxPerHost)
		}
		total += n
	}
	if uint64(total) != tr.stats.Nodes {
		t.Fatalf("Stats.Nodes = %d; %d nodes in the tree", tr.stats.Nodes, total)
	}
}

func images(s Snapshot) []string {
	var out []string
	for _, n := range s.Nodes {
		img := n.Image[strings.LastIndexByte(n.Image, '\\')+1:]
		mark := ""
		switch n.Role {
		case RoleFocus:
			mark = "*"
		case RoleSibling:
			mark = "~"
		}
		if n.Synthesized {
			mark += "?"
		}
		if n.Exited {
			mark += "x"
		}
		out = append(out, fmt.Sprintf("%d:%s%s(%d)", n.Depth, mark, img, n.PID))
	}
	return out
}

func TestOTRFSysmonGUIDLinking(t *testing.T) {
	for _, file := range []string{
		"psh_control_panel_execution_2020-10-2201312134.process-create.ndjson",
		"covenant_wmi_wbemcomn_dll_hijack_2020-10-09173318.process-create.ndjson",
	} {
		t.Run(file[:20], func(t *testing.T) {
			evs := only(loadFlat(t, file), 1)
			started := map[string]bool{}
			host := map[string]string{} // guid -> host: the file mixes hosts
			for _, ev := range evs {
				started[ev.Process.GUID] = true
				host[ev.Process.GUID] = ev.Host
			}
			parentsOnly := map[string]bool{}
			for _, ev := range evs {
				if !started[ev.Parent.GUID] {
					parentsOnly[ev.Parent.GUID] = true
				}
			}
			inOrder := New(Config{})
			links := map[string]string{}
			for i := range evs {
				ev := evs[i]
				k := observe(t, inOrder, &ev)
				n := inOrder.lookup(k)
				if n.guid != ev.Process.GUID || n.parent == nil || n.parent.guid != ev.Parent.GUID || n.parent.image != ev.Parent.Image {
					t.Fatalf("event %d %s: node %+v parent %+v; want parent %s %s", i, ev.Process.Image, n, n.parent, ev.Parent.GUID, ev.Parent.Image)
				}
				links[n.guid] = n.parent.guid
			}
			if got, want := inOrder.Stats().Nodes, uint64(len(started)+len(parentsOnly)); got != want {
				t.Errorf("nodes = %d; want %d processes + %d synthesized ancestors", got, len(started), len(parentsOnly))
			}
			synth := 0
			for _, h := range inOrder.hosts {
				for _, n := range h.byGUID {
					if n.synthesized {
						synth++
						if !parentsOnly[n.guid] {
							t.Errorf("%s synthesized though its start was observed", n.guid)
						}
					}
				}
			}
			if synth != len(parentsOnly) {
				t.Errorf("synthesized = %d; want %d", synth, len(parentsOnly))
			}

			// Reverse order: every child arrives before its parent. The real starts must
			// merge into the synthesized placeholders: same links, same node count.
			rev := New(Config{})
			for i := len(evs) - 1; i >= 0; i-- {
				ev := evs[i]
				observe(t, rev, &ev)
			}
			if rev.Stats().Nodes != inOrder.Stats().Nodes {
				t.Errorf("reverse order: %d nodes; in order %d", rev.Stats().Nodes, inOrder.Stats().Nodes)
			}
			for child, parent := range links {
				n := rev.hosts[host[child]].byGUID[child]
				if n == nil || n.synthesized || n.parent == nil || n.parent.guid != parent {
					t.Errorf("reverse order: %s -> %+v; want parent %s", child, n, parent)
				}
			}
		})
	}
}

func TestOTRF4688PIDLinkingAndEnrich(t *testing.T) {
	for _, tc := range []struct {
		file     string
		enriched int // 4688 whose creator started earlier in the file
	}{
		{"psh_control_panel_execution_2020-10-2201312134.process-create.ndjson", 5},
		// Three hosts: only same-host creators count (WORKSTATION5's 0x3b4 is not MORDORDC's).
		{"covenant_wmi_wbemcomn_dll_hijack_2020-10-09173318.process-create.ndjson", 6},
	} {
		t.Run(tc.file[:20], func(t *testing.T) {
			evs := only(loadFlat(t, tc.file), 4688)
			slices.SortStableFunc(evs, func(a, b source.Event) int { return a.Time.Compare(b.Time) })
			tr := New(Config{})
			got := 0
			for i := range evs {
				ev := evs[i]
				want := ev.Parent.Image
				ev.Parent.Image = "" // as 4688 version 0/1 records it
				filled := tr.Enrich(&ev)
				if filled {
					got++
					if !strings.EqualFold(ev.Parent.Image, want) {
						t.Errorf("%s (pid %#x): parent from tree %q; the record says %q", ev.Process.Image, ev.Process.PID, ev.Parent.Image, want)
					}
				} else if ev.Parent.Image != "" {
					t.Errorf("Enrich returned false but set %q", ev.Parent.Image)
				}
				observe(t, tr, &ev)
			}
			if got != tc.enriched {
				t.Errorf("enriched %d events; want %d", got, tc.enriched)
			}
		})
	}
}

func TestEVTX4688v1Chain(t *testing.T) {
	evs := loadXML4688(t, "DE_RDP_Tunnel_5156.process-create.xml")
	if len(evs) != 17 {
		t.Fatalf("%d records; want 17", len(evs))
	}
	tr := New(Config{})
	keys := map[uint32]Key{}
	for i := range evs {
		if evs[i].Parent.Image != "" {
			t.Fatalf("record %d has a parent name; the fixture is 4688 v1", i)
		}
		keys[evs[i].Process.PID] = observe(t, tr, &evs[i])
	}
	// LogonUI (0xc70) <- winlogon (0x4b8) <- smss (0x38c) <- session manager 0x124, which
	// started before the capture.
	for pid, want := range map[uint32]string{0xc70: `C:\Windows\System32\winlogon.exe`, 0x4b8: `C:\Windows\System32\smss.exe`, 0x9d4: `C:\Windows\System32\smss.exe`} {
		var ev source.Event
		for _, e := range evs {
			if e.Process.PID == pid {
				ev = e
				ev.Parent.Image = "" // observe enriched the stored copy
			}
		}
		if !tr.Enrich(&ev) || ev.Parent.Image != want {
			t.Errorf("pid %#x: parent %q; want %q", pid, ev.Parent.Image, want)
		}
	}
	got := images(tr.Snapshot(keys[0x9d4]))
	want := []string{"0:?(292)", "1:smss.exe(908)", "2:*csrss.exe(2516)", "2:~winlogon.exe(1208)"}
	if !slices.Equal(got, want) {
		t.Errorf("csrss snapshot = %v; want %v", got, want)
	}
	got = images(tr.Snapshot(keys[0x124]))
	if len(got) != 0 {
		t.Errorf("0x124 was never started: its key should not exist, got %v", got)
	}
	// Both session smss.exe hang under the one synthesized 0x124.
	s := tr.Snapshot(keys[0x38c])
	got = images(s)
	want = []string{"0:?(292)", "1:*smss.exe(908)", "2:csrss.exe(2516)", "2:winlogon.exe(1208)", "3:LogonUI.exe(3184)", "1:~smss.exe(1580)"}
	if !slices.Equal(got, want) {
		t.Errorf("smss snapshot = %v; want %v", got, want)
	}
	if s.Focus != 1 || s.Truncated != 0 {
		t.Errorf("focus %d, truncated %d", s.Focus, s.Truncated)
	}
}

func TestSynthesizedAncestorMerges(t *testing.T) {
	tr := New(Config{})
	// dns.exe started before the feed: its child names it.
	cmd := observe(t, tr, start(time.Minute, 5120, 2212, cmdExe, dnsExe))
	dnsKey := tr.lookup(cmd).parent.key()
	if got := images(tr.Snapshot(cmd)); !slices.Equal(got, []string{"0:?dns.exe(2212)", "1:*cmd.exe(5120)"}) {
		t.Fatalf("before merge: %v", got)
	}
	// Its real start arrives late (a replayed log): same node, no longer synthesized,
	// and its own parent is synthesized above it.
	k := observe(t, tr, start(0, 2212, 688, dnsExe, services))
	if k != dnsKey {
		t.Fatalf("dns.exe start made a new node %v; want the placeholder %v", k, dnsKey)
	}
	if got := images(tr.Snapshot(cmd)); !slices.Equal(got, []string{"0:?services.exe(688)", "1:dns.exe(2212)", "2:*cmd.exe(5120)"}) {
		t.Fatalf("after merge: %v", got)
	}
	if tr.Stats().Nodes != 3 {
		t.Errorf("nodes = %d; want 3", tr.Stats().Nodes)
	}
	// A start of PID 5120's parent PID after the child cannot be its parent: PID reuse.
	late := observe(t, tr, start(2*time.Minute, 688, 4, services, ""))
	if late == tr.lookup(dnsKey).parent.key() {
		t.Error("a start after the child merged into the child's ancestor")
	}
}

func TestPIDReuse(t *testing.T) {
	tr := New(Config{})
	a := observe(t, tr, start(0, 100, 4, cmdExe, ""))
	c1 := observe(t, tr, start(time.Second, 200, 100, whoami, ""))
	observe(t, tr, end(2*time.Second, 100))
	b := observe(t, tr, start(3*time.Second, 100, 4, dnsExe, ""))
	c2 := observe(t, tr, start(4*time.Second, 201, 100, whoami, ""))
	// Arrives late: created while the first holder of PID 100 lived.
	c0 := observe(t, tr, start(1500*time.Millisecond, 202, 100, whoami, ""))
	// No end event: a newer start with the same PID ends the older holder.
	d := observe(t, tr, start(5*time.Second, 100, 4, cmdExe, ""))
	c3 := observe(t, tr, start(6*time.Second, 203, 100, whoami, ""))

	for _, tc := range []struct {
		name          string
		child, parent Key
	}{{"c1", c1, a}, {"c2", c2, b}, {"c0 late", c0, a}, {"c3", c3, d}} {
		if p := tr.lookup(tc.child).parent; p == nil || p.key() != tc.parent {
			t.Errorf("%s: parent %+v; want %v", tc.name, p, tc.parent)
		}
	}
	if n := tr.lookup(b); !n.exited || !n.Exit().Equal(t0.Add(5*time.Second)) {
		t.Errorf("dns.exe (PID 100, second holder) exited=%v at %v; want ended by the third start", n.exited, n.Exit())
	}
	if n := tr.lookup(a); !n.exited || !n.Exit().Equal(t0.Add(2*time.Second)) {
		t.Errorf("first holder exited=%v at %v; want the 4689 time", n.exited, n.Exit())
	}
	// Enrich of a late 4688 v1 picks the holder of the PID at the child's time.
	ev := start(3500*time.Millisecond, 300, 100, whoami, "")
	if !tr.Enrich(ev) || ev.Parent.Image != dnsExe {
		t.Errorf("Enrich at 3.5s: %q; want dns.exe", ev.Parent.Image)
	}
}

func TestTwinSysmonAnd4688(t *testing.T) {
	// The same reg.exe from the OTRF cmd_discover_iexplorer_version_registry dataset, as
	// Sysmon 1 (GUID, decimal PID 2200) and 4688 (hex 0x898). The 4688 TimeCreated in that
	// dataset is local time; here both carry the Sysmon UtcTime, as a correct shipper would.
	reg := `C:\Windows\System32\reg.exe`
	for _, order := range []string{"sysmon first", "4688 first"} {
		t.Run(order, func(t *testing.T) {
			tr := New(Config{})
			sm := sysmon(0, "{39e4a257-fc4b-5f90-9411-000000000700}", 2200, reg, "{39e4a257-fc2f-5f90-9211-000000000700}", 10308, cmdExe)
			sec := start(15*time.Millisecond, 0x898, 0x2844, reg, cmdExe)
			first, second := sm, sec
			if order == "4688 first" {
				first, second = sec, sm
			}
			k1 := observe(t, tr, first)
			k2 := observe(t, tr, second)
			if k1 != k2 {
				t.Fatalf("twin events made two nodes: %v %v (%v)", k1, k2, images(tr.Snapshot(k2)))
			}
			n := tr.lookup(k1)
			if n.guid != sm.Process.GUID || n.cmd == "" {
				t.Errorf("merged node lacks the other source's fields: %+v", n)
			}
			if tr.Stats().Nodes != 2 {
				t.Errorf("nodes = %d; want reg.exe and its synthesized parent", tr.Stats().Nodes)
			}
		})
	}
}

func (n *node) Exit() time.Time { return fromNano(n.exit) }

func TestEnrich(t *testing.T) {
	tr := New(Config{})
	observe(t, tr, sysmon(0, "{p}", 2212, dnsExe, "{s}", 688, services))
	tr.lookup(tr.hosts["dc01"].byGUID["{p}"].key()).user = `NT AUTHORITY\SYSTEM`
	tests := []struct {
		name       string
		ev         *source.Event
		want       bool
		wantParent string
	}{
		{"no parent image", start(time.Second, 1, 2212, cmdExe, ""), true, dnsExe},
		{"dash", start(time.Second, 1, 2212, cmdExe, "-"), true, dnsExe},
		{"question mark", start(time.Second, 1, 2212, cmdExe, "?"), true, dnsExe},
		{"already named", start(time.Second, 1, 2212, cmdExe, `C:\x.exe`), false, `C:\x.exe`},
		{"unknown pid", start(time.Second, 1, 9999, cmdExe, ""), false, ""},
		{"before parent started", start(-time.Second, 1, 2212, cmdExe, ""), false, ""},
		{"other host", func() *source.Event { e := start(time.Second, 1, 2212, cmdExe, ""); e.Host = "dc02"; return e }(), false, ""},
		{"by guid", sysmon(time.Second, "{c}", 1, cmdExe, "{p}", 0, ""), true, dnsExe},
		{"guid mismatch", sysmon(time.Second, "{c}", 1, cmdExe, "{other}", 2212, ""), false, ""},
		{"process end", func() *source.Event { e := end(time.Second, 1); e.Parent.PID = 2212; return e }(), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.Enrich(tt.ev)
			if got != tt.want || tt.ev.Parent.Image != tt.wantParent {
				t.Fatalf("Enrich = %v, parent %q; want %v, %q", got, tt.ev.Parent.Image, tt.want, tt.wantParent)
			}
			if got && (tt.ev.Parent.GUID != "{p}" || tt.ev.Parent.User != `NT AUTHORITY\SYSTEM` || tt.ev.Parent.PID != 2212) {
				t.Fatalf("parent = %+v", tt.ev.Parent)
			}
		})
	}
}

func TestSnapshotShapeAndLiveDescendants(t *testing.T) {
	tr := New(Config{})
	observe(t, tr, start(0, 2212, 688, dnsExe, services))
	sib := observe(t, tr, start(time.Second, 400, 2212, `C:\Windows\System32\WerFault.exe`, dnsExe))
	cmd := observe(t, tr, start(2*time.Second, 5120, 2212, cmdExe, dnsExe))
	observe(t, tr, start(3*time.Second, 5184, 5120, whoami, cmdExe))
	observe(t, tr, start(4*time.Second, 401, 2212, `C:\Windows\System32\conhost.exe`, dnsExe))
	want := []string{"0:?services.exe(688)", "1:dns.exe(2212)", "2:~WerFault.exe(400)", "2:*cmd.exe(5120)", "3:whoami.exe(5184)", "2:~conhost.exe(401)"}
	s := tr.Snapshot(cmd)
	if got := images(s); !slices.Equal(got, want) || s.Nodes[s.Focus].Key != cmd || s.Host != "dc01" {
		t.Fatalf("snapshot = %v focus %d; want %v", got, s.Focus, want)
	}
	// A grandchild that appears later joins the next snapshot; an exit shows.
	observe(t, tr, start(5*time.Second, 5200, 5184, `C:\Windows\System32\net.exe`, whoami))
	observe(t, tr, end(6*time.Second, 5184))
	want = []string{"0:?services.exe(688)", "1:dns.exe(2212)", "2:~WerFault.exe(400)", "2:*cmd.exe(5120)", "3:xwhoami.exe(5184)", "4:net.exe(5200)", "2:~conhost.exe(401)"}
	if got := images(tr.Snapshot(cmd)); !slices.Equal(got, want) {
		t.Fatalf("later snapshot = %v; want %v", got, want)
	}
	if got := images(tr.Snapshot(sib)); !slices.Equal(got, []string{"0:?services.exe(688)", "1:dns.exe(2212)", "2:*WerFault.exe(400)", "2:~cmd.exe(5120)", "2:~conhost.exe(401)"}) {
		t.Fatalf("sibling's snapshot = %v", got)
	}
	if s := tr.Snapshot(Key{Host: "dc01", ID: 1 << 40}); len(s.Nodes) != 0 {
		t.Fatalf("unknown key snapshot = %+v", s)
	}
}

func TestSnapshotBounded(t *testing.T) {
	tr := New(Config{})
	var kids []Key
	for i := range 600 {
		kids = append(kids, observe(t, tr, start(time.Duration(i)*time.Millisecond, uint32(1000+i), 2212, cmdExe, dnsExe)))
	}
	s := tr.Snapshot(kids[300])
	// 1 ancestor + focus + 498 nearest siblings; 101 siblings left out.
	if len(s.Nodes) != MaxSnapshotNodes || s.Truncated != 101 || s.Nodes[s.Focus].PID != 1300 {
		t.Fatalf("nodes %d truncated %d focus pid %d", len(s.Nodes), s.Truncated, s.Nodes[s.Focus].PID)
	}
	if first, last := s.Nodes[1].PID, s.Nodes[len(s.Nodes)-1].PID; first != 1300-249 || last != 1300+249 {
		t.Errorf("siblings kept %d..%d; want the nearest, 1051..1549", first, last)
	}
	parent := tr.lookup(kids[0]).parent.key()
	s = tr.Snapshot(parent)
	if len(s.Nodes) != MaxSnapshotNodes || s.Truncated != 101 || s.Focus != 0 {
		t.Fatalf("parent snapshot: nodes %d truncated %d focus %d", len(s.Nodes), s.Truncated, s.Focus)
	}
	// A chain deeper than the ancestor bound.
	tr = New(Config{})
	var k Key
	for i := range 100 {
		k = observe(t, tr, start(time.Duration(i)*time.Millisecond, uint32(10+i), uint32(9+i), cmdExe, ""))
	}
	s = tr.Snapshot(k)
	if len(s.Nodes) != maxAncestors+1 || s.Truncated != 100-maxAncestors || s.Focus != maxAncestors {
		t.Fatalf("deep chain: nodes %d truncated %d focus %d", len(s.Nodes), s.Truncated, s.Focus)
	}
	// Deeper than maxWalk: the chain is cut, so no event walks more than maxWalk nodes.
	for i := 100; i < 2*maxWalk; i++ {
		k = observe(t, tr, start(time.Duration(i)*time.Millisecond, uint32(10+i), uint32(9+i), cmdExe, ""))
	}
	depth := 0
	for n := tr.lookup(k); n.parent != nil; n = n.parent {
		depth++
	}
	if depth >= maxWalk {
		t.Fatalf("chain depth %d; want it cut below %d", depth, maxWalk)
	}
}

func TestWatch(t *testing.T) {
	tr := New(Config{})
	dns := observe(t, tr, start(0, 2212, 688, dnsExe, services))
	cmd := observe(t, tr, start(time.Second, 5120, 2212, cmdExe, dnsExe))
	tr.Watch(cmd)
	tr.Watch(cmd)
	if _, w := tr.Observe(start(2*time.Second, 5184, 5120, whoami, cmdExe)); !w {
		t.Error("grandchild of a watched process not reported watched")
	}
	if _, w := tr.Observe(start(3*time.Second, 77, 2212, whoami, dnsExe)); w {
		t.Error("sibling of a watched process reported watched")
	}
	if _, w := tr.Observe(end(4*time.Second, 5184)); !w {
		t.Error("exit under a watched process not reported watched")
	}
	tr.Unwatch(cmd)
	if _, w := tr.Observe(start(5*time.Second, 5185, 5120, whoami, cmdExe)); !w {
		t.Error("watches nest: one Unwatch of two must keep it watched")
	}
	tr.Unwatch(cmd)
	tr.Unwatch(cmd) // extra: no effect
	tr.Unwatch(Key{Host: "nope", ID: 5})
	if _, w := tr.Observe(start(6*time.Second, 5186, 5120, whoami, cmdExe)); w {
		t.Error("still watched after Unwatch")
	}
	tr.Watch(dns)
	if k, w := tr.Observe(&source.Event{Host: "dc01", Kind: source.KindOther}); w || k != (Key{}) {
		t.Error("a non-process event reported a key")
	}
}

func TestEvictionAndAgeOut(t *testing.T) {
	tr := New(Config{MaxPerHost: 16, ExitedTTL: time.Minute})
	var keys []Key
	for i := range 15 {
		keys = append(keys, observe(t, tr, start(time.Duration(i)*time.Second, uint32(100+i), 0, cmdExe, "")))
	}
	// A 16th whose parent (System, 4) is synthesized: 17 > 16. The synthesized System
	// counts as older than its child, but 100 is older still and goes.
	observe(t, tr, start(15*time.Second, 115, 4, cmdExe, ""))
	if st := tr.Stats(); st.Nodes != 16 || st.Evicted != 1 || tr.lookup(keys[0]) != nil {
		t.Fatalf("stats %+v, 100 present=%v; want 16 nodes, 100 evicted", st, tr.lookup(keys[0]) != nil)
	}
	observe(t, tr, end(20*time.Second, 110))
	observe(t, tr, start(21*time.Second, 200, 0, cmdExe, ""))
	// Over the cap again: the exited 110 goes before the older live 101.
	if tr.lookup(keys[10]) != nil || tr.lookup(keys[1]) == nil {
		t.Fatalf("evicted the wrong node: 110 present=%v, 101 present=%v", tr.lookup(keys[10]) != nil, tr.lookup(keys[1]) != nil)
	}
	if len(tr.Snapshot(keys[10]).Nodes) != 0 {
		t.Fatal("an evicted key still snapshots")
	}
	if st := tr.Stats(); st.Evicted != 2 || st.AgedOut != 0 {
		t.Fatalf("stats %+v; want 2 evicted", st)
	}

	// Age-out by event time, not wall time.
	tr = New(Config{ExitedTTL: time.Minute})
	a := observe(t, tr, start(0, 100, 0, cmdExe, ""))
	b := observe(t, tr, start(0, 101, 0, cmdExe, ""))
	observe(t, tr, end(10*time.Second, 100))
	observe(t, tr, start(70*time.Second, 102, 0, cmdExe, "")) // exactly TTL after the exit
	if tr.lookup(a) == nil {
		t.Fatal("exited process aged out at its TTL, not after")
	}
	observe(t, tr, start(71*time.Second, 103, 0, cmdExe, ""))
	if tr.lookup(a) != nil || tr.lookup(b) == nil {
		t.Fatalf("after the TTL: exited present=%v, live present=%v", tr.lookup(a) != nil, tr.lookup(b) != nil)
	}
	if st := tr.Stats(); st.AgedOut != 1 || st.Evicted != 0 || st.Nodes != 3 {
		t.Fatalf("stats %+v; want 1 aged out, 3 nodes", st)
	}
}

func TestHostsBounded(t *testing.T) {
	tr := New(Config{MaxHosts: 2})
	a := start(0, 1, 0, cmdExe, "")
	a.Host = "a"
	ka := observe(t, tr, a)
	b := start(0, 1, 0, cmdExe, "")
	b.Host = "b"
	observe(t, tr, b)
	a2 := start(time.Second, 2, 1, cmdExe, "")
	a2.Host = "a"
	observe(t, tr, a2) // a is now the most recent
	c := start(0, 1, 0, cmdExe, "")
	c.Host = "c"
	observe(t, tr, c)
	st := tr.Stats()
	if st.Hosts != 2 || st.Evicted != 1 || tr.hosts["b"] != nil || tr.lookup(ka) == nil {
		t.Fatalf("stats %+v, hosts %v; want b (least recent) evicted", st, len(tr.hosts))
	}
}

func TestHostileInput(t *testing.T) {
	tr := New(Config{})
	// A process claiming to be its own parent, by GUID and by PID.
	observe(t, tr, sysmon(0, "{a}", 1, cmdExe, "{a}", 1, cmdExe))
	// A two-cycle: a's placeholder parent b names a as its parent.
	observe(t, tr, sysmon(time.Second, "{x}", 2, cmdExe, "{y}", 3, cmdExe))
	k := observe(t, tr, sysmon(0, "{y}", 3, cmdExe, "{x}", 2, cmdExe))
	if s := tr.Snapshot(k); len(s.Nodes) == 0 || len(s.Nodes) > 3 {
		t.Fatalf("cycle snapshot = %v", images(s))
	}
	// Oversized fields are clipped, on a rune boundary.
	big := sysmon(2*time.Second, "{big}", 9, strings.Repeat("é", maxImage), "", 0, "")
	big.Process.CommandLine = strings.Repeat("x", 1<<20)
	n := tr.lookup(observe(t, tr, big))
	if len(n.image) > maxImage || len(n.cmd) != maxCommand || !strings.HasSuffix(n.image, "é") {
		t.Fatalf("image %d bytes, cmd %d bytes", len(n.image), len(n.cmd))
	}
	// Zero times and PIDs do not break linking.
	observe(t, tr, &source.Event{Host: "dc01", Kind: source.KindProcessStart})
	observe(t, tr, &source.Event{Host: "dc01", Kind: source.KindProcessStart})
	observe(t, tr, &source.Event{Host: "", Kind: source.KindProcessEnd})
}

// FuzzObserve drives the tree with arbitrary event sequences and checks its invariants
// and bounds after each step.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 1, 2, 1, 0, 2, 1, 0, 1, 3, 2, 0, 4})
	f.Add([]byte{1, 5, 5, 1, 0, 5, 5, 0, 2, 5, 0, 0, 4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tr := New(Config{MaxPerHost: 16, ExitedTTL: 10 * time.Second, MaxHosts: 3})
		var keys []Key
		for i := 0; i+4 <= len(ops) && i < 4*400; i += 4 {
			op, pid, ppid, x := ops[i], uint32(ops[i+1]%8), uint32(ops[i+2]%8), ops[i+3]
			ev := &source.Event{
				Time: t0.Add(time.Duration(x%32) * time.Second), Host: string('a' + rune(op>>4)%4),
				Process: source.Process{PID: pid, Image: []string{"", cmdExe, dnsExe, "-"}[x>>6]},
				Parent:  source.Parent{PID: ppid, Image: []string{"", dnsExe}[x>>5&1]},
			}
			if x&16 != 0 {
				ev.Process.GUID = fmt.Sprint(pid + uint32(op&3))
				ev.Parent.GUID = fmt.Sprint(ppid)
			}
			switch op % 6 {
			case 0, 1, 2:
				ev.Kind = source.KindProcessStart
			case 3:
				ev.Kind = source.KindProcessEnd
			case 4:
				if len(keys) > 0 {
					tr.Watch(keys[int(x)%len(keys)])
				}
			case 5:
				if len(keys) > 0 {
					s := tr.Snapshot(keys[int(x)%len(keys)])
					if len(s.Nodes) > MaxSnapshotNodes || (len(s.Nodes) > 0 && (s.Focus < 0 || s.Focus >= len(s.Nodes) || s.Nodes[s.Focus].Role != RoleFocus)) {
						t.Fatalf("snapshot out of shape: %d nodes, focus %d", len(s.Nodes), s.Focus)
					}
				}
			}
			tr.Enrich(ev)
			k, _ := tr.Observe(ev)
			if k != (Key{}) {
				keys = append(keys, k)
			}
			checkInvariants(t, tr)
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	// A busy server: services -> svchost/cmd -> children, PIDs reused every 16k starts,
	// one 4688 and Enrich per start, an end for most; the cap keeps it at 50k nodes.
	tr := New(Config{MaxPerHost: 50_000, ExitedTTL: time.Minute})
	imgs := []string{cmdExe, whoami, dnsExe, `C:\Windows\System32\svchost.exe`, `C:\Windows\System32\conhost.exe`}
	evs := make([]source.Event, 4096)
	for i := range evs {
		evs[i] = source.Event{Host: "dc01", Kind: source.KindProcessStart, Process: source.Process{Image: imgs[i%len(imgs)], CommandLine: fmt.Sprintf("cmd /c task %d", i), User: `NT AUTHORITY\SYSTEM`}}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev := evs[i%len(evs)]
		pid := uint32(i%16384)*4 + 8
		ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
		ev.Process.PID = pid
		ev.Parent.PID = pid - 4*uint32(1+i%3)
		tr.Enrich(&ev)
		tr.Observe(&ev)
		if i%4 != 0 {
			tr.Observe(&source.Event{Host: "dc01", Kind: source.KindProcessEnd, Time: ev.Time, Process: source.Process{PID: pid - 4}})
		}
		i++
	}
}

func BenchmarkMemory1M(b *testing.B) {
	for b.Loop() {
		const n = 1_000_000
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tr := New(Config{MaxPerHost: n + 1000})
		imgs := []string{cmdExe, whoami, dnsExe, `C:\Windows\System32\svchost.exe`}
		for i := range n {
			// Sysmon-like: GUID, image, a 30-odd byte command line, user. Three in four
			// are children of one of 64 long-lived services, the rest of the process just
			// before: a wide forest with short chains, as on a server.
			pid := uint32(i*4 + 8)
			ppid := uint32(8 + 4*((i*7919)%64))
			if i%4 == 0 && i > 0 {
				ppid = pid - 4
			}
			ev := source.Event{
				Time: t0.Add(time.Duration(i) * time.Millisecond), Host: "dc01", Kind: source.KindProcessStart,
				Process: source.Process{GUID: fmt.Sprintf("{39e4a257-fc4b-5f90-%04x-%012x}", i&0xffff, i), PID: pid, Image: imgs[i%len(imgs)], CommandLine: fmt.Sprintf("cmd.exe /c echo task %d", i), User: `NT AUTHORITY\SYSTEM`},
				Parent:  source.Parent{PID: ppid},
			}
			tr.Observe(&ev)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if tr.Stats().Nodes < n {
			b.Fatalf("nodes = %d", tr.Stats().Nodes)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(tr.Stats().Nodes), "bytes/node")
		runtime.KeepAlive(tr)
	}
}

func TestRemoveLinkedNodes(t *testing.T) {
	tr := New(Config{ExitedTTL: time.Minute})
	dns := observe(t, tr, start(0, 2212, 688, dnsExe, services))
	a := observe(t, tr, start(time.Second, 10, 2212, cmdExe, dnsExe))
	b := observe(t, tr, start(2*time.Second, 11, 2212, whoami, dnsExe))
	c := observe(t, tr, start(3*time.Second, 12, 2212, cmdExe, dnsExe))
	gc := observe(t, tr, start(4*time.Second, 13, 11, cmdExe, whoami))
	// A middle child and the parent of a live grandchild exit and age out.
	observe(t, tr, end(5*time.Second, 11))
	observe(t, tr, end(5*time.Second, 10))
	observe(t, tr, start(2*time.Minute, 14, 2212, cmdExe, dnsExe))
	if tr.lookup(a) != nil || tr.lookup(b) != nil || tr.Stats().AgedOut != 2 {
		t.Fatalf("exited children not aged out: %+v", tr.Stats())
	}
	if got, want := images(tr.Snapshot(c)), []string{"0:?services.exe(688)", "1:dns.exe(2212)", "2:*cmd.exe(12)", "2:~cmd.exe(14)"}; !slices.Equal(got, want) {
		t.Errorf("after removals = %v; want %v", got, want)
	}
	// The orphaned grandchild is drawn under a synthesized parent from its own event.
	if got, want := images(tr.Snapshot(gc)), []string{"0:?whoami.exe(11)", "1:*cmd.exe(13)"}; !slices.Equal(got, want) {
		t.Errorf("orphan = %v; want %v", got, want)
	}
	// PID 11 is free again: a new holder is not the orphan's parent.
	observe(t, tr, start(3*time.Minute, 11, 2212, cmdExe, dnsExe))
	if tr.lookup(gc).parent != nil {
		t.Error("orphan re-linked to a later process with its parent's PID")
	}
	if tr.lookup(dns) == nil {
		t.Error("live dns.exe removed")
	}
}

func TestPIDChainAgeOut(t *testing.T) {
	tr := New(Config{ExitedTTL: time.Minute})
	old := observe(t, tr, start(0, 5, 0, cmdExe, ""))
	cur := observe(t, tr, start(time.Second, 5, 0, whoami, "")) // ends the old holder
	observe(t, tr, start(2*time.Minute, 6, 0, cmdExe, ""))      // the old one ages out from under the new
	if tr.lookup(old) != nil || tr.lookup(cur) == nil {
		t.Fatal("wrong holder of PID 5 removed")
	}
	h := tr.hosts["dc01"]
	if n := h.byPID[5]; n == nil || n.key() != cur || n.older != nil {
		t.Fatalf("PID chain after removal: %+v", n)
	}
	ev := start(3*time.Minute, 7, 5, cmdExe, "")
	if !tr.Enrich(ev) || ev.Parent.Image != whoami {
		t.Fatalf("Enrich after chain removal: %q", ev.Parent.Image)
	}
}

func TestOTRFMixedStream(t *testing.T) {
	// A whole dataset as a watched file delivers it: 68 events of every kind, reg.exe
	// reported by Sysmon 1 and 4688, its end by Sysmon 5 and 4689. On the collector's
	// single clock the two reports are one process.
	evs := loadFlatClock(t, "cmd_discover_iexplorer_version_registry_2020-10-2123281491.json", true)
	if len(evs) != 68 {
		t.Fatalf("%d events; want 68", len(evs))
	}
	tr := New(Config{})
	var keys []Key
	for i := range evs {
		tr.Enrich(&evs[i])
		k, _ := tr.Observe(&evs[i])
		if evs[i].Kind == source.KindOther && k != (Key{}) {
			t.Fatalf("event %d (id %d) made a node", i, evs[i].EventID)
		}
		if evs[i].Kind != source.KindOther {
			keys = append(keys, k)
		}
		checkInvariants(t, tr)
	}
	if len(keys) != 4 || keys[0] != keys[1] || keys[1] != keys[2] || keys[2] != keys[3] {
		t.Fatalf("keys of 4688, 4689, Sysmon 1, Sysmon 5 = %v; want one process", keys)
	}
	got := tr.Snapshot(keys[0])
	if want := []string{"0:?cmd.exe(10308)", "1:*xreg.exe(2200)"}; !slices.Equal(images(got), want) {
		t.Fatalf("snapshot = %v; want %v", images(got), want)
	}
	reg, cmd := got.Nodes[1], got.Nodes[0]
	if reg.GUID != "{39e4a257-fc4b-5f90-9411-000000000700}" || !reg.Exit.Equal(time.Date(2020, 10, 21, 11, 28, 11, 239e6, time.UTC)) || reg.User != `WORKSTATION5\wardog` {
		t.Errorf("reg.exe = %+v", reg)
	}
	if cmd.GUID != "{39e4a257-fc2f-5f90-9211-000000000700}" || cmd.Image != `C:\Windows\System32\cmd.exe` {
		t.Errorf("cmd.exe = %+v", cmd)
	}
}
