package decode

import (
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

func TestParsePID(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
	}{
		{"4508", 4508}, {"0x1a4", 0x1a4}, {"0X1A4", 0x1a4}, {"0x0000000000000414", 0x414},
		{" 12 ", 12}, {"", 0}, {"-", 0}, {"0x", 0}, {"4294967295", 4294967295},
		{"4294967296", 0}, {"0x100000000", 0}, {"12a", 0}, {"-1", 0},
	}
	for _, tt := range tests {
		if got := parsePID(tt.in); got != tt.want {
			t.Errorf("parsePID(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 nano; "" = not parsed
	}{
		{"2019-03-18T16:57:39.0127447Z", "2019-03-18T16:57:39.0127447Z"},
		{"2025-11-27 07:40:10.165323", "2025-11-27T07:40:10.165323Z"},
		{"2021-06-24 09:12:53", "2021-06-24T09:12:53Z"},
		{"2013-10-23T10:11:57.976345600Z", "2013-10-23T10:11:57.9763456Z"},
		{"2025-02-18T06:42:17.5+01:00", "2025-02-18T05:42:17.5Z"},
		{"2025-02-18T06:42:17-05:30", "2025-02-18T12:12:17Z"},
		{"2025-13-18T06:42:17Z", ""},
		{"2025-02-18T06:42:17 junk", ""},
		{"12/20/2014 2:29 PM", ""},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseTime(%q) = %v, want failure", tt.in, got)
			}
			continue
		}
		want, _ := time.Parse(time.RFC3339Nano, tt.want)
		if !ok || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, ok, want)
		}
	}
}

func TestIntegrityName(t *testing.T) {
	tests := map[string]string{
		"S-1-16-4096": "Low", "S-1-16-8192": "Medium", "S-1-16-8448": "MediumPlus",
		"S-1-16-12288": "High", "S-1-16-16384": "System", "S-1-16-20480": "Protected",
		`Mandatory Label\High Mandatory Level`: "High", `Mandatory Label\Medium Plus Mandatory Level`: "MediumPlus",
		"S-1-16-99": "S-1-16-99", "": "",
	}
	for in, want := range tests {
		if got := integrityName(in); got != want {
			t.Errorf("integrityName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalGUID(t *testing.T) {
	tests := map[string]string{
		"0197231E-FB60-6938-DD10-000000000800":   "{0197231e-fb60-6938-dd10-000000000800}",
		"{9F32B55F-7C4E-5F98-5803-000000000500}": "{9f32b55f-7c4e-5f98-5803-000000000500}",
		"{42f11c3b-ce03-5c8f-0000-0010e9462a00}": "{42f11c3b-ce03-5c8f-0000-0010e9462a00}",
		"not-a-guid":                             "not-a-guid", "": "",
	}
	for in, want := range tests {
		if got := canonicalGUID(in); got != want {
			t.Errorf("canonicalGUID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMappingEdgeCases covers mapping rules on small records built for the rule at hand.
func TestMappingEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		kind   source.Kind
		parent string
		image  string
		user   string
		pUser  string
	}{
		{
			name: "ecs bare process.parent.name still gives Parent.Image",
			in:   `{"event":{"category":["process"],"type":["start"]},"host":{"name":"dc01"},"process":{"executable":"C:\\Windows\\System32\\cmd.exe","parent":{"name":"dns.exe"}}}`,
			kind: source.KindProcessStart, parent: "dns.exe", image: `C:\Windows\System32\cmd.exe`,
		},
		{
			name: "ecs parent executable wins over name",
			in:   `{"winlog":{"event_id":1,"provider_name":"Microsoft-Windows-Sysmon"},"process":{"executable":"a.exe","parent":{"name":"b.exe","executable":"C:\\b.exe"}}}`,
			kind: source.KindProcessStart, parent: `C:\b.exe`, image: "a.exe",
		},
		{
			name: "parent ? is unknown",
			in:   `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\a.exe","ParentImage":"?"}`,
			kind: source.KindProcessStart, image: `C:\a.exe`,
		},
		{
			name: "4688 v2 with a target user: process runs as target, parent as subject",
			in:   `{"EventID":4688,"Channel":"Security","NewProcessName":"C:\\a.exe","SubjectDomainName":"D","SubjectUserName":"S$","TargetDomainName":"D","TargetUserName":"T","TargetUserSid":"S-1-5-21-1"}`,
			kind: source.KindProcessStart, image: `C:\a.exe`, user: `D\T`, pUser: `D\S$`,
		},
		{
			name: "4688 with the null target SID: process runs as subject",
			in:   `{"EventID":4688,"Channel":"Security","NewProcessName":"C:\\a.exe","SubjectDomainName":"D","SubjectUserName":"S$","TargetDomainName":"-","TargetUserName":"-","TargetUserSid":"S-1-0-0"}`,
			kind: source.KindProcessStart, image: `C:\a.exe`, user: `D\S$`,
		},
		{
			name: "4689 is a process end",
			in:   `{"EventID":4689,"Channel":"Security","ProcessName":"C:\\a.exe","ProcessId":"0x10"}`,
			kind: source.KindProcessEnd, image: `C:\a.exe`,
		},
		{
			name: "sysmon 3 fills the acting process but is not a start",
			in:   `{"EventID":3,"SourceName":"Microsoft-Windows-Sysmon","Image":"C:\\a.exe","ProcessId":"7"}`,
			kind: source.KindOther, image: `C:\a.exe`,
		},
		{
			name: "other events keep every field and no process",
			in:   `{"EventID":4624,"Channel":"Security","TargetUserName":"x","LogonType":"3"}`,
			kind: source.KindOther,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev source.Event
			if err := Decode([]byte(tt.in), source.Origin{}, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Kind != tt.kind || ev.Parent.Image != tt.parent || ev.Process.Image != tt.image ||
				ev.Process.User != tt.user || ev.Parent.User != tt.pUser {
				t.Errorf("kind %v parent %q image %q user %q parent user %q; want %v %q %q %q %q",
					ev.Kind, ev.Parent.Image, ev.Process.Image, ev.Process.User, ev.Parent.User,
					tt.kind, tt.parent, tt.image, tt.user, tt.pUser)
			}
			if len(ev.Fields) == 0 {
				t.Error("no fields kept")
			}
		})
	}
}

// TestWazuhAlertShape decodes a Wazuh alert/archive (the event under data.win) built by
// wrapping a real eventchannel record in the alert keys Wazuh's manager adds.
func TestWazuhAlertShape(t *testing.T) {
	rec := recordAt(t, "wazuh/sysmon_eid_1.ndjson", 0)
	alert := `{"timestamp":"2021-04-28T20:11:56.000+0000","rule":{"level":3,"id":"61603"},"agent":{"id":"001","name":"DESKTOP-2QKFOBA"},"manager":{"name":"wazuh"},"id":"1619640716.1","decoder":{"name":"windows_eventchannel"},"data":` +
		string(rec) + `,"location":"EventChannel"}`
	var ev source.Event
	if err := Decode([]byte(alert), source.Origin{}, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Format != source.FormatWazuh || ev.Kind != source.KindProcessStart || ev.EventID != 1 ||
		ev.Parent.Image != `C:\Windows\System32\cscript.exe` || ev.Process.Image != `C:\Windows\System32\wscript.exe` {
		t.Errorf("format %v kind %v id %d parent %q image %q", ev.Format, ev.Kind, ev.EventID, ev.Parent.Image, ev.Process.Image)
	}
	if v, _ := ev.Field("agent.name"); v != "DESKTOP-2QKFOBA" {
		t.Errorf("agent.name = %q", v)
	}
}
