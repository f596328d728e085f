package triage

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/source"
)

// TestExportLoadsInSigmaEngine feeds ExportSigma's output to vigil's own Sigma parser
// and checks that each exported filter suppresses exactly the events the allowlist
// entry matches.
func TestExportLoadsInSigmaEngine(t *testing.T) {
	const ruleID = "0d8a3c1e-5a6f-4c2b-9d7e-000000000001"
	detection := fmt.Sprintf(`title: any process
id: %s
status: test
level: high
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|contains: '.'
    condition: selection
`, ruleID)
	all, err := ExportSigma(sampleEntries(t))
	if err != nil {
		t.Fatal(err)
	}
	if rules, refused := sigma.ParseRules(all, "exported.yml", nil); len(refused) != 0 || len(rules) != 3 || !rules[1].IsFilter {
		t.Fatalf("sigma.ParseRules of the export: %d rules, refused %v", len(rules), refused)
	}
	evs := loadEvents(t)
	crafted := []source.Event{
		{Host: "DC01", Process: source.Process{Image: `C:\Windows\System32\cmd.exe`, CommandLine: `cmd /c "C:\backup\run.bat"`, User: `CORP\svc_backup`}, Parent: source.Parent{Image: `C:\Windows\System32\dns.exe`}},
		{Host: "dc02", Process: source.Process{Image: `c:\windows\system32\CMD.EXE`, CommandLine: `cmd /c C:\backup\run.bat`, User: `corp\svc_backup`}, Parent: source.Parent{Image: `C:\Windows\System32\DNS.exe`}},
		{Host: "DC01", Process: source.Process{Image: `C:\odd\*name?.exe`, CommandLine: `x \\server\share\y`}},
		{Host: "DC01", Process: source.Process{Image: `C:\odd\xnamey.exe`, CommandLine: `x \\server\share\y`}},
	}
	for i := range crafted {
		crafted[i].Kind = source.KindProcessStart
	}
	evs = append(evs, crafted...)
	for i := range evs {
		evs[i].Channel = "Microsoft-Windows-Sysmon/Operational"
		evs[i].EventID = 1
		evs[i].Fields = []source.Field{
			{Name: "Image", Value: evs[i].Process.Image},
			{Name: "ParentImage", Value: evs[i].Parent.Image},
			{Name: "CommandLine", Value: evs[i].Process.CommandLine},
			{Name: "User", Value: evs[i].Process.User},
			{Name: "Computer", Value: evs[i].Host},
		}
	}
	entries := sampleEntries(t)
	entries = append(entries,
		AllowEntry{ID: "al-x1", Image: mustPattern(t, `*\bitsadmin.exe`), User: mustPattern(t, `workstation5\wardog`)},
		AllowEntry{ID: "al-x2", CommandLine: mustPattern(t, `re:-k\s+netsvcs`), Host: mustPattern(t, `WORKSTATION?`)},
	)
	for i := range entries {
		e := entries[i]
		e.RuleID = ruleID
		e.Expires = time.Time{}
		if e.Reason == "" {
			e.Reason = "compat"
		}
		data, err := ExportSigma([]AllowEntry{e})
		if err != nil {
			t.Fatal(err)
		}
		rules, refused := sigma.ParseRules(append([]byte(detection+"---\n"), data...), "exported.yml", nil)
		if len(refused) > 0 {
			t.Fatalf("entry %s: sigma refused the export: %v\n%s", e.ID, refused, data)
		}
		set, refused := sigma.NewSet(rules)
		if len(refused) > 0 {
			t.Fatalf("entry %s: NewSet refused: %v", e.ID, refused)
		}
		// The exported filter must suppress exactly what the entry allows: the Sigma engine
		// ANDs the filter's "not selection" into the rule, as pySigma does.
		agree, disagree, allowedSeen := 0, 0, 0
		for j := range evs {
			allowed := e.Matches(ruleID, &evs[j], t0)
			if allowed {
				allowedSeen++
			}
			suppressed := len(set.Match(&evs[j], nil)) == 0
			if suppressed == allowed {
				agree++
			} else {
				disagree++
			}
		}
		hasCondition := e.Image != nil || e.ParentImage != nil || e.CommandLine != nil || e.User != nil || e.Host != nil
		if allowedSeen == 0 || (hasCondition && allowedSeen == len(evs)) {
			t.Errorf("entry %s allows %d of %d events: the check needs events it allows and, with conditions, events it does not", e.ID, allowedSeen, len(evs))
		}
		if disagree != 0 {
			t.Errorf("entry %s: the exported filter agrees with the allowlist on %d events and disagrees on %d\n%s", e.ID, agree, disagree, data)
		}
	}
}
