package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/vigil-soc/vigil/detect/proctree"
	"github.com/vigil-soc/vigil/theme"
)

func TestRenderTree(t *testing.T) {
	st := theme.New(lipgloss.DefaultRenderer(), theme.Dark)
	ascii := theme.New(lipgloss.DefaultRenderer(), theme.Dark)
	ascii.Glyphs = theme.ASCIIGlyphs
	snap := proctree.Snapshot{Host: "dc01", Focus: 2, Nodes: []proctree.Node{
		{Depth: 0, Role: proctree.RoleAncestor, PID: 688, Image: `C:\Windows\System32\services.exe`, Synthesized: true},
		{Depth: 1, Role: proctree.RoleAncestor, PID: 2212, Image: `C:\Windows\System32\dns.exe`, CommandLine: `C:\Windows\System32\dns.exe`},
		{Depth: 2, Role: proctree.RoleFocus, PID: 5120, Image: `C:\Windows\System32\cmd.exe`, CommandLine: "cmd /c whoami > c:\\temp\\o.txt"},
		{Depth: 3, Role: proctree.RoleDescendant, PID: 5184, Image: `C:\Windows\System32\whoami.exe`, CommandLine: "whoami", Exited: true},
		{Depth: 2, Role: proctree.RoleSibling, PID: 4100, Image: `C:\Windows\System32\conhost.exe`, CommandLine: "conhost.exe 0xffffffff\x1b[2J"},
	}}
	cases := []struct {
		name          string
		snap          proctree.Snapshot
		width, height int
		cursor        int
		st            *theme.Styles
		want          string
	}{
		{"full", snap, 60, 10, -1, st, `
 services.exe (688) (before feed)
 └ dns.exe (2212) C:\Windows\System32\dns.exe
   ├ ▶cmd.exe (5120) cmd /c whoami > c:\temp\o.txt
   │ └ whoami.exe (5184) (exited) whoami
   └ conhost.exe (4100) conhost.exe 0xffffffff\x1b[2J`},
		{"narrow cuts command lines", snap, 34, 10, -1, st, `
 services.exe (688) (before feed)
 └ dns.exe (2212) C:\Windows\Syst…
   ├ ▶cmd.exe (5120) cmd /c whoam…
   │ └ whoami.exe (5184) (exited)
   └ conhost.exe (4100) conhost.e…`},
		{"cursor and ascii", snap, 40, 10, 3, ascii, `
 services.exe (688) (before feed)
 ` + "`-" + `dns.exe (2212) C:\Windows\System32\d~
   |->cmd.exe (5120) cmd /c whoami > c:~
*  | ` + "`-" + `whoami.exe (5184) (exited) whoami
   ` + "`-" + `conhost.exe (4100) conhost.exe 0xf~`},
		{"short pane scrolls to the cursor", snap, 60, 2, 4, st, `
   │ └ whoami.exe (5184) (exited) whoami
›  └ conhost.exe (4100) conhost.exe 0xffffffff\x1b[2J`},
		{"short pane keeps the focus", snap, 60, 2, -1, st, `
 └ dns.exe (2212) C:\Windows\System32\dns.exe
   ├ ▶cmd.exe (5120) cmd /c whoami > c:\temp\o.txt`},
		{"empty", proctree.Snapshot{}, 40, 5, -1, st, `
no process tree for this alert`},
		{"no room", snap, 0, 5, -1, st, "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := renderTree(c.snap, c.width, c.height, c.cursor, c.st)
			want := strings.TrimPrefix(c.want, "\n")
			if got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
			for _, l := range strings.Split(got, "\n") {
				if lipgloss.Width(l) > max(c.width, 0) {
					t.Errorf("line wider than %d: %q", c.width, l)
				}
			}
		})
	}
}
