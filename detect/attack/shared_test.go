package attack

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbeddedMatchesShared checks the embedded gzip is exactly the shared catalog, so a
// refreshed catalog cannot be half-copied.
func TestEmbeddedMatchesShared(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "attack", "enterprise-attack-catalog.json")
	want, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data missing in CI: %v", err)
		}
		t.Skipf("no %s beside the repository (CI clones it there): %v", path, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(catalogGZ))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("embedded catalog (%d bytes) differs from %s (%d bytes): regenerate with gzip -9 -n", len(got), path, len(want))
	}
}
