package decode

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+2) + "1" + strings.Repeat("}", MaxDepth+2)
	deepXML := "<Event>" + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + "</Event>"
	var many strings.Builder
	many.WriteString(`{"EventID":1`)
	for i := 0; i <= MaxFields; i++ {
		many.WriteString(`,"f":1`)
	}
	many.WriteString("}")
	long := `{"EventID":1,"Image":"` + strings.Repeat("a", MaxStringLen+1) + `"}`
	tests := []struct {
		name   string
		in     string
		format source.Format
		reason string
	}{
		{"empty", "", source.FormatUnknown, "empty record"},
		{"prose", "hello world", source.FormatUnknown, "format not recognized"},
		{"unterminated string", `{"EventID":1,"Image":"C:\\x`, source.FormatFlatJSON, "unterminated string at byte 21"},
		{"missing colon", `{"EventID" 1}`, source.FormatUnknown, "expected ':' after key at byte 11"},
		{"trailing garbage", `{"EventID":1} x`, source.FormatFlatJSON, `unexpected "x" after the JSON object at byte 14`},
		{"bad escape", `{"EventID":1,"Image":"\q"}`, source.FormatFlatJSON, `bad escape \q at byte 22`},
		{"control character", "{\"EventID\":1,\"Image\":\"a\x01\"}", source.FormatFlatJSON, "control character 0x01"},
		{"no windows keys", `{"hello":"world"}`, source.FormatUnknown, "no Windows event keys"},
		{"too deep json", deep, source.FormatUnknown, "nesting deeper than 64"},
		{"too many fields", many.String(), source.FormatFlatJSON, "more than 4096 fields"},
		{"string too long", long, source.FormatFlatJSON, "longer than 1048576 bytes"},
		{"xml unterminated", "<Event><System><EventID>1</EventID>", source.FormatXML, "unterminated element <System>"},
		{"xml mismatched", "<Event><System></Event>", source.FormatXML, "end tag </Event> at byte 23 does not match <System>"},
		{"xml wrong root", "<Foo/>", source.FormatXML, "root element <Foo> at byte 0 is not <Event>"},
		{"xml two events", "<Event/><Event/>", source.FormatXML, "second element <Event>"},
		{"xml too deep", deepXML, source.FormatXML, "nesting deeper than 64"},
		{"xml unquoted attribute", "<Event><Data Name=x>1</Data></Event>", source.FormatXML, `unquoted attribute "Name" in <Data>`},
		{"snare too short", "MSWinEventLog\t1\tSecurity", source.FormatSnare, "Snare record has 2 fields"},
		{"cee without json", "<13>@cee: nope", source.FormatUnknown, "expected '{'"},
		{"cee nested too deep", nestedCEE(6), source.FormatUnknown, "envelopes nested deeper than 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev source.Event
			origin := source.Origin{Feed: "test", Where: "in.json", Line: 7}
			err := Decode([]byte(tt.in), origin, &ev)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if de.Format != tt.format {
				t.Errorf("Format = %v, want %v", de.Format, tt.format)
			}
			if !strings.Contains(de.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", de.Reason, tt.reason)
			}
			if de.Origin != origin {
				t.Errorf("Origin = %+v, want %+v", de.Origin, origin)
			}
			if want := "in.json:7: decode " + tt.format.String() + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
			if string(ev.Raw) != tt.in || ev.Origin != origin {
				t.Errorf("a failed Decode must keep Raw and Origin")
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("cause")
	err := error(&Error{Format: source.FormatXML, Origin: source.Origin{Where: "f.xml", Line: 3}, Reason: "bad", Err: cause})
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false", err)
	}
	if got, want := err.Error(), "f.xml:3: decode xml: bad: cause"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var ev source.Event
	err = Decode([]byte(`{"EventID":`), source.Origin{Where: "f.json", Line: 9}, &ev)
	if got, want := err.Error(), "f.json:9: decode flat-json: expected a value at byte 11 (end of record)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		file   string
		idx    int
		format source.Format
		env    source.Envelope
	}{
		{"winlogbeat-ecs/raw-xml/sysmon-9.01.records1-7.xml", 0, source.FormatXML, source.EnvelopeNone},
		{"sigma-regression/proc_creation_win_bitsadmin_download.json", 0, source.FormatEVTXJSON, source.EnvelopeNone},
		{"snare/rsyslog-qradar_json.log", 0, source.FormatSnare, source.EnvelopeCEE},
		{"snare/rsyslog-mmsnareparse-sysmon-test.log", 0, source.FormatSnare, source.EnvelopeRFC3164},
		{"wazuh/sysmon_eid_1.ndjson", 0, source.FormatWazuh, source.EnvelopeNone},
		{"ptsecurity/wmi-4688-raw_1.json", 0, source.FormatWMI, source.EnvelopeNone},
	}
	for _, tt := range tests {
		f, env := Sniff(recordAt(t, tt.file, tt.idx))
		if f != tt.format || env != tt.env {
			t.Errorf("Sniff(%s) = %v, %v; want %v, %v", tt.file, f, env, tt.format, tt.env)
		}
	}
}

func TestSyslogEnvelopes(t *testing.T) {
	xml := `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name='Image'>C:\Windows\System32\cmd.exe</Data><Data Name='ParentImage'>C:\Windows\System32\dns.exe</Data></EventData></Event>`
	tests := []struct {
		name string
		in   string
		env  source.Envelope
		host string
		time string
	}{
		{"rfc5424 with structured data", `<14>1 2025-02-18T06:42:17.554128Z dc01 sysmon 1234 - [meta x="a\]b"] ` + xml, source.EnvelopeRFC5424, "dc01", "2025-02-18T06:42:17.554128Z"},
		{"rfc5424 nil sd, bom", "<14>1 2025-02-18T06:42:17Z dc02 - - - - \xEF\xBB\xBF" + xml, source.EnvelopeRFC5424, "dc02", "2025-02-18T06:42:17Z"},
		{"rfc3164 with tag", "<13>Feb  3 04:05:06 dc03 sysmon: " + xml, source.EnvelopeRFC3164, "dc03", ""},
		{"rfc3164 high precision", "<13>2025-02-18T06:42:17.5+01:00 dc04 " + xml, source.EnvelopeRFC3164, "dc04", "2025-02-18T05:42:17.5Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev source.Event
			if err := Decode([]byte(tt.in), source.Origin{}, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Format != source.FormatXML || ev.Envelope != tt.env || ev.Host != tt.host {
				t.Errorf("format %v envelope %v host %q; want xml %v %q", ev.Format, ev.Envelope, ev.Host, tt.env, tt.host)
			}
			if ev.Parent.Image != `C:\Windows\System32\dns.exe` || ev.Kind != source.KindProcessStart {
				t.Errorf("payload not decoded: kind %v parent %q", ev.Kind, ev.Parent.Image)
			}
			if tt.time != "" && ev.Time.Format("2006-01-02T15:04:05.999999999Z07:00") != tt.time {
				t.Errorf("Time = %v, want %s", ev.Time, tt.time)
			}
			if tt.time == "" && (ev.Time.Month() != 2 || ev.Time.Day() != 3 || ev.Time.Hour() != 4) {
				t.Errorf("Time = %v, want Feb 3 04:05:06 of some year", ev.Time)
			}
		})
	}
}

func TestDecodeReusesFields(t *testing.T) {
	rec := recordAt(t, "otrf/aptsimulator_cobaltstrike_2021-06-11T21081492.process-create.ndjson", 0)
	var ev source.Event
	if err := Decode(rec, source.Origin{}, &ev); err != nil {
		t.Fatal(err)
	}
	c := cap(ev.Fields)
	p := &ev.Fields[:1][0]
	if err := Decode(rec, source.Origin{}, &ev); err != nil {
		t.Fatal(err)
	}
	if cap(ev.Fields) != c || &ev.Fields[0] != p {
		t.Errorf("Decode did not reuse ev.Fields")
	}
	if raceEnabled {
		return
	}
	allocs := testing.AllocsPerRun(50, func() { _ = Decode(rec, source.Origin{}, &ev) })
	if allocs > 3 {
		t.Errorf("Decode of a flat JSON record: %.0f allocations, want at most 3 (Raw, strings, pool slack)", allocs)
	}
}

// nestedCEE wraps a record in n "@cee:" payloads.
func nestedCEE(n int) string {
	rec := `{"EventID":1}`
	for i := 0; i < n; i++ {
		q, _ := json.Marshal(rec)
		rec = `@cee: {"payload":` + string(q) + `}`
	}
	return rec
}

// TestSnareVariants: the same real Snare line as rsyslog stores it (TABs escaped as
// #011), without its PRI (as written to a file), and bare, decodes to the same event.
func TestSnareVariants(t *testing.T) {
	line := string(recordAt(t, "snare/rsyslog-mmsnareparse-sample-windows2022-security.log", 62))
	var want source.Event
	if err := Decode([]byte(line), source.Origin{}, &want); err != nil {
		t.Fatal(err)
	}
	noPRI := line[strings.IndexByte(line, '>')+1:]
	bare := line[strings.Index(line, "MSWinEventLog"):]
	for name, in := range map[string]string{
		"escaped tabs": strings.ReplaceAll(line, "\t", "#011"),
		"no PRI":       noPRI,
		"bare":         bare,
	} {
		var ev source.Event
		if err := Decode([]byte(in), source.Origin{}, &ev); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.Format != source.FormatSnare || ev.EventID != want.EventID || ev.Process != want.Process ||
			ev.Parent != want.Parent || ev.Host != want.Host || !ev.Time.Equal(want.Time) {
			t.Errorf("%s: got %v %d %+v %+v %q %v; want %+v %+v %q %v", name, ev.Format, ev.EventID,
				ev.Process, ev.Parent, ev.Host, ev.Time, want.Process, want.Parent, want.Host, want.Time)
		}
	}
}
