package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func ruleWith(sel string) string {
	return "title: t\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection:\n" + sel + "\n    condition: selection\n"
}

// TestModifiers: one case per modifier, values from the specification's examples.
func TestModifiers(t *testing.T) {
	cfg := &Config{Placeholders: map[string][]string{"Admins": {"adm_*", "root"}}}
	tests := []struct {
		name string
		sel  string
		kv   []string
		want bool
	}{
		{"plain equals case-insensitive", `        Image: 'C:\Windows\System32\CMD.exe'`, []string{"Image", `c:\windows\system32\cmd.exe`}, true},
		{"plain equals is whole value", `        Image: 'cmd.exe'`, []string{"Image", `c:\cmd.exe`}, false},
		{"contains", `        CommandLine|contains: 'whoami'`, []string{"CommandLine", "cmd /c WHOAMI /all"}, true},
		{"startswith", `        CommandLine|startswith: 'adm'`, []string{"CommandLine", "ADMIN x"}, true},
		{"endswith", `        Image|endswith: '\cmd.exe'`, []string{"Image", `C:\x\notcmd.exe`}, false},
		{"list is OR", "        Image|endswith:\n            - '\\a.exe'\n            - '\\cmd.exe'", []string{"Image", `C:\cmd.exe`}, true},
		{"all is AND", "        CommandLine|contains|all:\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '", []string{"CommandLine", "Set-OabVirtualDirectory -ExternalUrl x"}, true},
		{"all is AND miss", "        CommandLine|contains|all:\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '", []string{"CommandLine", "Set-OabVirtualDirectory"}, false},
		{"wildcard ?", `        Image: 'prog?.exe'`, []string{"Image", "progA.exe"}, true},
		{"wildcard *", `        Image: 'antivirus_V*.exe'`, []string{"Image", "antivirus_V21.2.1.exe"}, true},
		{"escaped star is literal", `        CommandLine: 'a\*b'`, []string{"CommandLine", "a*b"}, true},
		{"escaped star not wildcard", `        CommandLine: 'a\*b'`, []string{"CommandLine", "axxb"}, false},
		{"backslash before wildcard", `        CommandLine: 'a\\*'`, []string{"CommandLine", `a\anything`}, true},
		{"three backslashes", `        CommandLine: 'a\\\*'`, []string{"CommandLine", `a\*`}, true},
		{"plain path backslash", `        Image: 'C:\Windows\x.exe'`, []string{"Image", `C:\Windows\x.exe`}, true},
		{"windash slash", `        CommandLine|contains|windash: ' -enc '`, []string{"CommandLine", "powershell /enc AAA"}, true},
		{"windash en dash", `        CommandLine|contains|windash: ' -enc '`, []string{"CommandLine", "powershell –enc AAA"}, true},
		{"windash two dashes spelt out", `        CommandLine|contains|windash: ' -a -b'`, []string{"CommandLine", "x ―a /B"}, true},
		{"windash two dashes miss", `        CommandLine|contains|windash: ' -a -b'`, []string{"CommandLine", "x -a +b"}, false},
		{"windash three dashes (class)", `        CommandLine|contains|windash: '-a-b-c'`, []string{"CommandLine", "/a—b–c"}, true},
		{"windash with wildcard", `        CommandLine|windash: '*-e* JAB*'`, []string{"CommandLine", "powershell /enc JAB"}, true},
		{"windash whole value", `        CommandLine|windash: '-s'`, []string{"CommandLine", "/S"}, true},
		{"windash whole value miss", `        CommandLine|windash: '-s'`, []string{"CommandLine", "x /s"}, false},
		{"re alternation prefilter", `        CommandLine|re: '(?:[Pp]rogram[Dd]ata|%(?:[Ll]ocal)?[Aa]pp[Dd]ata%)\\[^\\]{1,256}$'`, []string{"CommandLine", `x %LocalAppData%\evil.exe`}, true},
		{"re alternation prefilter miss", `        CommandLine|re: '(?:[Pp]rogram[Dd]ata|%(?:[Ll]ocal)?[Aa]pp[Dd]ata%)\\[^\\]{1,256}$'`, []string{"CommandLine", `x %APPDATA%\evil.exe`}, false},
		{"re two required literals", `        CommandLine|re: '\s-\s*<'`, []string{"CommandLine", "powershell - < x.ps1"}, true},
		{"re two required literals miss", `        CommandLine|re: '\s-\s*<'`, []string{"CommandLine", "powershell -c x.ps1 <"}, false},
		{"re i folds Kelvin sign", `        CommandLine|re|i: 'kernel32'`, []string{"CommandLine", "\u212Aernel32.dll"}, true},
		{"re", `        CommandLine|re: '^cmd.*whoami$'`, []string{"CommandLine", "cmd /c whoami"}, true},
		{"re is cased", `        CommandLine|re: '^CMD'`, []string{"CommandLine", "cmd /c"}, false},
		{"re i", `        CommandLine|re|i: '^CMD'`, []string{"CommandLine", "cmd /c"}, true},
		{"re m", `        CommandLine|re|m: '^b$'`, []string{"CommandLine", "a\nb"}, true},
		{"re s", `        CommandLine|re|s: 'a.b'`, []string{"CommandLine", "a\nb"}, true},
		{"base64", `        CommandLine|base64|contains: 'cmd'`, []string{"CommandLine", "x Y21k y"}, true},
		{"base64offset 0", `        CommandLine|base64offset|contains: 'http://'`, []string{"CommandLine", "aHR0cDovL"}, true},
		{"base64offset 1", `        CommandLine|base64offset|contains: 'http://'`, []string{"CommandLine", "SGVsbG8gaHR0cDovL2V4"}, true},
		{"utf16le base64", `        CommandLine|utf16le|base64|contains: 'cmd'`, []string{"CommandLine", "YwBtAGQA"}, true},
		{"wide base64offset", `        CommandLine|wide|base64offset|contains: 'cmd'`, []string{"CommandLine", "YwBtAGQA"}, true},
		{"utf16be", `        CommandLine|utf16be|base64: 'cmd'`, []string{"CommandLine", "AGMAbQBk"}, true},
		{"utf16 bom", `        CommandLine|utf16|base64: 'cmd'`, []string{"CommandLine", "//5jAG0AZAA="}, true},
		{"cidr v4", `        DestinationIp|cidr: 10.0.0.0/8`, []string{"DestinationIp", "10.2.3.4"}, true},
		{"cidr v4 miss", `        DestinationIp|cidr: 10.0.0.0/8`, []string{"DestinationIp", "11.2.3.4"}, false},
		{"cidr v6", `        DestinationIp|cidr: 'fe80::/10'`, []string{"DestinationIp", "fe80::1"}, true},
		{"fieldref", `        User|fieldref: ParentUser`, []string{"User", `NT AUTHORITY\SYSTEM`, "ParentUser", `nt authority\system`}, true},
		{"fieldref differs", `        User|fieldref: ParentUser`, []string{"User", `a`, "ParentUser", `b`}, false},
		{"fieldref neq", `        User|fieldref|neq: ParentUser`, []string{"User", `a`, "ParentUser", `b`}, true},
		{"exists true", `        PasswordLastSet|exists: true`, []string{"PasswordLastSet", ""}, true},
		{"exists false", `        PasswordLastSet|exists: false`, []string{"Other", "x"}, true},
		{"cased", `        CommandLine|cased|contains: 'Bypass'`, []string{"CommandLine", "-ep bypass"}, false},
		{"cased hit", `        CommandLine|cased|contains: 'Bypass'`, []string{"CommandLine", "-ep Bypass"}, true},
		{"neq", `        IntegrityLevel|neq: System`, []string{"IntegrityLevel", "High"}, true},
		{"neq equal", `        IntegrityLevel|neq: System`, []string{"IntegrityLevel", "system"}, false},
		{"lt", `        Count|lt: 10`, []string{"Count", "9"}, true},
		{"lte", `        Count|lte: 10`, []string{"Count", "10"}, true},
		{"gt", `        Count|gt: 10`, []string{"Count", "10"}, false},
		{"gte", `        Count|gte: 10`, []string{"Count", "0x10"}, true},
		{"hour", `        UtcTime|hour: 3`, []string{"UtcTime", "2024-05-01 03:15:00.000"}, true},
		{"minute", `        UtcTime|minute: 15`, []string{"UtcTime", "2024-05-01 03:15:00.000"}, true},
		{"day", `        UtcTime|day: 1`, []string{"UtcTime", "2024-05-01 03:15:00.000"}, true},
		{"week", `        UtcTime|week: 18`, []string{"UtcTime", "2024-05-01 03:15:00.000"}, true},
		{"month", `        UtcTime|month: 5`, []string{"UtcTime", "2024-05-01 03:15:00.000"}, true},
		{"year", `        UtcTime|year: 2024`, []string{"UtcTime", "2024-05-01T03:15:00Z"}, true},
		{"expand", `        User|expand: '%Admins%'`, []string{"User", "adm_bob"}, true},
		{"expand second value", `        User|expand: '%Admins%'`, []string{"User", "root"}, true},
		{"expand miss", `        User|expand: '%Admins%'`, []string{"User", "bob"}, false},
		{"null absent", `        CommandLine: null`, []string{"Image", "x"}, true},
		{"null empty", `        CommandLine: null`, []string{"CommandLine", ""}, true},
		{"null present", `        CommandLine: null`, []string{"CommandLine", "x"}, false},
		{"empty string", `        CommandLine: ''`, []string{"CommandLine", ""}, true},
		{"empty string present", `        CommandLine: ''`, []string{"CommandLine", "x"}, false},
		{"number", `        EventID: 1`, []string{"EventID", "1"}, true},
		{"unicode fold", `        CommandLine|contains: 'ÄRGER'`, []string{"CommandLine", "x ärger y"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRuleCfg(t, ruleWith(tc.sel), cfg)
			if got := r.Matches(procStart(tc.kv...)); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
			// The set's indexes and prefilters must agree.
			set, _ := NewSet([]*Rule{r})
			if got := len(set.Match(procStart(tc.kv...), nil)) == 1; got != tc.want {
				t.Errorf("Set.Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTimeModifierFallsBackToEventTime(t *testing.T) {
	r := mustRule(t, ruleWith(`        UtcTime|hour: 22`))
	ev := procStart("Image", "x")
	ev.Time = time.Date(2024, 1, 1, 22, 5, 0, 0, time.UTC)
	if !r.Matches(ev) {
		t.Error("hour of the event time did not match")
	}
}

// TestRefusals: rules that cannot load are refused with a reason and the YAML line.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name, yaml, reason string
		line               int
	}{
		{"unknown modifier", ruleWith(`        Image|sometimes: x`), "unknown modifier", 7},
		{"bad regex lookahead", ruleWith(`        Image|re: '(?=x)'`), "RE2", 7},
		{"unknown placeholder", ruleWith(`        User|expand: '%Nope%'`), "unknown placeholder %Nope%", 7},
		{"bad condition", "title: t\nlogsource: {category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: sel and\n", "expression expected", 5},
		{"unknown selection", "title: t\nlogsource: {category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: other\n", `unknown selection "other"`, 5},
		{"no detection", "title: t\nlogsource: {category: process_creation}\n", "no detection", 1},
		{"no condition", "title: t\nlogsource: {category: process_creation}\ndetection:\n    sel: {Image: x}\n", "no condition", 4},
		{"yaml error", "title: t\n  bad: [\n", "yaml", 0},
		{"bad cidr", ruleWith(`        Ip|cidr: 10.0.0.0/99`), "not a CIDR", 7},
		{"aggregation", "title: t\nlogsource: {category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: sel | count() > 5\n", "aggregation", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, ref := ParseRules([]byte(tc.yaml), "r.yml", nil)
			if len(rs) != 0 || len(ref) != 1 {
				t.Fatalf("got %d rules, %d refusals; want 0, 1", len(rs), len(ref))
			}
			if !strings.Contains(ref[0].Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", ref[0].Reason, tc.reason)
			}
			if tc.line > 0 && ref[0].Line != tc.line {
				t.Errorf("line %d, want %d (%s)", ref[0].Line, tc.line, ref[0].Error())
			}
		})
	}
}

// TestRegexNeeds: the literals a regex prefilter demands are ones every match has.
func TestRegexNeeds(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`\s-\s*<`, "[[-] [<]]"},
		{`(?:[Pp]rogram[Dd]ata|%(?:[Ll]ocal)?[Aa]pp[Dd]ata%)\\x`, "[[programdata appdata%] [\\x]]"},
		{`net\s+user\s+`, "[[net] [user]]"},
		{`(?i)Invoke-(Expression|WebRequest)`, "[[invoke-] [expression webrequest]]"},
		{`a|`, "[]"},
		{`(ab)*c`, "[[c]]"},
		{`x{0,3}`, "[]"},
	}
	for _, tc := range tests {
		got := fmt.Sprint(regexNeeds(tc.expr))
		if tc.want == "[]" && regexNeeds(tc.expr) == nil {
			continue
		}
		if got != tc.want {
			t.Errorf("regexNeeds(%q) = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

// TestWindashLongListStillLoads: spelling out windash permutations never makes a rule
// that fits the value limits refuse to load; past the budget the windash class is used.
func TestWindashLongListStillLoads(t *testing.T) {
	var b strings.Builder
	b.WriteString("        CommandLine|contains|windash:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "            - ' -a%d -b'\n", i)
	}
	r := mustRule(t, ruleWith(b.String()))
	set, _ := NewSet([]*Rule{r})
	for _, cl := range []string{"x /a999 ―b", "x -a0 -b", "x –a500 /b"} {
		ev := procStart("CommandLine", cl)
		if !r.Matches(ev) || len(set.Match(ev, nil)) != 1 {
			t.Errorf("%q: no match", cl)
		}
	}
	if ev := procStart("CommandLine", "x +a1 -b"); r.Matches(ev) || len(set.Match(ev, nil)) != 0 {
		t.Error("+a1 matched a windash value")
	}
}
