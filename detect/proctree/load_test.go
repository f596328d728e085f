package proctree

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// These helpers turn the test data into source.Events, just enough for the tree; the
// real decoders live in source/decode.

// loadFlat reads OTRF flat JSON lines (Sysmon 1 and 4688) into events, in file order.
func loadFlat(t *testing.T, name string) []source.Event { return loadFlatClock(t, name, false) }

// loadFlatClock reads OTRF flat JSON lines; Sysmon 1/5 and Security 4688/4689 become
// process starts and ends, everything else KindOther. With collector set, every event
// takes the collector's TimeCreated (one clock for all sources) instead of Sysmon's UtcTime.
func loadFlatClock(t *testing.T, name string, collector bool) []source.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []source.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		ev := source.Event{Host: s("Hostname"), Kind: source.KindProcessStart}
		id, _ := m["EventID"].(float64)
		sysmonEv := s("Channel") == "Microsoft-Windows-Sysmon/Operational"
		switch {
		case id == 5 && sysmonEv:
			ev.Kind, ev.EventID = source.KindProcessEnd, 5
			ev.Time = mustTime(t, "2006-01-02 15:04:05.000", s("UtcTime"))
			ev.Process = source.Process{GUID: s("ProcessGuid"), PID: mustPID(t, s("ProcessId"), 10), Image: s("Image")}
		case id == 4689:
			ev.Kind, ev.EventID = source.KindProcessEnd, 4689
			ev.Time = mustTime(t, time.RFC3339Nano, s("TimeCreated"))
			ev.Process = source.Process{PID: mustPID(t, s("ProcessId"), 16), Image: s("ProcessName")}
		case id != 1 && id != 4688:
			ev.Kind, ev.EventID = source.KindOther, uint32(id)
		case id == 1:
			ev.EventID = 1
			// Sysmon's UtcTime is the trustworthy clock in these datasets (SOURCE.md).
			ev.Time = mustTime(t, "2006-01-02 15:04:05.000", s("UtcTime"))
			ev.Process = source.Process{GUID: s("ProcessGuid"), PID: mustPID(t, s("ProcessId"), 10), Image: s("Image"), CommandLine: s("CommandLine"), User: s("User")}
			ev.Parent = source.Parent{GUID: s("ParentProcessGuid"), PID: mustPID(t, s("ParentProcessId"), 10), Image: s("ParentImage"), CommandLine: s("ParentCommandLine")}
		default:
			ev.EventID = 4688
			ts := s("TimeCreated")
			if ts == "" { // some datasets carry only the collector's @timestamp
				ts = s("@timestamp")
			}
			ev.Time = mustTime(t, time.RFC3339Nano, ts)
			ev.Process = source.Process{PID: mustPID(t, s("NewProcessId"), 16), Image: s("NewProcessName"), CommandLine: s("CommandLine"), User: s("SubjectDomainName") + `\` + s("SubjectUserName")}
			ev.Parent = source.Parent{PID: mustPID(t, s("ProcessId"), 16), Image: s("ParentProcessName")}
		}
		if collector {
			ev.Time = mustTime(t, time.RFC3339Nano, s("TimeCreated"))
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

var (
	xmlEvent = regexp.MustCompile(`(?s)<Event .*?</Event>`)
	xmlData  = regexp.MustCompile(`<Data Name="(\w+)">([^<]*)</Data>`)
	xmlTime  = regexp.MustCompile(`SystemTime="([^"]+)"`)
	xmlHost  = regexp.MustCompile(`<Computer>([^<]*)</Computer>`)
)

// loadXML4688 reads python-evtx rendered 4688 records.
func loadXML4688(t *testing.T, name string) []source.Event {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var evs []source.Event
	for _, rec := range xmlEvent.FindAll(data, -1) {
		d := map[string]string{}
		for _, m := range xmlData.FindAllSubmatch(rec, -1) {
			d[string(m[1])] = string(m[2])
		}
		evs = append(evs, source.Event{
			Time:    mustTime(t, "2006-01-02 15:04:05.999999", string(xmlTime.FindSubmatch(rec)[1])),
			Host:    string(xmlHost.FindSubmatch(rec)[1]),
			Kind:    source.KindProcessStart,
			EventID: 4688,
			Version: 1,
			Process: source.Process{PID: mustPID(t, d["NewProcessId"], 16), Image: d["NewProcessName"], CommandLine: d["CommandLine"]},
			Parent:  source.Parent{PID: mustPID(t, d["ProcessId"], 16), Image: d["ParentProcessName"]},
		})
	}
	return evs
}

func mustTime(t *testing.T, layout, s string) time.Time {
	t.Helper()
	v, err := time.Parse(layout, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

func mustPID(t *testing.T, s string, base int) uint32 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), base, 32)
	if err != nil {
		t.Fatalf("pid %q: %v", s, err)
	}
	return uint32(v)
}

func only(evs []source.Event, id uint32) []source.Event {
	var out []source.Event
	for _, ev := range evs {
		if ev.EventID == id {
			out = append(out, ev)
		}
	}
	return out
}
