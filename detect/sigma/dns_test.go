package sigma

import (
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// dnsRule is equivalent to the built-in "Unusual Child Process of dns.exe" rule.
const dnsRule = `
title: Unusual Child Process of dns.exe
id: a4e3d776-f12e-42c2-8510-9e6ed1f43ec3
status: test
level: high
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        ParentImage|endswith: '\dns.exe'
    filter:
        Image|endswith: '\conhost.exe'
    condition: selection and not filter
`

func TestDNSRule(t *testing.T) {
	r := mustRule(t, dnsRule)
	ecsBare := &source.Event{Kind: source.KindProcessStart, Format: source.FormatECS,
		Process: source.Process{Image: `C:\Windows\System32\cmd.exe`},
		Fields:  []source.Field{{Name: "process.parent.name", Value: "dns.exe"}},
	}
	ecsBare.Parent.Image = "dns.exe"
	tests := []struct {
		name string
		ev   *source.Event
		want bool
	}{
		{"cmd under dns", procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`), true},
		{"case differs", procStart("ParentImage", `C:\WINDOWS\system32\DNS.EXE`, "Image", `C:\Windows\System32\cmd.exe`), true},
		{"conhost excluded", procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\conhost.exe`), false},
		{"notdns.exe is not dns.exe", procStart("ParentImage", `C:\x\notdns.exe`, "Image", `C:\Windows\System32\cmd.exe`), false},
		{"bare parent name", procStart("ParentImage", `dns.exe`, "Image", `C:\Windows\System32\cmd.exe`), true},
		{"bare notdns.exe", procStart("ParentImage", `notdns.exe`, "Image", `C:\Windows\System32\cmd.exe`), false},
		{"ECS bare parent name", ecsBare, true},
		{"4688 names", func() *source.Event {
			ev := procStart("NewProcessName", `C:\Windows\System32\whoami.exe`, "ParentProcessName", `C:\Windows\System32\dns.exe`)
			ev.EventID, ev.Channel = 4688, "Security"
			ev.Process.Image, ev.Parent.Image = `C:\Windows\System32\whoami.exe`, `C:\Windows\System32\dns.exe`
			return ev
		}(), true},
		{"not a process start", func() *source.Event {
			ev := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`)
			ev.Kind, ev.EventID = source.KindOther, 3
			return ev
		}(), false},
	}
	set, ref := NewSet([]*Rule{r})
	if len(ref) > 0 {
		t.Fatal(ref)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Matches(tc.ev); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
			got := set.Match(tc.ev, nil)
			if (len(got) == 1) != tc.want {
				t.Errorf("Set.Match = %d rules, want match=%v", len(got), tc.want)
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race; the normal run asserts zero allocations")
	}
	set, _ := NewSet([]*Rule{mustRule(t, dnsRule)})
	ev := procStart("ParentImage", `C:\Windows\System32\dns.exe`, "Image", `C:\Windows\System32\cmd.exe`)
	dst := make([]*Rule, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { dst = set.Match(ev, dst[:0]) })
	if allocs != 0 {
		t.Errorf("Match allocates %v times per event, want 0", allocs)
	}
	if len(dst) != 1 {
		t.Errorf("matched %d rules, want 1", len(dst))
	}
}
