package decode

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// sharedDir returns ../shared relative to the repository root, or skips (fails in CI).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "datasets")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared datasets not found at %s (CI must clone shared/ beside the repo): %v", dir, err)
		}
		t.Skipf("shared datasets not found at %s: %v", dir, err)
	}
	return dir
}

// frameAll frames data as one write, returning every record (Close included).
func frameAll(data []byte, max int) []Record {
	f := NewFramer(max)
	f.Write(data)
	var out []Record
	for {
		r, ok := f.Next()
		if !ok {
			break
		}
		r.Data = append([]byte(nil), r.Data...)
		out = append(out, r)
	}
	if r, ok := f.Close(); ok {
		r.Data = append([]byte(nil), r.Data...)
		out = append(out, r)
	}
	return out
}

func TestSweepDebug(t *testing.T) {
	if os.Getenv("SWEEPDEBUG") == "" {
		t.Skip("debug only")
	}
	shared := sharedDir(t)
	var ev source.Event
	counts := map[string]int{}
	for _, root := range []string{filepath.Join(shared, "datasets"), filepath.Join(shared, "sigma", "regression_data")} {
		filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			ext := filepath.Ext(path)
			if (ext != ".json" && ext != ".ndjson" && ext != ".xml" && ext != ".log" && ext != ".txt") || strings.HasPrefix(filepath.Base(path), "LICENSE") {
				return nil
			}
			data, _ := os.ReadFile(path)
			for _, r := range frameAll(data, DefaultMaxRecord) {
				err := Decode(r.Data, source.Origin{Where: path, Line: r.Line}, &ev)
				if err != nil {
					counts["err "+strings.Split(strings.TrimPrefix(path, root), "/")[1]]++
					if counts["printed"] < 40 {
						counts["printed"]++
						t.Logf("%v", err)
					}
				} else {
					counts[ev.Format.String()+"/"+ev.Kind.String()]++
				}
			}
			return nil
		})
	}
	t.Logf("%v", counts)
}
