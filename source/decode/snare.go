package decode

import (
	"bytes"
	"time"
)

// snareStart returns where "MSWinEventLog" begins when p is a Snare record (optionally
// after a host name and a tab), or -1.
func snareStart(p []byte) int {
	const tag = "MSWinEventLog"
	k := bytes.Index(p[:min(len(p), 256)], []byte(tag))
	if k < 0 || (k > 0 && !isSpace(p[k-1])) {
		return -1
	}
	rest := p[k+len(tag):]
	if len(rest) > 0 && rest[0] == '\t' || hasPrefix(rest, "#011") {
		return k
	}
	return -1
}

// snareNames are the tab-separated columns of a Snare for Windows record after
// "MSWinEventLog" (Snare's documented order).
var snareNames = [...]string{
	"Criticality", "Channel", "SnareCounter", "SnareTime", "EventID", "SourceName",
	"UserName", "SIDType", "EventType", "Computer", "Category", "DataString", "Message",
	"SnareEventCounter",
}

// scanSnare decodes a Snare MSWinEventLog record; Windows field names are cut out of
// the rendered message for the process events (4688, 4689, Sysmon 1 and 5).
func (d *decoder) scanSnare() bool {
	p := d.rec
	k := snareStart(p)
	sep := []byte{'\t'}
	if !bytes.Contains(p[k:], sep) {
		sep = []byte("#011") // rsyslog's escaped TAB
	}
	rest := p[k+len("MSWinEventLog"):]
	restOff := d.base + k + len("MSWinEventLog")
	if !bytes.HasPrefix(rest, sep) {
		return d.fail("no field separator after MSWinEventLog")
	}
	rest, restOff = rest[len(sep):], restOff+len(sep)
	var idSpan, timeSpan, msgSpan, provSpan span
	col := 0
	for {
		j := bytes.Index(rest, sep)
		v := rest
		if j >= 0 {
			v = rest[:j]
		}
		v = bytes.TrimRight(v, "\r\n")
		vo := restOff
		name := "SnareExtra"
		if col < len(snareNames) {
			name = snareNames[col]
		}
		if !d.addRef(name, vo, vo+len(v)) {
			return false
		}
		switch name {
		case "EventID":
			idSpan = span{vo, vo + len(v)}
		case "SnareTime":
			timeSpan = span{vo, vo + len(v)}
		case "Message":
			msgSpan = span{vo, vo + len(v)}
		case "SourceName":
			provSpan = span{vo, vo + len(v)}
		}
		col++
		if j < 0 {
			break
		}
		rest, restOff = rest[j+len(sep):], restOff+j+len(sep)
	}
	if col < 6 {
		return d.fail("Snare record has %d fields, want at least 6", col)
	}
	if timeSpan.ok() {
		if t, err := time.Parse("Mon Jan _2 15:04:05 2006", string(d.buf[timeSpan.off:timeSpan.end])); err == nil {
			d.altTime = t
		}
	}
	if msgSpan.ok() {
		id, _ := parseUint(string(d.buf[idSpan.off:idSpan.end]), 32)
		sysmon := bytes.Contains(d.buf[provSpan.off:provSpan.end], []byte("Sysmon")) ||
			bytes.Contains(d.buf[msgSpan.off:msgSpan.end], []byte("Sysmon"))
		return d.messageFields(uint32(id), sysmon, msgSpan)
	}
	return true
}

// label is a label in a rendered Windows message and the field name its value gets
// ("" for a section heading that only separates values).
type label struct{ text, name string }

var labels4688 = []label{
	{"Security ID:", "SubjectUserSid"}, {"Account Name:", "SubjectUserName"},
	{"Account Domain:", "SubjectDomainName"}, {"Logon ID:", "SubjectLogonId"},
	{"Target Subject:", ""},
	{"Security ID:", "TargetUserSid"}, {"Account Name:", "TargetUserName"},
	{"Account Domain:", "TargetDomainName"}, {"Logon ID:", "TargetLogonId"},
	{"Process Information:", ""},
	{"New Process ID:", "NewProcessId"}, {"New Process Name:", "NewProcessName"},
	{"Token Elevation Type:", "TokenElevationType"}, {"Mandatory Label:", "MandatoryLabel"},
	{"Creator Process ID:", "ProcessId"}, {"Creator Process Name:", "ParentProcessName"},
	{"Process Command Line:", "CommandLine"},
	// The explanation Windows appends to the rendered text ends the command line.
	{"Token Elevation Type indicates", ""},
}

var labels4689 = []label{
	{"Security ID:", "SubjectUserSid"}, {"Account Name:", "SubjectUserName"},
	{"Account Domain:", "SubjectDomainName"}, {"Logon ID:", "SubjectLogonId"},
	{"Process Information:", ""},
	{"Process ID:", "ProcessId"}, {"Process Name:", "ProcessName"}, {"Exit Status:", "Status"},
}

var labelsSysmon1 = []label{
	{"RuleName:", "RuleName"}, {"UtcTime:", "UtcTime"}, {"ProcessGuid:", "ProcessGuid"},
	{"ProcessId:", "ProcessId"}, {"Image:", "Image"}, {"FileVersion:", "FileVersion"},
	{"Description:", "Description"}, {"Product:", "Product"}, {"Company:", "Company"},
	{"OriginalFileName:", "OriginalFileName"}, {"CommandLine:", "CommandLine"},
	{"CurrentDirectory:", "CurrentDirectory"}, {"User:", "User"}, {"LogonGuid:", "LogonGuid"},
	{"LogonId:", "LogonId"}, {"TerminalSessionId:", "TerminalSessionId"},
	{"IntegrityLevel:", "IntegrityLevel"}, {"HashType:", "HashType"}, {"Hash:", "Hash"},
	{"Hashes:", "Hashes"},
	{"ParentProcessGuid:", "ParentProcessGuid"}, {"ParentProcessId:", "ParentProcessId"},
	{"ParentImage:", "ParentImage"}, {"ParentCommandLine:", "ParentCommandLine"},
	{"ParentUser:", "ParentUser"},
}

var labelsSysmon5 = []label{
	{"RuleName:", "RuleName"}, {"UtcTime:", "UtcTime"}, {"ProcessGuid:", "ProcessGuid"},
	{"ProcessId:", "ProcessId"}, {"Image:", "Image"}, {"User:", "User"},
}

// messageFields cuts Windows field values out of a rendered message (buf span m) for
// the process events; other events keep just the message.
func (d *decoder) messageFields(id uint32, sysmon bool, m span) bool {
	var ls []label
	switch {
	case sysmon && id == 1:
		ls = labelsSysmon1
	case sysmon && id == 5:
		ls = labelsSysmon5
	case !sysmon && id == 4688:
		ls = labels4688
	case !sysmon && id == 4689:
		ls = labels4689
	default:
		return true
	}
	msg := d.buf[m.off:m.end]
	var pos [32]struct{ at, end int }
	if len(ls) > len(pos) {
		return true // a label table outgrew pos: keep the message only
	}
	// Find each label in order, each after the previous one found; a label that is not
	// there (4688 v0 has no target, no parent name) is skipped.
	from := 0
	for k, l := range ls {
		pos[k].at = -1
		at := findLabel(msg, l.text, from)
		if at < 0 {
			continue
		}
		pos[k] = struct{ at, end int }{at, at + len(l.text)}
		from = at + len(l.text)
	}
	for k, l := range ls {
		if pos[k].at < 0 || l.name == "" {
			continue
		}
		end := len(msg)
		for n := k + 1; n < len(ls); n++ {
			if pos[n].at >= 0 {
				end = pos[n].at
				break
			}
		}
		vs, ve := pos[k].end, end
		for vs < ve && isSpace(msg[vs]) {
			vs++
		}
		for ve > vs && isSpace(msg[ve-1]) {
			ve--
		}
		if !d.addRef(l.name, m.off+vs, m.off+ve) {
			return false
		}
	}
	return true
}

// findLabel finds text in msg at or after from, at a word boundary.
func findLabel(msg []byte, text string, from int) int {
	for from <= len(msg) {
		k := bytes.Index(msg[from:], []byte(text))
		if k < 0 {
			return -1
		}
		at := from + k
		if at == 0 || isSpace(msg[at-1]) {
			return at
		}
		from = at + 1
	}
	return -1
}

// winEvtLogStart returns where "WinEvtLog: " starts in a Wazuh/OSSEC legacy line
// ("2014 Dec 20 09:29:47 WinEvtLog: ..."), or -1.
func winEvtLogStart(p []byte) int {
	k := bytes.Index(p[:min(len(p), 40)], []byte(" WinEvtLog: "))
	if k < 0 {
		return -1
	}
	return k + 1
}

// scanWinEvtLog decodes OSSEC/Wazuh's pre-3.8 eventlog line:
// "YYYY Mon DD hh:mm:ss WinEvtLog: CHANNEL: TYPE(ID): PROVIDER: USER: DOMAIN: HOST: MESSAGE".
func (d *decoder) scanWinEvtLog() bool {
	p := d.rec
	k := winEvtLogStart(p)
	if t, err := time.Parse("2006 Jan _2 15:04:05", string(bytes.TrimSpace(p[:k]))); err == nil {
		d.altTime = t
	}
	rest := p[k+len("WinEvtLog: "):]
	off := d.base + k + len("WinEvtLog: ")
	names := [...]string{"Channel", "EventType", "SourceName", "UserName", "Domain", "Computer"}
	var id uint32
	var provSpan span
	for n, name := range names {
		j := bytes.Index(rest, []byte(": "))
		if j < 0 {
			return d.fail("WinEvtLog line has %d of its 7 fields", n)
		}
		v := rest[:j]
		if name == "EventType" {
			// "INFORMATION(1)", "AUDIT_SUCCESS(4688)"
			if a, b := bytes.IndexByte(v, '('), bytes.LastIndexByte(v, ')'); a > 0 && b > a {
				if !d.addRef("EventID", off+a+1, off+b) {
					return false
				}
				n, _ := parseUint(string(v[a+1:b]), 32)
				id = uint32(n)
				v = v[:a]
			}
		}
		if name == "SourceName" {
			provSpan = span{off, off + len(v)}
		}
		if !d.addRef(name, off, off+len(v)) {
			return false
		}
		rest, off = rest[j+2:], off+j+2
	}
	rest = bytes.TrimRight(rest, "\r\n")
	if !d.addRef("Message", off, off+len(rest)) {
		return false
	}
	sysmon := bytes.Contains(d.buf[provSpan.off:provSpan.end], []byte("Sysmon"))
	return d.messageFields(id, sysmon, span{off, off + len(rest)})
}
