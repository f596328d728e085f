package sigma

import (
	"strings"

	"github.com/vigil-soc/vigil/source"
)

// accKind names which part of an Event a Sigma field name reads. Field names are
// resolved once at compile time; the canonical struct field wins when it is set (so one
// rule fires on Sysmon, 4688 and ECS shapes alike), else the original field by name.
type accKind uint8

const (
	accField accKind = iota // ev.Field(name) only
	accImage
	accParentImage
	accCommandLine
	accParentCommandLine
	accUser
	accParentUser
	accPID
	accParentPID
	accGUID
	accParentGUID
	accCurrentDirectory
	accIntegrityLevel
	accHashes
	accOriginalFileName
	accHost
	accEventID
	accChannel
	accProvider
	accKeywords // a keyword search: every field value and the message
)

// canonical maps Sigma (and 4688 / ECS) field names to the Event struct field they mean.
var canonical = map[string]accKind{
	"Image":                         accImage,
	"NewProcessName":                accImage,
	"process.executable":            accImage,
	"ParentImage":                   accParentImage,
	"ParentProcessName":             accParentImage,
	"process.parent.executable":     accParentImage,
	"CommandLine":                   accCommandLine,
	"process.command_line":          accCommandLine,
	"ParentCommandLine":             accParentCommandLine,
	"process.parent.command_line":   accParentCommandLine,
	"User":                          accUser,
	"ParentUser":                    accParentUser,
	"ProcessId":                     accPID,
	"process.pid":                   accPID,
	"ParentProcessId":               accParentPID,
	"process.parent.pid":            accParentPID,
	"ProcessGuid":                   accGUID,
	"process.entity_id":             accGUID,
	"ParentProcessGuid":             accParentGUID,
	"process.parent.entity_id":      accParentGUID,
	"CurrentDirectory":              accCurrentDirectory,
	"process.working_directory":     accCurrentDirectory,
	"IntegrityLevel":                accIntegrityLevel,
	"Hashes":                        accHashes,
	"OriginalFileName":              accOriginalFileName,
	"process.pe.original_file_name": accOriginalFileName,
	"Computer":                      accHost,
	"host.name":                     accHost,
	"EventID":                       accEventID,
	"event.code":                    accEventID,
	"Channel":                       accChannel,
	"winlog.channel":                accChannel,
	"Provider_Name":                 accProvider,
	"winlog.provider_name":          accProvider,
}

// accessor reads one Sigma field from an Event.
type accessor struct {
	kind accKind
	name string // the field name exactly as the rule wrote it
}

func resolveField(name string) accessor {
	if k, ok := canonical[name]; ok {
		return accessor{kind: k, name: name}
	}
	// Case-insensitive names still resolve (Wazuh restores Windows names; rule authors
	// vary), but only when no exact canonical name exists.
	for n, k := range canonical {
		if strings.EqualFold(n, name) {
			return accessor{kind: k, name: name}
		}
	}
	return accessor{kind: accField, name: name}
}

// value is what an accessor yields: a string, or a number when the Event only holds
// the number (a PID or event ID with no original field of that name).
type value struct {
	s     string
	n     uint64
	isNum bool
}

// get returns the field's value and whether the event has it.
func (a *accessor) get(ev *source.Event) (value, bool) {
	if v, ok := a.structValue(ev); ok {
		return v, true
	}
	return a.byName(ev)
}

// structValue returns the canonical Event struct field a reads, when a has one and it
// is set (ok false: the value has to be found by name, see byName).
func (a *accessor) structValue(ev *source.Event) (value, bool) {
	var s string
	switch a.kind {
	case accImage:
		s = ev.Process.Image
	case accParentImage:
		s = ev.Parent.Image
	case accCommandLine:
		s = ev.Process.CommandLine
	case accParentCommandLine:
		s = ev.Parent.CommandLine
	case accUser:
		s = ev.Process.User
	case accParentUser:
		s = ev.Parent.User
	case accGUID:
		s = ev.Process.GUID
	case accParentGUID:
		s = ev.Parent.GUID
	case accCurrentDirectory:
		s = ev.Process.CurrentDirectory
	case accIntegrityLevel:
		s = ev.Process.IntegrityLevel
	case accHashes:
		s = ev.Process.Hashes
	case accOriginalFileName:
		s = ev.Process.OriginalFileName
	case accHost:
		s = ev.Host
	case accChannel:
		s = ev.Channel
	case accProvider:
		s = ev.Provider
	case accPID:
		if ev.Process.PID != 0 {
			return value{n: uint64(ev.Process.PID), isNum: true}, true
		}
	case accParentPID:
		if ev.Parent.PID != 0 {
			return value{n: uint64(ev.Parent.PID), isNum: true}, true
		}
	}
	return value{s: s}, s != ""
}

// byName is get when structValue has no answer: the original field by name (for
// EventID, whose original field keeps the record's own spelling, the struct after it).
func (a *accessor) byName(ev *source.Event) (value, bool) {
	v, ok := lookup(ev, a.name)
	if !ok && a.kind == accEventID && ev.EventID != 0 {
		return value{n: uint64(ev.EventID), isNum: true}, true
	}
	return value{s: v}, ok
}

// lookup is ev.Field with a cheaper case-insensitive pass: names of different byte
// lengths are skipped before folding. (Only exotic runes such as the Kelvin sign fold
// across lengths; a field name spelt with them is not found under its ASCII name.)
func lookup(ev *source.Event, name string) (string, bool) {
	fold := -1 // first name equal under case folding; an exact name anywhere wins
	for i := range ev.Fields {
		n := ev.Fields[i].Name
		if len(n) != len(name) {
			continue
		}
		if n == name {
			return ev.Fields[i].Value, true
		}
		if fold < 0 && strings.EqualFold(n, name) {
			fold = i
		}
	}
	if fold >= 0 {
		return ev.Fields[fold].Value, true
	}
	return "", false
}
