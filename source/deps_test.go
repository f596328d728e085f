package source_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the layering honest: cmd -> ui -> detect -> source, and
// theme only under ui. A package importing against that direction fails here.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/vigil-soc/vigil/"
	forbidden := map[string][]string{
		"source": {"detect", "ui", "theme", "cmd"},
		"detect": {"ui", "theme", "cmd"},
		"theme":  {"source", "detect", "ui", "cmd"},
		"ui":     {"cmd"},
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("go list returned %d packages; expected the whole module", len(lines))
	}
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		top, _, _ := strings.Cut(pkg, "/")
		for _, dep := range fields[1:] {
			if !strings.HasPrefix(dep, mod) {
				continue
			}
			depTop, _, _ := strings.Cut(strings.TrimPrefix(dep, mod), "/")
			for _, bad := range forbidden[top] {
				if depTop == bad {
					t.Errorf("%s imports %s: %s must not depend on %s", pkg, dep, top, bad)
				}
			}
		}
	}
}
