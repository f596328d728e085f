package decode

import (
	"strings"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// slots are the well-known values picked out of an event's fields in one pass; each
// name a format uses for a concept lands in the same slot, in priority order.
type slots struct {
	eventID, provider, channel, host, recordID, version string
	sysTime, ecsTime, otherTime, utcTime                string
	message                                             string

	// Sysmon names
	image, pguid, pid, cmd, cwd, user, integrity, hashes, ofn string
	parentImage, parentGUID, parentPID, parentCmd, parentUser string
	processName                                               string // 4689

	// Security 4688 names
	newProcessName, newProcessID, parentProcessName, creatorPID string
	subjUser, subjDomain, targUser, targDomain, targSID         string
	mandatoryLabel, tokenElevation                              string

	// ECS names
	ecsExe, ecsPID, ecsEntity, ecsCmd, ecsCwd, ecsUser, ecsDomain, ecsOFN string
	ecsHash                                                               string
	ecsPExe, ecsPName, ecsPPID, ecsPEntity, ecsPCmd                       string
	ecsCatProcess, ecsTypeStart, ecsTypeEnd                               bool
	ecsHost, ecsCode, ecsIntegrity                                        string
}

// mapEvent fills ev's normalized fields from ev.Fields (names already restored to the
// Windows/ECS conventions by the scanners).
func mapEvent(d *decoder, ev *source.Event, hdrHost string) {
	s := &d.sv
	var hashIdx [8]int
	hashes := hashIdx[:0]
	if d.format == source.FormatWMI {
		wmiNames(ev)
	}
	for i := range ev.Fields {
		f := &ev.Fields[i]
		v := f.Value
		switch f.Name {
		case "EventID", "event_id", "winlog.event_id", "EventCode", "EventId":
			setIf(&s.eventID, v)
		case "event.code":
			setIf(&s.ecsCode, v)
		case "Provider_Name", "Provider", "SourceName", "source_name", "winlog.provider_name", "event.provider":
			setIf(&s.provider, v)
		case "Channel", "log_name", "winlog.channel", "Logfile":
			setIf(&s.channel, v)
		case "Computer", "winlog.computer_name", "computer_name", "Hostname", "ComputerName":
			setIf(&s.host, v)
		case "host.name", "host.hostname":
			setIf(&s.ecsHost, v)
		case "EventRecordID", "RecordNumber", "record_number", "winlog.record_id":
			setIf(&s.recordID, v)
		case "Version", "winlog.version":
			setIf(&s.version, v)
		case "TimeCreated_SystemTime":
			setIf(&s.sysTime, v)
		case "@timestamp":
			setIf(&s.ecsTime, v)
		case "EventTime", "TimeCreated", "TimeGenerated", "winlog.time_created", "SnareTime":
			setIf(&s.otherTime, v)
		case "UtcTime":
			setIf(&s.utcTime, v)
		case "Message", "message":
			setIf(&s.message, v)
		case "Image":
			setIf(&s.image, v)
		case "ProcessGuid":
			setIf(&s.pguid, v)
		case "ProcessId":
			setIf(&s.pid, v)
		case "CommandLine":
			setIf(&s.cmd, v)
		case "CurrentDirectory":
			setIf(&s.cwd, v)
		case "User":
			setIf(&s.user, v)
		case "IntegrityLevel":
			setIf(&s.integrity, v)
		case "Hashes":
			setIf(&s.hashes, v)
		case "OriginalFileName":
			setIf(&s.ofn, v)
		case "ParentImage":
			setIf(&s.parentImage, v)
		case "ParentProcessGuid":
			setIf(&s.parentGUID, v)
		case "ParentProcessId":
			setIf(&s.parentPID, v)
		case "ParentCommandLine":
			setIf(&s.parentCmd, v)
		case "ParentUser":
			setIf(&s.parentUser, v)
		case "ProcessName":
			setIf(&s.processName, v)
		case "NewProcessName":
			setIf(&s.newProcessName, v)
		case "NewProcessId":
			setIf(&s.newProcessID, v)
		case "ParentProcessName":
			setIf(&s.parentProcessName, v)
		case "SubjectUserName":
			setIf(&s.subjUser, v)
		case "SubjectDomainName":
			setIf(&s.subjDomain, v)
		case "TargetUserName":
			setIf(&s.targUser, v)
		case "TargetDomainName":
			setIf(&s.targDomain, v)
		case "TargetUserSid":
			setIf(&s.targSID, v)
		case "MandatoryLabel":
			setIf(&s.mandatoryLabel, v)
		case "TokenElevationType":
			setIf(&s.tokenElevation, v)
		case "process.executable":
			setIf(&s.ecsExe, v)
		case "process.pid":
			setIf(&s.ecsPID, v)
		case "process.entity_id":
			setIf(&s.ecsEntity, v)
		case "process.command_line":
			setIf(&s.ecsCmd, v)
		case "process.working_directory":
			setIf(&s.ecsCwd, v)
		case "process.pe.original_file_name":
			setIf(&s.ecsOFN, v)
		case "user.name":
			setIf(&s.ecsUser, v)
		case "user.domain":
			setIf(&s.ecsDomain, v)
		case "process.parent.executable":
			setIf(&s.ecsPExe, v)
		case "process.parent.name":
			setIf(&s.ecsPName, v)
		case "process.parent.pid":
			setIf(&s.ecsPPID, v)
		case "process.parent.entity_id":
			setIf(&s.ecsPEntity, v)
		case "process.parent.command_line":
			setIf(&s.ecsPCmd, v)
		case "event.category":
			if v == "process" {
				s.ecsCatProcess = true
			}
		case "event.type":
			switch v {
			case "start":
				s.ecsTypeStart = true
			case "end":
				s.ecsTypeEnd = true
			}
		default:
			if strings.HasPrefix(f.Name, "process.hash.") && v != "" {
				hashes = append(hashes, i)
			}
		}
	}

	if len(hashes) > 0 {
		// ECS moves Sysmon's Hashes into process.hash.*: rebuild "SHA1=...,MD5=...".
		var b []byte
		for k, i := range hashes {
			if k > 0 {
				b = append(b, ',')
			}
			f := ev.Fields[i]
			for _, c := range []byte(f.Name[len("process.hash."):]) {
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				b = append(b, c)
			}
			b = append(b, '=')
			b = append(b, f.Value...)
		}
		s.ecsHash = string(b)
	}
	if s.eventID == "" {
		s.eventID = s.ecsCode
	}
	id, _ := parseUint(s.eventID, 32)
	ev.EventID = uint32(id)
	ev.Provider = s.provider
	ev.Channel = s.channel
	ev.Host = firstOf(s.host, s.ecsHost, hdrHost)
	ev.RecordID, _ = parseUint(s.recordID, 64)
	if v, ok := parseUint(s.version, 8); ok {
		ev.Version = uint8(v)
	}
	ev.Message = s.message
	// SystemTime is UTC by definition; ECS @timestamp is the normalized time. Elsewhere
	// (flat JSON, NXLog, WMI, Snare) the collector's time is often local time, sometimes
	// labelled "Z", while Sysmon's UtcTime is what it says.
	if d.format == source.FormatECS {
		ev.Time = firstTime(s.sysTime, s.ecsTime, s.utcTime, s.otherTime)
	} else {
		ev.Time = firstTime(s.sysTime, s.utcTime, s.ecsTime, s.otherTime)
	}
	if ev.Time.IsZero() {
		ev.Time = d.altTime
	}
	if ev.Time.IsZero() {
		ev.Time = d.hdrTime
	}

	if d.format == source.FormatNXLog && s.pid == "" {
		// NXLog folds field names case-insensitively, so EventData's ProcessId is lost
		// under the System ProcessID; the rendered message still has it.
		label := "ProcessId:"
		if s.eventID == "4688" {
			label = "Creator Process ID:"
		}
		if v := messageValue(s.message, label); v != "" {
			s.pid = v
			ev.Fields = append(ev.Fields, source.Field{Name: "ProcessId", Value: v})
		}
	}
	sysmon := strings.Contains(s.provider, "Sysmon") || strings.Contains(s.channel, "Sysmon")
	security := strings.Contains(s.provider, "Security-Auditing") || s.channel == "Security" ||
		s.newProcessName != "" || s.processName != ""
	switch {
	case sysmon || (!security && (s.image != "" || s.pguid != "")):
		mapSysmon(s, ev)
		if sysmon || s.eventID != "" {
			switch ev.EventID {
			case 1:
				ev.Kind = source.KindProcessStart
			case 5:
				ev.Kind = source.KindProcessEnd
			}
		}
	case ev.EventID == 4688:
		map4688(s, ev)
		ev.Kind = source.KindProcessStart
	case ev.EventID == 4689:
		ev.Process.Image = s.processName
		ev.Process.PID = parsePID(s.pid)
		ev.Process.User = joinUser(s.subjDomain, s.subjUser)
		ev.Kind = source.KindProcessEnd
	}
	if d.format == source.FormatECS {
		mapECS(s, ev)
	}
	ev.Process.GUID = canonicalGUID(ev.Process.GUID)
	ev.Parent.GUID = canonicalGUID(ev.Parent.GUID)
	if tok := tokenElevationName(s.tokenElevation); tok != "" {
		ev.Fields = append(ev.Fields, source.Field{Name: "TokenElevationTypeName", Value: tok})
	}
}

// messageValue returns the value after label (at a word boundary) up to the end of its
// line in a rendered Windows message.
func messageValue(msg, label string) string {
	at := -1
	for from := 0; from < len(msg); {
		k := strings.Index(msg[from:], label)
		if k < 0 {
			return ""
		}
		if k += from; k == 0 || isSpace(msg[k-1]) {
			at = k
			break
		}
		from = k + 1
	}
	if at < 0 {
		return ""
	}
	v := msg[at+len(label):]
	if k := strings.IndexAny(v, "\r\n"); k >= 0 {
		v = v[:k]
	}
	return strings.TrimSpace(v)
}

func mapSysmon(s *slots, ev *source.Event) {
	ev.Process = source.Process{
		GUID: s.pguid, PID: parsePID(s.pid), Image: s.image, CommandLine: s.cmd,
		CurrentDirectory: s.cwd, User: s.user, IntegrityLevel: s.integrity, Hashes: s.hashes,
		OriginalFileName: s.ofn,
	}
	ev.Parent = source.Parent{
		GUID: s.parentGUID, PID: parsePID(s.parentPID), Image: knownParent(s.parentImage),
		CommandLine: knownParent(s.parentCmd), User: knownParent(s.parentUser),
	}
}

// map4688 maps Security 4688 (any version; fields are looked at, not the version).
// The process runs as Target* when version 2 names a real target account; the
// creator (Subject*) is then the parent's user.
func map4688(s *slots, ev *source.Event) {
	subject := joinUser(s.subjDomain, s.subjUser)
	user := subject
	if s.targUser != "" && s.targUser != "-" && s.targSID != "S-1-0-0" {
		user = joinUser(s.targDomain, s.targUser)
		ev.Parent.User = subject
	}
	ev.Process.Image = s.newProcessName
	ev.Process.PID = parsePID(s.newProcessID)
	ev.Process.CommandLine = s.cmd
	ev.Process.User = user
	ev.Process.IntegrityLevel = integrityName(s.mandatoryLabel)
	ev.Parent.Image = knownParent(s.parentProcessName)
	ev.Parent.PID = parsePID(s.pid)
}

// mapECS fills what the Windows names left empty from ECS process.*/user.* fields.
func mapECS(s *slots, ev *source.Event) {
	p, q := &ev.Process, &ev.Parent
	setIf(&p.Image, s.ecsExe)
	if p.PID == 0 {
		p.PID = parsePID(s.ecsPID)
	}
	setIf(&p.GUID, s.ecsEntity)
	setIf(&p.CommandLine, s.ecsCmd)
	setIf(&p.CurrentDirectory, s.ecsCwd)
	setIf(&p.OriginalFileName, s.ecsOFN)
	setIf(&p.Hashes, s.ecsHash)
	if p.User == "" && s.ecsUser != "" {
		p.User = joinUser(s.ecsDomain, s.ecsUser)
	}
	setIf(&q.Image, knownParent(firstOf(s.ecsPExe, s.ecsPName)))
	if q.PID == 0 {
		q.PID = parsePID(s.ecsPPID)
	}
	setIf(&q.GUID, s.ecsPEntity)
	setIf(&q.CommandLine, s.ecsPCmd)
	if ev.Kind == source.KindOther && s.ecsCatProcess {
		switch {
		case s.ecsTypeStart:
			ev.Kind = source.KindProcessStart
		case s.ecsTypeEnd:
			ev.Kind = source.KindProcessEnd
		}
	}
}

// canonicalGUID writes a GUID the way Windows renders it, "{lower-case}", so the shapes
// of one process (evtx-rs writes "0197231E-...", ECS ingest "{9F32B55F-...}") agree.
// Anything that is not a 36-character GUID is returned unchanged; Fields keep the original.
func canonicalGUID(g string) string {
	core := strings.TrimSuffix(strings.TrimPrefix(g, "{"), "}")
	if len(core) != 36 || core[8] != '-' || core[13] != '-' || core[18] != '-' || core[23] != '-' {
		return g
	}
	lower := true
	for i := 0; i < len(core); i++ {
		if core[i] >= 'A' && core[i] <= 'Z' {
			lower = false
			break
		}
	}
	if lower && len(g) == 38 {
		return g
	}
	var b [38]byte
	b[0], b[37] = '{', '}'
	for i := 0; i < 36; i++ {
		c := core[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i+1] = c
	}
	return string(b[:])
}

func setIf(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// knownParent maps the "unknown" spellings ("-", "?", empty) to empty; the original
// value stays in Fields.
func knownParent(v string) string {
	switch strings.TrimSpace(v) {
	case "-", "?", "":
		return ""
	}
	return v
}

func joinUser(domain, name string) string {
	if name == "" || name == "-" {
		return ""
	}
	if domain == "" || domain == "-" {
		return name
	}
	return domain + `\` + name
}

// integrityName maps a mandatory label SID to its level name; an unknown value is
// returned as it is.
func integrityName(sid string) string {
	switch strings.ToUpper(sid) {
	case "":
		return ""
	case "S-1-16-0":
		return "Untrusted"
	case "S-1-16-4096":
		return "Low"
	case "S-1-16-8192":
		return "Medium"
	case "S-1-16-8448":
		return "MediumPlus"
	case "S-1-16-12288":
		return "High"
	case "S-1-16-16384":
		return "System"
	case "S-1-16-20480":
		return "Protected"
	}
	// Snare renders the label: "Mandatory Label\High Mandatory Level".
	if i := strings.LastIndexByte(sid, '\\'); i >= 0 {
		lvl := strings.TrimSuffix(sid[i+1:], " Mandatory Level")
		switch lvl {
		case "Untrusted", "Low", "Medium", "High", "System", "Protected Process":
			if lvl == "Protected Process" {
				return "Protected"
			}
			return lvl
		case "Medium Plus":
			return "MediumPlus"
		}
	}
	return sid
}

// tokenElevationName explains a 4688 TokenElevationType; it is added to Fields as
// TokenElevationTypeName next to the original "%%1936".
func tokenElevationName(v string) string {
	switch strings.TrimSpace(v) {
	case "%%1936":
		return "Type 1: full token (TokenElevationTypeDefault)"
	case "%%1937":
		return "Type 2: elevated token (TokenElevationTypeFull)"
	case "%%1938":
		return "Type 3: limited token (TokenElevationTypeLimited)"
	}
	return ""
}

// parsePID parses a decimal or 0x-hex process ID; anything else (or out of range) is 0.
func parsePID(v string) uint32 {
	n, ok := parseUint(v, 32)
	if !ok {
		return 0
	}
	return uint32(n)
}

// parseUint parses decimal or 0x-prefixed hex, bounded to bits.
func parseUint(v string, bits uint) (uint64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	base := uint64(10)
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		base, v = 16, v[2:]
	}
	var n uint64
	limit := uint64(1)<<bits - 1
	if bits == 64 {
		limit = ^uint64(0)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		var dgt uint64
		switch {
		case c >= '0' && c <= '9':
			dgt = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			dgt = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			dgt = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if n > (limit-dgt)/base {
			return 0, false
		}
		n = n*base + dgt
	}
	return n, true
}

func firstTime(vs ...string) time.Time {
	for _, v := range vs {
		if v == "" {
			continue
		}
		if t, ok := parseTime(v); ok {
			return t
		}
	}
	return time.Time{}
}

// parseTime reads the timestamps Windows formats use: RFC 3339 with 0-9 fraction digits,
// a space instead of 'T', with or without a zone (no zone means UTC: Windows writes UTC,
// NXLog and WMI local time without saying which, so UTC is the least wrong guess).
func parseTime(v string) (time.Time, bool) {
	if len(v) < 19 {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	dd, ok3 := num(v[8:10])
	hh, ok4 := num(v[11:13])
	mi, ok5 := num(v[14:16])
	ss, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || v[4] != '-' || v[7] != '-' ||
		(v[10] != 'T' && v[10] != ' ') || v[13] != ':' || v[16] != ':' ||
		mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 60 {
		return time.Time{}, false
	}
	rest := v[19:]
	ns := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		k := 1
		scale := 100000000
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			ns += int(rest[k]-'0') * scale
			scale /= 10
			k++
		}
		rest = rest[k:]
	}
	loc := time.UTC
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, ok1 := num(rest[1:3])
		m, ok2 := num(rest[4:6])
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		off := h*3600 + m*60
		if rest[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), dd, hh, mi, ss, ns, loc).UTC(), true
}
