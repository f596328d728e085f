package decode

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// fuzzSeedFiles are testdata files whose records seed the fuzz targets (besides the
// corpora in testdata/fuzz/).
var fuzzSeedFiles = []string{
	"winlogbeat-ecs/raw-xml/sysmon-9.01.records1-7.xml",
	"winlogbeat-ecs/sysmon/ingest/sysmon-12-processcreate.golden.json",
	"sigma-regression/proc_creation_win_bitsadmin_download.json",
	"otrf/aptsimulator_cobaltstrike_2021-06-11T21081492.process-create.ndjson",
	"otrf/empire_enable_rdp_2019-05-18203650.process-create.ndjson",
	"nxlog/openedr-4688sample.json",
	"wazuh/sysmon_eid_1.ndjson",
	"wazuh/legacy-winevtlog.log",
	"ptsecurity/eventlog-4688-raw_1.json",
	"ptsecurity/wmi-4688-raw_1.json",
	"snare/rsyslog-qradar_json.log",
	"snare/rsyslog-mmsnareparse-sysmon-test.log",
}

func addRecordSeeds(f *testing.F) {
	for _, p := range fuzzSeedFiles {
		data, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatalf("read %s: %v", p, err)
		}
		recs := frameAll(data, DefaultMaxRecord)
		for i := 0; i < len(recs) && i < 2; i++ {
			f.Add(recs[i].Data)
		}
	}
}

// FuzzDecode: Decode never panics, every failure is a *Error, Raw is always the input,
// and Sniff agrees with Decode.
func FuzzDecode(f *testing.F) {
	addRecordSeeds(f)
	f.Add([]byte(`<14>1 2025-02-18T06:42:17Z h a p m [x y="\]"] {"EventID":1}`))
	f.Add([]byte(`<01> @cee: {"payload":"<Event><System><EventID>1</EventID></System></Event>"}`))
	f.Add([]byte(`{"EventData":"{\"Image\":\"a\"}","Provider":"Microsoft-Windows-Sysmon","EventID":1}`))
	f.Fuzz(checkDecode)
}

// FuzzDecodeXML drives the XML scanner deeper: the input is the body of an <Event>.
func FuzzDecodeXML(f *testing.F) {
	f.Add([]byte(`<System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID></System><EventData><Data Name='Image'>a&amp;b&#174;</Data></EventData>`))
	f.Add([]byte(`<UserData><X xmlns='u'><Y a="1">t<!-- c --><![CDATA[<z>]]></Y></X></UserData><RenderingInfo Culture='en'><Message>m</Message></RenderingInfo>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := append(append([]byte("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"), body...), "</Event>"...)
		checkDecode(t, rec)
	})
}

// FuzzDecodeJSON drives the JSON scanner and the format mappings deeper: the input is a
// value placed where each JSON format keeps its event data.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"Image":"C:\\a.exe","ParentImage":"-","ProcessId":"0x10"}`), uint8(0))
	f.Add([]byte(`[{"Name":"NewProcessName","text":"C:\\a"},{"Name":"x"}]`), uint8(1))
	f.Add([]byte(`"{\"Image\":\"\\ud83d\\ude00\"}"`), uint8(2))
	f.Fuzz(func(t *testing.T, v []byte, shape uint8) {
		var pre, post string
		switch shape % 5 {
		case 0:
			pre, post = `{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":`, `}}`
		case 1:
			pre, post = `{"Event":{"xmlns":"x","System":{"EventID":"4688"},"EventData":{"Data":`, `}}}`
		case 2:
			pre, post = `{"EventID":1,"Provider":"Microsoft-Windows-Sysmon","EventData":`, `}`
		case 3:
			pre, post = `{"win":{"system":{"eventID":"1","providerName":"Microsoft-Windows-Sysmon"},"eventdata":`, `}}`
		case 4:
			pre, post = `{"event":{"category":["process"],"type":["start"]},"process":`, `}`
		}
		checkDecode(t, append(append([]byte(pre), v...), post...))
	})
}

// checkDecode asserts Decode's contract on one record: no panic, *Error failures with
// a public format, Raw always the input, Sniff agreeing, and reuse of a used Event.
func checkDecode(t *testing.T, rec []byte) {
	var ev source.Event
	err := Decode(rec, source.Origin{Where: "fuzz", Line: 1}, &ev)
	if !bytes.Equal(ev.Raw, rec) {
		t.Fatalf("Raw %q != input %q", ev.Raw, rec)
	}
	if err != nil {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("error %T %v is not a *Error", err, err)
		}
		if de.Reason == "" || int(de.Format) >= source.FormatCount || int(ev.Format) >= source.FormatCount {
			t.Fatalf("error without a reason or with a bad format: %+v", de)
		}
	} else if ev.Format == source.FormatUnknown || int(ev.Format) >= source.FormatCount {
		t.Fatalf("decoded with format %v", ev.Format)
	}
	if f, env := Sniff(rec); f != ev.Format || env != ev.Envelope {
		t.Fatalf("Sniff = %v/%v, Decode = %v/%v", f, env, ev.Format, ev.Envelope)
	}
	// Decoding the same bytes into a used Event gives the same result.
	var again source.Event
	again.Fields = append(again.Fields, source.Field{Name: "stale", Value: "x"})
	err2 := Decode(rec, source.Origin{Where: "fuzz", Line: 1}, &again)
	if (err == nil) != (err2 == nil) || len(again.Fields) != len(ev.Fields) || again.Process != ev.Process {
		t.Fatalf("second decode differs")
	}
}

// FuzzFramer: framing never panics; records and skipped bytes account for all input;
// offsets increase; feeding in chunks gives the same records as one write.
func FuzzFramer(f *testing.F) {
	for _, p := range fuzzSeedFiles {
		data, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatalf("read %s: %v", p, err)
		}
		f.Add(data[:min(len(data), 4096)], uint8(7), uint16(0))
	}
	f.Add([]byte("{\"events\":[{\"a\":1},2]}\n<?x?><Events><Event/></Events>\n[\"a\",{]"), uint8(1), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, max uint16) {
		limit := int(max)
		if limit == 0 {
			limit = DefaultMaxRecord
		}
		whole := frameAll(data, limit)
		checkCoverage(t, "fuzz", data, whole)
		for _, r := range whole {
			if !r.Oversize && int64(len(r.Data)) > r.End-r.Offset {
				t.Fatalf("record data longer than its span")
			}
		}
		n := int(chunk)%17 + 1
		if got := frameChunked(data, limit, n); !equalFrecs(toFrecs(got), toFrecs(whole)) {
			t.Fatalf("chunks of %d differ:\n%+v\nvs whole\n%+v", n, toFrecs(got), toFrecs(whole))
		}
	})
}
