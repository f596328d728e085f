// Package source defines the normalized Event that every feed produces and the
// plumbing feeds share: origins, states and counters. It never imports detect or ui.
package source

import (
	"strings"
	"time"
)

// Kind says what an event means for the process tree.
type Kind uint8

const (
	KindOther Kind = iota
	KindProcessStart
	KindProcessEnd
)

func (k Kind) String() string {
	switch k {
	case KindProcessStart:
		return "process_start"
	case KindProcessEnd:
		return "process_end"
	default:
		return "other"
	}
}

// Format names the shape a record arrived in; decoders set it, counters use it.
type Format uint8

const (
	FormatUnknown  Format = iota
	FormatXML             // Windows event XML (EvtRender, wevtutil, python-evtx)
	FormatEVTXJSON        // {"Event":{"System":...,"EventData":...}} (evtx-rs, Sigma regression data)
	FormatECS             // Winlogbeat / Elastic Agent (ECS or winlog.* / legacy event_data)
	FormatNXLog           // NXLog im_msvistalog + to_json
	FormatWazuh           // Wazuh eventchannel win.system / win.eventdata
	FormatSnare           // Snare MSWinEventLog tab-delimited
	FormatFlatJSON        // Sysmon/4688 names at top level
	FormatXMLJSON         // XML-to-JSON with Data: [{Name, text}] (PT xp-rules)
	FormatWMI             // WMI Win32_NTLogEvent objects
	formatCount
)

// FormatCount is the number of formats, for arrays indexed by Format.
const FormatCount = int(formatCount)

var formatNames = [...]string{"unknown", "xml", "evtx-json", "ecs", "nxlog", "wazuh", "snare", "flat-json", "xml-json", "wmi"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Envelope names the transport header a record was wrapped in, if any.
type Envelope uint8

const (
	EnvelopeNone Envelope = iota
	EnvelopeRFC3164
	EnvelopeRFC5424
	EnvelopeCEE // "@cee:" JSON wrapper
)

// Origin says where a record came from: the feed and the place inside it.
type Origin struct {
	Feed   string // feed name as shown in the status bar: "file:/var/log/x.json", "tcp://:1514"
	Where  string // file name, or peer address
	Line   int64  // 1-based line of the record's first byte in a file; 0 when not a file
	Offset int64  // byte offset of the record in a file or stream
}

// String renders the origin as "file:line" or "peer" for messages and hunt output.
func (o Origin) String() string {
	switch {
	case o.Where != "" && o.Line > 0:
		return o.Where + ":" + itoa(o.Line)
	case o.Where != "":
		return o.Where
	default:
		return o.Feed
	}
}

// Process is the process an event is about.
type Process struct {
	GUID             string
	PID              uint32
	Image            string
	CommandLine      string
	CurrentDirectory string
	User             string
	IntegrityLevel   string
	Hashes           string
	OriginalFileName string
}

// Parent is the creator of Process, as far as the event says.
type Parent struct {
	GUID        string
	PID         uint32
	Image       string
	CommandLine string
	User        string
}

// Field is one original field of the record, under the name the record gives it.
// EventData entries keep their bare Windows name ("Image", "ParentImage"); envelope and
// ECS fields keep their dotted path ("process.executable", "winlog.channel").
type Field struct {
	Name  string
	Value string
}

// Event is one Windows event, normalized. Decoders fill it; nothing downstream mutates
// it except the engine's parent enrichment (which sets ParentFromTree).
type Event struct {
	Time     time.Time
	Host     string
	Kind     Kind
	Format   Format
	Envelope Envelope
	Provider string
	Channel  string
	EventID  uint32
	Version  uint8
	RecordID uint64
	Process  Process
	Parent   Parent
	// Message is the rendered message where the format carries one (Snare, NXLog, ECS message).
	Message string
	Origin  Origin
	// Fields holds every original field in record order.
	Fields []Field
	// Raw is the original record bytes, owned by the event and read-only: decoders may
	// back Fields' strings with the same memory.
	Raw []byte
	// ParentFromTree is set when Parent.Image was filled from the process tree, not the record.
	ParentFromTree bool
}

// Field returns the value of the original field name, trying an exact match first and
// then a case-insensitive one (Wazuh lower-cases the first letter of Windows names).
func (e *Event) Field(name string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	for i := range e.Fields {
		if strings.EqualFold(e.Fields[i].Name, name) {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// IsProcessStart reports whether the event is a process creation (Sysmon 1, Security 4688,
// ECS process start).
func (e *Event) IsProcessStart() bool { return e.Kind == KindProcessStart }

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
