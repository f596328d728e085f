package decode

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// recordAt frames a testdata file and returns its idx-th record.
func recordAt(t *testing.T, path string, idx int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	recs := frameAll(data, DefaultMaxRecord)
	if idx >= len(recs) {
		t.Fatalf("%s has %d records, want index %d", path, len(recs), idx)
	}
	return recs[idx].Data
}

func decodeAt(t *testing.T, path string, idx int) source.Event {
	t.Helper()
	var ev source.Event
	if err := Decode(recordAt(t, path, idx), source.Origin{Where: path}, &ev); err != nil {
		t.Fatalf("%s[%d]: %v", path, idx, err)
	}
	return ev
}

// want lists what a real record must decode to; empty strings and zeros are asserted too.
type want struct {
	format      source.Format
	env         source.Envelope
	kind        source.Kind
	time        string // RFC 3339 nano, UTC
	host        string
	provider    string
	channel     string
	eventID     uint32
	recordID    uint64
	guid        string
	pid         uint32
	image       string
	cmd         string // prefix
	user        string
	integrity   string
	parentGUID  string
	parentPID   uint32
	parentImage string
	parentCmd   string // prefix
	fields      map[string]string
}

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		name string
		file string
		idx  int
		want want
	}{
		{
			name: "windows xml (EvtRender) sysmon 1",
			file: "winlogbeat-ecs/raw-xml/sysmon-9.01.records1-7.xml", idx: 0,
			want: want{
				format: source.FormatXML, kind: source.KindProcessStart,
				time: "2019-03-18T16:57:39.0127447Z", host: "vagrant-2012-r2",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 7,
				guid: "{42f11c3b-ce03-5c8f-0000-0010e9462a00}", pid: 4508,
				image: `C:\Windows\System32\wbem\WmiPrvSE.exe`, cmd: `C:\Windows\system32\wbem\wmiprvse.exe -Embedding`,
				user: `NT AUTHORITY\SYSTEM`, integrity: "System",
				parentGUID: "{42f11c3b-6e1b-5c8c-0000-00102f610000}", parentPID: 560,
				parentImage: `C:\Windows\System32\svchost.exe`, parentCmd: `C:\Windows\system32\svchost.exe -k DcomLaunch`,
				fields: map[string]string{"Provider_Guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "Execution_ProcessID": "4860", "Security_UserID": "S-1-5-18", "RuleName": "", "Product": "Microsoft® Windows® Operating System"},
			},
		},
		{
			name: "python-evtx xml 4688 v2, sqlservr parent, zero-padded hex",
			file: "evtx-to-mitre/ID4688-SQL_Server_payload_injection_reverse_shell.xml", idx: 0,
			want: want{
				format: source.FormatXML, kind: source.KindProcessStart,
				time: "2020-08-01T22:58:09.443226Z", host: "mssql01.offsec.lan",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 1331261, pid: 1044,
				image: `C:\Windows\System32\cmd.exe`, cmd: `"C:\Windows\system32\cmd.exe" /c echo TVqQAAMAAAAEAAAA`,
				user: `OFFSEC\Svc-SQL-DB01`, integrity: "High", parentPID: 4176,
				parentImage: `C:\Program Files\Microsoft SQL Server\MSSQL12.RADAR\MSSQL\Binn\sqlservr.exe`,
				fields:      map[string]string{"EventID_Qualifiers": "", "TokenElevationTypeName": "Type 1: full token (TokenElevationTypeDefault)"},
			},
		},
		{
			name: "evtx-json sysmon 1 with ParentImage -",
			file: "sigma-regression/proc_creation_win_bitsadmin_download_file_sharing_domains.json", idx: 0,
			want: want{
				format: source.FormatEVTXJSON, kind: source.KindProcessStart,
				time: "2025-12-10T04:47:28.250802Z", host: "swachchhanda",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 18580, guid: "{0197231e-fb60-6938-dd10-000000000800}", pid: 8924,
				image: `C:\Windows\System32\bitsadmin.exe`, cmd: "bitsadmin  /transfer n https://raw.githubusercontent.com/",
				user: `swachchhanda\xodih`, integrity: "Medium",
				parentGUID: "{00000000-0000-0000-0000-000000000000}", parentPID: 14736,
				fields: map[string]string{"ParentImage": "-", "ParentCommandLine": "-", "Provider_Name": "Microsoft-Windows-Sysmon"},
			},
		},
		{
			name: "winlogbeat ecs sysmon 1 (beat stage, in a JSON array)",
			file: "winlogbeat-ecs/sysmon/sysmon-9.01.evtx.golden.records1-7.json", idx: 6,
			want: want{
				format: source.FormatECS, kind: source.KindProcessStart,
				time: "2019-03-18T16:57:39.012Z", host: "vagrant-2012-r2",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 7, guid: "{42f11c3b-ce03-5c8f-0000-0010e9462a00}", pid: 4508,
				image: `C:\Windows\System32\wbem\WmiPrvSE.exe`, cmd: `C:\Windows\system32\wbem\wmiprvse.exe -Embedding`,
				user: `NT AUTHORITY\SYSTEM`, integrity: "System",
				parentGUID: "{42f11c3b-6e1b-5c8c-0000-00102f610000}", parentPID: 560,
				parentImage: `C:\Windows\System32\svchost.exe`, parentCmd: `C:\Windows\system32\svchost.exe -k DcomLaunch`,
				fields: map[string]string{"process.executable": `C:\Windows\System32\wbem\WmiPrvSE.exe`, "winlog.channel": "Microsoft-Windows-Sysmon/Operational", "IntegrityLevel": "System"},
			},
		},
		{
			name: "winlogbeat ecs 4688 (ingest stage, parent from process.parent.executable)",
			file: "winlogbeat-ecs/security/ingest/security-windows2019_4688_Process_Created.golden.json", idx: 0,
			want: want{
				format: source.FormatECS, kind: source.KindProcessStart,
				time: "2019-11-14T17:10:15.1515514Z", host: "vagrant",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 5010, pid: 4556,
				image: `C:\Windows\System32\wevtutil.exe`, cmd: `"C:\Windows\system32\wevtutil.exe" cl Security`,
				user: `VAGRANT\vagrant`, integrity: "High", parentPID: 4652,
				parentImage: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				fields:      map[string]string{"TokenElevationType": "TokenElevationTypeFull (2)", "process.parent.executable": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
			},
		},
		{
			name: "elastic agent pipeline input ({events:[...]} wrapper, winlog.event_data)",
			file: "elastic-integrations/system-security/test-security-windows2019-4688-process-created.json", idx: 0,
			want: want{
				format: source.FormatECS, kind: source.KindProcessStart,
				time: "2021-04-15T19:03:52.909Z", host: "vagrant",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 5010, pid: 4556,
				image: `C:\Windows\System32\wevtutil.exe`, cmd: `"C:\Windows\system32\wevtutil.exe" cl Security`,
				user: `VAGRANT\vagrant`, integrity: "High", parentPID: 4652,
				parentImage: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				fields:      map[string]string{"NewProcessName": `C:\Windows\System32\wevtutil.exe`, "winlog.event_id": "4688"},
			},
		},
		{
			name: "winlogbeat 6.x 4688 (event_data, computer_name, host.name is the collector)",
			file: "otrf/empire_enable_rdp_2019-05-18203650.process-create.ndjson", idx: 0,
			want: want{
				format: source.FormatECS, kind: source.KindProcessStart,
				time: "2019-05-18T20:37:10.356Z", host: "HR001.shire.com",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 287720, pid: 7792,
				image: `C:\Windows\System32\reg.exe`, cmd: `"C:\Windows\system32\reg.exe" add "HKLM\SYSTEM`,
				user: `SHIRE\nmartha`, integrity: "High", parentPID: 5452,
				parentImage: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
				fields:      map[string]string{"host.name": "WECserver", "log_name": "Security", "TokenElevationTypeName": "Type 2: elevated token (TokenElevationTypeFull)"},
			},
		},
		{
			name: "flat json (OTRF) sysmon 1",
			file: "otrf/aptsimulator_cobaltstrike_2021-06-11T21081492.process-create.ndjson", idx: 0,
			want: want{
				format: source.FormatFlatJSON, kind: source.KindProcessStart,
				time: "2021-06-12T01:07:15.633Z", host: "WORKSTATION5", // UtcTime: @timestamp is local time labelled Z
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, guid: "{e2c04bb9-08c3-60c4-1c17-400100000000}", pid: 2164,
				image: `C:\Windows\System32\PING.EXE`, cmd: "ping  -n 3 127.0.0.1",
				user: `WORKSTATION5\APT-Simulator`, integrity: "High",
				parentGUID: "{e2c04bb9-d0f0-60c3-48da-ec0000000000}", parentPID: 5632,
				parentImage: `C:\Windows\System32\cmd.exe`, parentCmd: `"C:\Windows\system32\cmd.exe"`,
				fields: map[string]string{"Hostname": "WORKSTATION5", "ProcessId": "2164"},
			},
		},
		{
			name: "nxlog 4688 (negative 64-bit Keywords, creator PID from the message)",
			file: "nxlog/openedr-4688sample.json", idx: 0,
			want: want{
				format: source.FormatNXLog, kind: source.KindProcessStart,
				time: "2021-06-24T09:12:53Z", host: "XEON-SERVER",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 46882, pid: 7540,
				image: `C:\Windows\System32\icacls.exe`, cmd: `C:\Windows\System32\icacls.exe "C:\ProgramData\ZeroTier`,
				user: `WORKGROUP\XEON-SERVER$`, integrity: "System", parentPID: 0x10b0,
				parentImage: `C:\ProgramData\ZeroTier\One\zerotier-one_x64.exe`,
				fields:      map[string]string{"Keywords": "-9214364837600034816", "ProcessID": "4", "ProcessId": "0x10b0"},
			},
		},
		{
			name: "nxlog sysmon 1",
			file: "nxlog/openedr-test_ProcessCreate.sysmon1.json", idx: 0,
			want: want{
				format: source.FormatNXLog, kind: source.KindProcessStart,
				time: "2021-04-05T04:10:09.353Z", host: "DESKTOP-KTN8LG3", // UtcTime: EventTime is local
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 113744, guid: "{6f9463f8-8da1-606a-852e-000000001800}", pid: 13636,
				image: `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, cmd: `"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=renderer`,
				user: `DESKTOP-KTN8LG3\q`, integrity: "Low",
				parentGUID: "{6f9463f8-8d7f-606a-4f2e-000000001800}", parentPID: 7436,
				parentImage: `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, parentCmd: `"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --profile-directory=Default`,
			},
		},
		{
			name: "wazuh eventchannel sysmon 1 (camelCase restored, doubled backslashes collapsed)",
			file: "wazuh/sysmon_eid_1.ndjson", idx: 0,
			want: want{
				format: source.FormatWazuh, kind: source.KindProcessStart,
				time: "2021-04-28T20:11:55.3643213Z", host: "DESKTOP-2QKFOBA",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 144504, guid: "{4dc16835-c18b-6089-a203-000000002e00}", pid: 648,
				image: `C:\Windows\System32\wscript.exe`, cmd: `"C:\Windows\System32\notepad.exe"`,
				user: `DESKTOP-2QKFOBA\AtomicRedTeamTest`, integrity: "High",
				parentGUID: "{4dc16835-c189-6089-a003-000000002e00}", parentPID: 6876,
				parentImage: `C:\Windows\System32\cscript.exe`, parentCmd: `"C:\Windows\system32\cscript.exe" .\drop-payloads.vbe`,
				fields: map[string]string{"ParentImage": `C:\Windows\System32\cscript.exe`, "EventRecordID": "144504", "Provider_Name": "Microsoft-Windows-Sysmon"},
			},
		},
		{
			name: "wazuh legacy WinEvtLog line, sysmon 1 from the message",
			file: "wazuh/legacy-winevtlog.log", idx: 0,
			want: want{
				format: source.FormatWazuh, kind: source.KindProcessStart,
				time: "2014-12-20T09:29:47Z", host: "WIN-U93G48C7BOP",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, guid: "{00000000-87db-5495-0000-001045f25a00}", pid: 3048,
				image: `C:\Windows\system32\svchost.exe`, cmd: `"C:\Windows\system32\NOTEPAD.EXE" C:\Users\Administrator\Desktop\ossec.log`,
				user: `WIN-U93G48C7BOP\Administrator`, integrity: "High",
				parentGUID: "{00000000-84b9-5494-0000-0010be4a0200}", parentPID: 848,
				parentImage: `C:\Windows\Explorer.EXE`, parentCmd: `C:\Windows\Explorer.EXE`,
				fields: map[string]string{"HashType": "SHA1", "UserName": "SYSTEM", "Domain": "NT AUTHORITY"},
			},
		},
		{
			name: "xml-to-json 4688 v0 (Data: [{Name, text}], no parent name)",
			file: "ptsecurity/eventlog-4688-raw_1.json", idx: 0,
			want: want{
				format: source.FormatXMLJSON, kind: source.KindProcessStart,
				time: "2013-10-23T10:11:57.9763456Z", host: "SOMEONE.acme.com",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 452753, pid: 0x22bc,
				image: `C:\Windows\System32\SearchFilterHost.exe`, user: `ACME\SOMEONE$`, parentPID: 0x568,
				fields: map[string]string{"TokenElevationType": "%%1936", "TokenElevationTypeName": "Type 1: full token (TokenElevationTypeDefault)", "Provider_Name": "Microsoft-Windows-Security-Auditing"},
			},
		},
		{
			name: "xml-to-json sysmon 1",
			file: "ptsecurity/eventlog-sysmon-1-raw_1.json", idx: 0,
			want: want{
				format: source.FormatXMLJSON, kind: source.KindProcessStart,
				time: "2017-12-21T10:53:06.8992556Z", host: "hostname.domain.com",
				provider: "Microsoft-Windows-Sysmon", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, recordID: 44679407, guid: "{684da293-9292-5a3b-0300-00102ef7ad68}", pid: 68096,
				image: `C:\Windows\System32\cmd.exe`, cmd: `C:\Windows\system32\cmd.exe /c C:\Shares\Ltc\LTC\TEMP\BAT`,
				user: `company\SynchCorp`, integrity: "High",
				parentGUID: "{684da293-83f0-5a3b-0300-001024c40a66}", parentPID: 71280,
				parentImage: `C:\Shares\Ltc\Bin\LtcAgent.exe`, parentCmd: `"C:\Shares\Ltc\Bin\LtcAgent.EXE"`,
			},
		},
		{
			name: "wmi Win32_NTLogEvent 4688 (positional InsertionStrings)",
			file: "ptsecurity/wmi-4688-raw_1.json", idx: 0,
			want: want{
				format: source.FormatWMI, kind: source.KindProcessStart,
				time: "2013-10-23T10:11:57Z", host: "SOMEONE.acme.com",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, recordID: 452753, pid: 0x22bc,
				image: `C:\Windows\System32\SearchFilterHost.exe`, user: `ACME\SOMEONE$`, parentPID: 0x568,
				fields: map[string]string{"InsertionStrings": "S-1-5-18", "NewProcessName": `C:\Windows\System32\SearchFilterHost.exe`},
			},
		},
		{
			name: "snare 4688 in RFC 3164, names cut from the message",
			file: "snare/rsyslog-mmsnareparse-sample-windows2022-security.log", idx: 62, // line 63
			want: want{
				format: source.FormatSnare, env: source.EnvelopeRFC3164, kind: source.KindProcessStart,
				time: "2021-09-17T16:37:24Z", host: "WIN-5SB1I3G0V7U",
				provider: "Microsoft-Windows-Security-Auditing", channel: "Security",
				eventID: 4688, pid: 0x174, image: `C:\Windows\System32\smss.exe`,
				integrity: "System", parentPID: 4,
				fields: map[string]string{"syslog.hostname": "WIN-5SB1I3G0V7U", "NewProcessId": "0x174", "Category": "Process Creation", "ParentProcessName": "", "CommandLine": "", "SubjectUserName": "-", "TargetUserSid": "S-1-0-0", "SnareCounter": "6839"},
			},
		},
		{
			name: "qradar @cee: wrapper around a snare 4688 with a target user",
			file: "snare/rsyslog-qradar_json.log", idx: 0,
			want: want{
				format: source.FormatSnare, env: source.EnvelopeCEE, kind: source.KindProcessStart,
				time: "2025-10-01T13:38:40Z", host: "abcddul23105",
				provider: "Windows", channel: "Security",
				eventID: 4688, pid: 0x27a8, image: `C:\Windows\System32\backgroundTaskHost.exe`,
				cmd:  `"C:\WINDOWS\system32\BackgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider`,
				user: `DOMAIN\FOOBAR`, integrity: "Low", parentPID: 0x4b0,
				parentImage: `C:\Windows\System32\svchost.exe`,
				fields:      map[string]string{"logSourceType": "Microsoft Windows Security Event Log", "SubjectUserName": "abcdDUL23105$", "TargetUserName": "FOOBAR"},
			},
		},
		{
			name: "snare sysmon 1 in RFC 3164",
			file: "snare/rsyslog-mmsnareparse-sysmon-test.log", idx: 0,
			want: want{
				format: source.FormatSnare, env: source.EnvelopeRFC3164, kind: source.KindProcessStart,
				time: "2024-04-28T22:08:22.025Z", host: "DC-01",
				provider: "Windows", channel: "Microsoft-Windows-Sysmon/Operational",
				eventID: 1, guid: "{b34fbf9a-ce67-6a14-1111-1121f0a06f11}", pid: 6228,
				image: `C:\Windows\System32\wbem\WmiPrvSE.exe`, cmd: `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`,
				user: `CORP\NETWORK SERVICE`, integrity: "System",
				parentGUID: "{c45gcg0b-df78-7b25-2222-2232g1b17g22}", parentPID: 580,
				parentImage: `C:\Windows\System32\svchost.exe`, parentCmd: `C:\Windows\system32\svchost.exe -k DcomLaunch -p`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := decodeAt(t, tt.file, tt.idx)
			checkEvent(t, &ev, tt.want)
			if string(ev.Raw) != string(recordAt(t, tt.file, tt.idx)) {
				t.Errorf("Raw is not a copy of the record")
			}
			if ev.Origin.Where != tt.file {
				t.Errorf("Origin.Where = %q, want %q", ev.Origin.Where, tt.file)
			}
		})
	}
}

func checkEvent(t *testing.T, ev *source.Event, w want) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	eq("Format", ev.Format, w.format)
	eq("Envelope", ev.Envelope, w.env)
	eq("Kind", ev.Kind, w.kind)
	if w.time != "" {
		wt, err := time.Parse(time.RFC3339Nano, w.time)
		if err != nil {
			t.Fatalf("bad want time %q", w.time)
		}
		if !ev.Time.Equal(wt) {
			t.Errorf("Time = %v, want %v", ev.Time, wt)
		}
	}
	eq("Host", ev.Host, w.host)
	eq("Provider", ev.Provider, w.provider)
	eq("Channel", ev.Channel, w.channel)
	eq("EventID", ev.EventID, w.eventID)
	eq("RecordID", ev.RecordID, w.recordID)
	eq("Process.GUID", ev.Process.GUID, w.guid)
	eq("Process.PID", ev.Process.PID, w.pid)
	eq("Process.Image", ev.Process.Image, w.image)
	if !strings.HasPrefix(ev.Process.CommandLine, w.cmd) || (w.cmd == "" && ev.Process.CommandLine != "") {
		t.Errorf("Process.CommandLine = %q, want prefix %q", ev.Process.CommandLine, w.cmd)
	}
	eq("Process.User", ev.Process.User, w.user)
	eq("Process.IntegrityLevel", ev.Process.IntegrityLevel, w.integrity)
	eq("Parent.GUID", ev.Parent.GUID, w.parentGUID)
	eq("Parent.PID", ev.Parent.PID, w.parentPID)
	eq("Parent.Image", ev.Parent.Image, w.parentImage)
	if !strings.HasPrefix(ev.Parent.CommandLine, w.parentCmd) || (w.parentCmd == "" && ev.Parent.CommandLine != "") {
		t.Errorf("Parent.CommandLine = %q, want prefix %q", ev.Parent.CommandLine, w.parentCmd)
	}
	for name, v := range w.fields {
		got, ok := ev.Field(name)
		if !ok {
			t.Errorf("field %q missing", name)
		} else if got != v {
			t.Errorf("field %q = %q, want %q", name, got, v)
		}
	}
}

var _ = errors.As

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return data
}
