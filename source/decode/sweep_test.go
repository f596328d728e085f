package decode

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// expectedUnknown lists the files (by path under shared/) and single records
// ("path:line") in the sweep that are genuinely not Windows event records.
var expectedUnknown = map[string]string{
	"datasets/snare/rsyslog-qradar_json.log:2": "a QRadar LEEF:1.0 Palo Alto Networks record, not a Windows event",
}

// TestSweepSharedDatasets frames and decodes every .json, .ndjson, .xml, .log and .txt
// file of the shared datasets: every record must decode, except the listed other formats.
func TestSweepSharedDatasets(t *testing.T) {
	shared := sharedDir(t)
	var ev source.Event
	var records, decoded, errs, skipped, expected int
	perFormat := map[source.Format]int{}
	starts := 0
	startsByFolder := map[string]int{}
	for _, root := range []string{"datasets", filepath.Join("sigma", "regression_data")} {
		err := filepath.WalkDir(filepath.Join(shared, root), func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			switch filepath.Ext(path) {
			case ".json", ".ndjson", ".xml", ".log", ".txt":
			default:
				return nil
			}
			rel, _ := filepath.Rel(shared, path)
			rel = filepath.ToSlash(rel)
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			// Licence texts are prose, not records: every line is expected to be unknown.
			licence := strings.HasPrefix(filepath.Base(path), "LICENSE")
			for _, r := range frameAll(data, DefaultMaxRecord) {
				records++
				if r.Oversize {
					skipped++
					t.Errorf("%s:%d: record over %d bytes", rel, r.Line, DefaultMaxRecord)
					continue
				}
				err := Decode(r.Data, source.Origin{Where: rel, Line: r.Line}, &ev)
				if err != nil {
					errs++
					var de *Error
					if !errors.As(err, &de) {
						t.Errorf("%s: error %v is not a *decode.Error", rel, err)
					}
					key := rel + ":" + strconv.FormatInt(r.Line, 10)
					if _, ok := expectedUnknown[key]; ok || licence {
						expected++
						continue
					}
					t.Errorf("%v", err)
					continue
				}
				if licence {
					t.Errorf("%s:%d: licence text decoded as %v", rel, r.Line, ev.Format)
				}
				decoded++
				perFormat[ev.Format]++
				if ev.Kind == source.KindProcessStart {
					starts++
					startsByFolder[strings.SplitN(rel, "/", 3)[1]]++
					if ev.Process.Image == "" && ev.Process.PID == 0 {
						t.Errorf("%s:%d: process start without image or PID", rel, r.Line)
					}
				}
				if (ev.EventID == 4688 || (ev.EventID == 1 && strings.Contains(ev.Provider+ev.Channel, "Sysmon"))) && ev.Kind != source.KindProcessStart {
					t.Errorf("%s:%d: event %d decoded as %v", rel, r.Line, ev.EventID, ev.Kind)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if records != decoded+errs+skipped {
		t.Errorf("records %d != decoded %d + errors %d + skipped %d", records, decoded, errs, skipped)
	}
	// Sysmon 1 + Security 4688 per folder, as shared/datasets/README.md counts them.
	for folder, want := range map[string]int{
		"winlogbeat-ecs": 8 + 2, "elastic-integrations": 3, "otrf-security-datasets": 1132 + 839,
		"evtx-attack-samples-xml": 691 + 42, "evtx-to-mitre-attack-xml": 14 + 429,
		"wazuh-eventchannel": 64 + 2 + 1, "ptsecurity-xp-rules": 7 + 11, "snare": 1 + 22, "nxlog": 2 + 1,
	} {
		if got := startsByFolder[folder]; got != want {
			t.Errorf("%s: %d process starts, want %d (README)", folder, got, want)
		}
	}
	for f := source.FormatXML; int(f) < source.FormatCount; f++ {
		if perFormat[f] == 0 {
			t.Errorf("no record decoded as %v", f)
		}
	}
	t.Logf("records %d: decoded %d (process starts %d), errors %d (all expected: %d), skipped %d; per format %v",
		records, decoded, starts, errs, expected, skipped, perFormat)
}
