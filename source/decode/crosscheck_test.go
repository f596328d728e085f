package decode

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// decodeFile decodes every record of a file, failing on any error.
func decodeFile(t *testing.T, path string) []source.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var evs []source.Event
	for _, r := range frameAll(data, DefaultMaxRecord) {
		var ev source.Event
		if err := Decode(r.Data, source.Origin{Where: path, Line: r.Line}, &ev); err != nil {
			t.Fatalf("%v", err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// sameEvent asserts that two shapes of one event agree on what detection uses.
func sameEvent(t *testing.T, what string, a, b *source.Event) {
	t.Helper()
	if a.EventID != b.EventID || a.Host != b.Host || a.Kind != b.Kind || a.RecordID != b.RecordID {
		t.Errorf("%s: id/host/kind/record %d/%q/%v/%d vs %d/%q/%v/%d", what,
			a.EventID, a.Host, a.Kind, a.RecordID, b.EventID, b.Host, b.Kind, b.RecordID)
	}
	pa, pb := a.Process, b.Process
	// ECS lower-cases hash values; the hash is the same.
	if strings.EqualFold(pa.Hashes, pb.Hashes) {
		pa.Hashes, pb.Hashes = "", ""
	}
	// evtx-rs trims trailing spaces from values (cmd.exe's "cmd.exe" vs python-evtx's
	// "cmd.exe" + space): an artefact of the renderers, not of the decoder.
	pa.CommandLine, pb.CommandLine = strings.TrimSpace(pa.CommandLine), strings.TrimSpace(pb.CommandLine)
	qa, qb := a.Parent, b.Parent
	qa.CommandLine, qb.CommandLine = strings.TrimSpace(qa.CommandLine), strings.TrimSpace(qb.CommandLine)
	if pa != pb {
		t.Errorf("%s: Process\n  %+v\nvs\n  %+v", what, pa, pb)
	}
	if qa != qb {
		t.Errorf("%s: Parent\n  %+v\nvs\n  %+v", what, qa, qb)
	}
}

func TestCrossCheckWinlogbeatXMLvsECS(t *testing.T) {
	xml := decodeFile(t, "testdata/winlogbeat-ecs/raw-xml/sysmon-9.01.records1-7.xml")
	ecs := decodeFile(t, "testdata/winlogbeat-ecs/sysmon/sysmon-9.01.evtx.golden.records1-7.json")
	if len(xml) != 7 || len(ecs) != 7 {
		t.Fatalf("got %d XML and %d ECS records, want 7 each", len(xml), len(ecs))
	}
	byRecord := map[uint64]*source.Event{}
	for i := range ecs {
		byRecord[ecs[i].RecordID] = &ecs[i]
	}
	starts := 0
	for i := range xml {
		x := &xml[i]
		e, ok := byRecord[x.RecordID]
		if !ok {
			t.Errorf("XML record %d has no ECS twin", x.RecordID)
			continue
		}
		if x.Kind == source.KindProcessStart {
			starts++
		}
		sameEvent(t, "record "+itoa(x.RecordID), x, e)
	}
	if starts == 0 {
		t.Error("no process start among the cross-checked records")
	}
}

func TestCrossCheck4688Shapes(t *testing.T) {
	beat := decodeAt(t, "winlogbeat-ecs/security/security-windows2019_4688_Process_Created.evtx.golden.json", 0)
	ingest := decodeAt(t, "winlogbeat-ecs/security/ingest/security-windows2019_4688_Process_Created.golden.json", 0)
	agent := decodeAt(t, "elastic-integrations/system-security/test-security-windows2019-4688-process-created.json", 0)
	sameEvent(t, "beat vs ingest", &beat, &ingest)
	sameEvent(t, "beat vs agent input", &beat, &agent)
	if beat.Kind != source.KindProcessStart || beat.Parent.Image == "" {
		t.Errorf("beat-stage 4688: kind %v parent %q", beat.Kind, beat.Parent.Image)
	}
}

func TestCrossCheckSigmaJSONvsXML(t *testing.T) {
	for _, c := range []string{"proc_creation_win_bitsadmin_download", "proc_creation_win_bitsadmin_download_file_sharing_domains"} {
		js := decodeFile(t, "testdata/sigma-regression/"+c+".json")
		xs := decodeFile(t, "testdata/sigma-regression/"+c+".xml")
		if len(js) == 0 || len(js) != len(xs) {
			t.Fatalf("%s: %d JSON vs %d XML records", c, len(js), len(xs))
		}
		for i := range js {
			sameEvent(t, c, &js[i], &xs[i])
		}
	}
}

// TestCrossCheckSigmaRegressionAll compares every evtx-rs JSON case in the shared data with
// its python-evtx XML rendering.
func TestCrossCheckSigmaRegressionAll(t *testing.T) {
	root := filepath.Join(sharedDir(t), "datasets", "sigma-regression")
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "json"), func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(root, "json"), path)
		xp := filepath.Join(root, "xml", strings.TrimSuffix(rel, ".json")+".xml")
		if _, err := os.Stat(xp); err != nil {
			return nil // not every case has an XML rendering
		}
		js, xs := decodeFile(t, path), decodeFile(t, xp)
		if len(js) != len(xs) {
			t.Errorf("%s: %d JSON vs %d XML records", rel, len(js), len(xs))
			return nil
		}
		for i := range js {
			if reason, ok := sigmaRenderDiffers[filepath.ToSlash(rel)]; ok {
				if js[i].EventID != xs[i].EventID || js[i].RecordID != xs[i].RecordID {
					t.Errorf("%s (%s): ids differ", rel, reason)
				}
				continue
			}
			sameEvent(t, rel, &js[i], &xs[i])
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("cross-checked only %d records", n)
	}
	t.Logf("cross-checked %d records", n)
}

// sigmaRenderDiffers lists cases whose two published renderings carry different values,
// checked in the source files themselves.
var sigmaRenderDiffers = map[string]string{
	"rules/windows/process_creation/proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.json": `JSON has ParentCommandLine "C:\Windows\Explorer.exe", XML "C:\Windows\Explorer.EXE"`,
}

func itoa(n uint64) string { return source.Origin{Where: "x", Line: int64(n)}.String()[2:] }

// TestCrossCheckXMLJSONvsWMI compares PT's record 452753 as XML-to-JSON and as a WMI
// Win32_NTLogEvent object (positional InsertionStrings).
func TestCrossCheckXMLJSONvsWMI(t *testing.T) {
	x := decodeAt(t, "ptsecurity/eventlog-4688-raw_1.json", 0)
	w := decodeAt(t, "ptsecurity/wmi-4688-raw_1.json", 0)
	if x.RecordID != 452753 {
		t.Fatalf("XML-to-JSON record %d, want 452753", x.RecordID)
	}
	sameEvent(t, "record 452753", &x, &w)
	if !x.Time.Truncate(time.Second).Equal(w.Time) {
		t.Errorf("time %v vs WMI %v (WMI has whole seconds)", x.Time, w.Time)
	}
}
