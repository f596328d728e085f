package ui

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func TestHelpGolden(t *testing.T) {
	m := newTestModel(t, 120, 40, Config{})
	m, _ = press(t, m, "?")
	v := m.View()
	checkWidth(t, v, 120, 40)
	golden.RequireEqual(t, []byte(v))
}

// TestHelpMatchesKeyTable checks the README's key table (or docs/keys.md until the
// README carries one) against the key map, both ways.
func TestHelpMatchesKeyTable(t *testing.T) {
	root := filepath.Join("..")
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil || !strings.Contains(string(data), "\n<!-- keys -->\n") {
		data, err = os.ReadFile(filepath.Join(root, "docs", "keys.md"))
		if err != nil {
			t.Fatalf("no key table: %v", err)
		}
	}
	// The table is the block right after the marker, up to the first blank line.
	text := string(data)
	i := strings.Index(text, "\n<!-- keys -->\n")
	if i < 0 {
		t.Fatal("key table marker <!-- keys --> not found")
	}
	text = text[i:]
	if j := strings.Index(text, "\n\n"); j >= 0 {
		text = text[:j]
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| ([^|]+) \\|")
	table := map[string]string{}
	for _, mm := range row.FindAllStringSubmatch(text, -1) {
		table[mm[1]] = strings.TrimSpace(mm[2])
	}
	km := defaultKeyMap()
	seen := map[string]bool{}
	for _, col := range km.FullHelp() {
		for _, b := range col {
			h := b.Help()
			seen[h.Key] = true
			if got, ok := table[h.Key]; !ok {
				t.Errorf("key %q (%s) missing from the key table", h.Key, h.Desc)
			} else if got != h.Desc {
				t.Errorf("key %q: table says %q, help says %q", h.Key, got, h.Desc)
			}
		}
	}
	var extra []string
	for k := range table {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("key table lists keys the TUI does not have: %v", extra)
	}
}
