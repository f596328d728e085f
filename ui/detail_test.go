package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/vigil-soc/vigil/detect/attack"
	"github.com/vigil-soc/vigil/theme"
)

func TestDetailTabs(t *testing.T) {
	st := theme.New(lipgloss.DefaultRenderer(), theme.Dark)
	as, trees := fixtureAlerts(t)
	a := as[2] // net.exe, parent from the tree
	rv := ruleView{info: describeRule(a.Rule), att: attack.Embedded().Resolve(a.Rule.Tags)}
	cases := []struct {
		tab  int
		want []string
	}{
		{tabEvent, []string{"host name  dc01", "command line", "parent process name", "parent resolved from process tree", "All fields", "EventID  1"}},
		{tabAttack, []string{"T1133 External Remote Services", "Initial Access (TA0001)", "Persistence (TA0003)", "https://attack.mitre.org/techniques/T1133"}},
		{tabMitigations, []string{"M1042", "M1035", "M1032", "M1030", "Rule page", "ATT&CK"}},
		{tabNextSteps, []string{"Trouble", "Next steps", "False positives", "Prerequisites", "Security standard", "DE.CM-01", "Attack chain", "Impact", "Rule author", a.Rule.Author, "Derived from", "Detection Rule"}},
		{tabRaw, []string{`"EventID":1`}},
	}
	for _, c := range cases {
		t.Run(tabNames[c.tab], func(t *testing.T) {
			got := buildDetail(&a, c.tab, rv, nil, nil, false, 70, st)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("tab %s lacks %q:\n%s", tabNames[c.tab], w, got)
				}
			}
			for _, l := range strings.Split(got, "\n") {
				if lipgloss.Width(l) > 70 {
					t.Errorf("line wider than 70: %q", l)
				}
			}
		})
	}

	// Unknown ATT&CK ids are shown as unknown, not dropped.
	r := *a.Rule
	r.Tags = []string{"attack.t9999", "attack.initial-access"}
	a.Rule = &r
	got := buildDetail(&a, tabAttack, ruleView{att: attack.Embedded().Resolve(r.Tags)}, nil, nil, false, 70, st)
	if !strings.Contains(got, "T9999") || !strings.Contains(got, "not in the embedded ATT&CK catalog") {
		t.Errorf("unknown technique not shown:\n%s", got)
	}

	// A process picked in the tree leads the Event tab.
	n := trees["a1"].Nodes[0]
	got = buildDetail(&a, tabEvent, rv, &n, nil, false, 70, st)
	if !strings.HasPrefix(got, "Process (from the tree)") || !strings.Contains(got, "started before the feed") {
		t.Errorf("tree node details:\n%s", got)
	}
}
