package sigma

import (
	"testing"
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
