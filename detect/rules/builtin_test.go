package rules

import (
	"reflect"
	"slices"
	"testing"

	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/source"
)

// parseBuiltin loads every built-in file with the real Sigma parser.
func parseBuiltin(t *testing.T) []*sigma.Rule {
	t.Helper()
	var all []*sigma.Rule
	for name, data := range Builtin() {
		rs, refused := sigma.ParseRules(data, name, nil)
		if len(refused) > 0 {
			t.Fatalf("%s refused: %v", name, refused)
		}
		all = append(all, rs...)
	}
	return all
}

func TestBuiltinParsesWithSigma(t *testing.T) {
	rs := parseBuiltin(t)
	if len(rs) != 1 {
		t.Fatalf("%d built-in rules; want 1", len(rs))
	}
	r := rs[0]
	if r.ID != "7ee304c8-7191-4f10-af74-1caf21105250" || r.Level != "high" || r.Logsource.Category != "process_creation" || r.Logsource.Product != "windows" {
		t.Errorf("rule = %s %s %+v", r.ID, r.Level, r.Logsource)
	}
	if !slices.Contains(r.Related, "a4e3d776-f12e-42c2-8510-9e6ed1f43ec3") {
		t.Errorf("related = %v; want the SigmaHQ rule", r.Related)
	}
	if _, ok := r.Extra["detection"]; ok {
		t.Error("Extra holds a Sigma key")
	}
	// The parser's Extra and the hand-built one decode to the same Metadata.
	got := MetadataOf(r)
	want := MetadataOf(handBuilt(t, Builtin()["dns_exe_child.yml"]))
	if !reflect.DeepEqual(got, want) || got.Severity != "Trouble" || len(got.Mitigations) != 4 || len(got.Problems) != 0 {
		t.Errorf("MetadataOf(parsed) = %+v\nwant %+v", got, want)
	}
	if _, refused := sigma.NewSet(rs); len(refused) > 0 {
		t.Errorf("NewSet refused the built-in rule: %v", refused)
	}
}

func TestBuiltinMatches(t *testing.T) {
	r := parseBuiltin(t)[0]
	// A real Sysmon 1 record (OTRF cmd_discover_iexplorer_version_registry, WORKSTATION5)
	// with its parent edited to dns.exe: no public dataset has a dns.exe child.
	ev := func(image, parent string) *source.Event {
		return &source.Event{
			Host: "WORKSTATION5", Kind: source.KindProcessStart, EventID: 1,
			Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational",
			Process: source.Process{PID: 2200, Image: image, CommandLine: `reg  query "HKEY_LOCAL_MACHINE\Software\Microsoft\Internet Explorer" /v svcVersion`},
			Parent:  source.Parent{PID: 10308, Image: parent},
			Fields:  []source.Field{{Name: "Image", Value: image}, {Name: "ParentImage", Value: parent}},
		}
	}
	for _, tc := range []struct {
		image, parent string
		want          bool
	}{
		{`C:\Windows\System32\reg.exe`, `C:\Windows\System32\dns.exe`, true},
		{`C:\Windows\System32\reg.exe`, `C:\WINDOWS\SYSTEM32\DNS.EXE`, true},
		{`C:\Windows\System32\reg.exe`, `\Device\HarddiskVolume2\Windows\System32\dns.exe`, true},
		{`C:\Windows\System32\conhost.exe`, `C:\Windows\System32\dns.exe`, false},
		{`C:\Windows\System32\reg.exe`, `C:\x\notdns.exe`, false},
		{`C:\Windows\System32\reg.exe`, `C:\Windows\System32\cmd.exe`, false},
	} {
		if got := r.Matches(ev(tc.image, tc.parent)); got != tc.want {
			t.Errorf("%s <- %s: match %v; want %v", tc.image, tc.parent, got, tc.want)
		}
	}
}
