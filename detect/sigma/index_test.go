package sigma

import (
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// TestIndexAgreesWithBruteForce: the routing and substring/base-name indexes never change
// what matches. Every SigmaHQ rule is checked against every real benchmark event both
// through Set.Match and one by one.
func TestIndexAgreesWithBruteForce(t *testing.T) {
	rules, ref := LoadPaths([]string{sharedDir(t, "sigma/rules")}, nil)
	if len(ref) > 0 {
		t.Fatalf("refused: %v", ref)
	}
	set, _ := NewSet(rules)
	evs := benchEvents2(t)
	// Add variants the indexes treat specially: non-ASCII values and bare names.
	extra := procStart("Image", `C:\Windows\System32\\u212Aernel.exe`, "CommandLine", "powershell –enc ſomething \u212A", "ParentImage", "cmd.exe")
	evs = append(evs, *extra)
	// Non-ASCII values the automaton reads rune by rune: registered-sign products,
	// Cyrillic homoglyphs, Braille-blank double extensions, a Kelvin sign inside a needle.
	evs = append(evs,
		*procStart("Image", `C:\Users\x\Downloads\report⠀⠀⠀⠀⠀⠀.exe`, "CommandLine", `"C:\Users\x\Downloads\report⠀⠀⠀⠀⠀⠀.exe" /c whoаmi`,
			"Product", "System Informer®", "Description", "System Informer", "Company", "Winsiders™", "ParentImage", `C:\Windows\explorer.exe`),
		*procStart("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd.exe /c ne\u212At user /add ſc.exe é",
			"Product", "Microsoft® Windows® Operating System", "Description", "Windows Command Processor", "OriginalFileName", "Cmd.Exe"),
		*procStart("Image", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine", "powershell -nop -w hidden -e ＡＢＣ Invoke-Expression Ｉ",
			"Product", "Microsoft® Windows® Operating System", "Hashes", "MD5=19426363A37C03C3ED6FEDF57B6696EC,IMPHASH=ſ"),
	)
	total := 0
	for i := range evs {
		got := map[*Rule]bool{}
		for _, r := range set.Match(&evs[i], nil) {
			if got[r] {
				t.Errorf("event %d: %s returned twice", i, r.Title)
			}
			got[r] = true
		}
		for _, r := range rules {
			if want := r.Matches(&evs[i]); want != got[r] {
				t.Errorf("event %d (%s): rule %s: Set.Match %v, Rule.Matches %v", i, evs[i].Process.Image, r.File, got[r], want)
			}
		}
		total += len(got)
	}
	if total == 0 {
		t.Error("no rule matched any real event: the test proves nothing")
	}
	t.Logf("%d matches over %d events", total, len(evs))
}

func TestMatchAllocsAllRules(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race; the normal run asserts zero allocations")
	}
	rules, _ := LoadPaths([]string{sharedDir(t, "sigma/rules")}, nil)
	set, _ := NewSet(rules)
	evs := benchEvents2(t)
	dst := make([]*Rule, 0, 64)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		dst = set.Match(&evs[i%len(evs)], dst[:0])
		i++
	})
	if allocs != 0 {
		t.Errorf("Match over all SigmaHQ rules allocates %v times per event, want 0", allocs)
	}
}

// TestPrechecksAgree: rules whose condition implies several requirements (fields of one
// selection, operands of an AND, all of) give the same answer through a Set, whose
// prechecks skip them early, as one by one; including absent, numeric and non-ASCII
// values, which prechecks must treat as unknown rather than as a miss.
func TestPrechecksAgree(t *testing.T) {
	rules := []string{
		"title: a\nlogsource:\n    category: process_creation\ndetection:\n    selection:\n        Image|endswith: '\\msdt.exe'\n        CommandLine|contains: 'IT_BrowseForFile'\n    condition: selection\n",
		"title: b\nlogsource:\n    category: process_creation\ndetection:\n    sel_parent:\n        ParentImage|endswith:\n            - '\\cmd.exe'\n            - '\\powershell.exe'\n    sel_img:\n        - Image|endswith: '\\msdt.exe'\n        - OriginalFileName: 'msdt.exe'\n    condition: all of sel_*\n",
		"title: c\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        Image|contains: '\\Windows\\'\n    cli:\n        CommandLine|contains:\n            - 'whoami'\n            - 'ĸ'\n    pid:\n        ProcessId|contains: '23'\n    condition: sel and cli and pid\n",
		// Gate rules on ParentImage and OriginalFileName names, so b's lists can become prechecks.
		"title: f\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        OriginalFileName: 'whoami.exe'\n    condition: sel\n",
		"title: e\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        ParentImage|endswith: '\\explorer.exe'\n    condition: sel\n",
		"title: d\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|re: 'net\\s+user'\n        ParentCommandLine|contains|all:\n            - 'explorer'\n            - '.exe'\n    condition: sel\n",
	}
	var rs []*Rule
	for _, y := range rules {
		rs = append(rs, mustRule(t, y))
	}
	set, _ := NewSet(rs)
	evs := []*source.Event{
		procStart("Image", `C:\Windows\System32\msdt.exe`, "CommandLine", "msdt IT_BrowseForFile=x", "ParentImage", `C:\Windows\System32\cmd.exe`),
		procStart("Image", `C:\Windows\System32\msdt.exe`, "CommandLine", "msdt /id x", "ParentImage", `C:\Windows\System32\cmd.exe`),
		procStart("Image", `C:\x\MSDT.EXE`, "ParentImage", `C:\Windows\PowerShell.exe`),
		procStart("OriginalFileName", "msdt.exe", "ParentImage", `C:\Windows\System32\cmd.exe`),
		procStart("Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "WHOAMI /all", "ProcessId", "1234"),
		procStart("Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "x ĸ y"),
		procStart("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c net  user x", "ParentCommandLine", `C:\Windows\Explorer.EXE`),
		procStart("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c net  user x", "ParentCommandLine", `C:\Windows\explorer`),
		procStart("Image", `C:\Windows\System32\cmd.exe`, "CommandLine", "cmd /c net  user x"),
	}
	ev := procStart("Image", `C:\Windows\System32\whoami.exe`, "CommandLine", "whoami")
	ev.Process.PID = 2345 // a number only: the automaton does not read it
	evs = append(evs, ev)
	if len(set.pre[1]) == 0 || len(set.pre[2]) == 0 {
		t.Fatalf("rules b and c have no prechecks (%v, %v): the test would prove nothing", set.pre[1], set.pre[2])
	}
	hits := 0
	for n, ev := range evs {
		got := map[*Rule]bool{}
		for _, r := range set.Match(ev, nil) {
			got[r] = true
		}
		for _, r := range rs {
			want := r.Matches(ev)
			if want {
				hits++
			}
			if got[r] != want {
				t.Errorf("event %d: rule %s: Set.Match %v, Rule.Matches %v", n, r.Title, got[r], want)
			}
		}
	}
	if hits < 5 {
		t.Errorf("only %d matches: the cases do not exercise the prechecks", hits)
	}
}
