package decode

import "github.com/vigil-soc/vigil/source"

// knownNames interns the field names seen in practice, so decoding them allocates
// nothing. Read-only after init.
var knownNames = map[string]string{}

func init() {
	for _, n := range []string{
		// System
		"EventID", "EventID_Qualifiers", "Version", "Level", "Task", "Opcode", "Keywords",
		"TimeCreated_SystemTime", "EventRecordID", "Correlation", "Correlation_ActivityID",
		"Correlation_RelatedActivityID", "Execution_ProcessID", "Execution_ThreadID",
		"Channel", "Computer", "Security_UserID", "Security", "Provider_Name", "Provider_Guid",
		"Provider_EventSourceName",
		// Sysmon
		"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion",
		"Description", "Product", "Company", "OriginalFileName", "CommandLine",
		"CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId",
		"IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
		"ParentCommandLine", "ParentUser", "TargetFilename", "CreationUtcTime",
		"ImageLoaded", "Signed", "Signature", "SignatureStatus", "EventType", "TargetObject",
		"Details", "SourceImage", "TargetImage", "GrantedAccess", "CallTrace",
		"SourceProcessGUID", "SourceProcessId", "TargetProcessGUID", "TargetProcessId",
		"SourceThreadId", "Protocol", "Initiated", "SourceIsIpv6", "SourceIp",
		"SourceHostname", "SourcePort", "SourcePortName", "DestinationIsIpv6",
		"DestinationIp", "DestinationHostname", "DestinationPort", "DestinationPortName",
		"PipeName", "QueryName", "QueryStatus", "QueryResults", "State", "Configuration",
		"ConfigurationFileHash", "SchemaVersion",
		// Security
		"SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId",
		"NewProcessId", "NewProcessName", "TokenElevationType", "MandatoryLabel",
		"TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId",
		"ParentProcessName", "ProcessName", "Status", "Data", "Binary", "Message",
		// NXLog / flat
		"EventTime", "Hostname", "SeverityValue", "Severity", "SourceName", "ProviderGuid",
		"OpcodeValue", "RecordNumber", "ProcessID", "ThreadID", "Category",
		"EventReceivedTime", "SourceModuleName", "SourceModuleType", "AccountName",
		"AccountType", "Domain", "UserID", "TimeCreated", "@timestamp", "@version", "host",
		"port", "tags", "ExecutionProcessID", "ExecutionThreadID",
		// ECS
		"event.code", "event.kind", "event.module", "event.provider", "event.category",
		"event.type", "event.action", "event.outcome", "event.created", "event.ingested",
		"event.original", "host.name", "host.hostname", "log.level", "winlog.api",
		"winlog.channel", "winlog.computer_name", "winlog.event_id", "winlog.process.pid",
		"winlog.process.thread.id", "winlog.provider_guid", "winlog.provider_name",
		"winlog.record_id", "winlog.user.identifier", "winlog.user.domain",
		"winlog.user.name", "winlog.user.type", "winlog.version", "winlog.task",
		"winlog.opcode", "winlog.keywords", "winlog.time_created", "winlog.logon.id",
		"process.executable", "process.pid", "process.entity_id", "process.command_line",
		"process.working_directory", "process.name", "process.args",
		"process.parent.executable", "process.parent.name", "process.parent.pid",
		"process.parent.entity_id", "process.parent.command_line", "process.parent.args",
		"process.hash.sha1", "process.hash.md5", "process.hash.sha256",
		"process.pe.original_file_name", "process.pe.company", "process.pe.description",
		"process.pe.file_version", "process.pe.product", "user.name", "user.domain",
		"user.id", "related.user", "related.hash", "hash.sha1", "hash.md5", "hash.sha256",
		"ecs.version", "agent.name", "agent.type", "agent.version", "agent.id",
		"agent.hostname", "agent.ephemeral_id", "message", "log_name", "source_name",
		"computer_name", "event_id", "record_number", "process_id", "thread_id", "level",
		"opcode", "task", "type", "keywords", "provider_guid", "version",
		"beat.name", "beat.hostname", "beat.version", "@metadata.beat", "@metadata.type",
		"@metadata.version", "@metadata.topic",
		// syslog
		"syslog.priority", "syslog.timestamp", "syslog.hostname", "syslog.appname",
		"syslog.procid", "syslog.msgid", "syslog.structured_data", "syslog.tag",
	} {
		knownNames[n] = n
	}
	_ = source.FormatUnknown
}

// wmiNames adds Windows names for the positional InsertionStrings of a WMI
// Win32_NTLogEvent object (4688 and 4689, in the schema's order); the positional
// fields stay as they are.
func wmiNames(ev *source.Event) {
	var code string
	for i := range ev.Fields {
		if ev.Fields[i].Name == "EventCode" || ev.Fields[i].Name == "EventIdentifier" {
			code = ev.Fields[i].Value
			break
		}
	}
	var names []string
	switch code {
	case "4688":
		names = wmi4688
	case "4689":
		names = wmi4689
	default:
		return
	}
	n := 0
	end := len(ev.Fields)
	for i := 0; i < end; i++ {
		if ev.Fields[i].Name != "InsertionStrings" {
			continue
		}
		if n < len(names) {
			ev.Fields = append(ev.Fields, source.Field{Name: names[n], Value: ev.Fields[i].Value})
		}
		n++
	}
}

var wmi4688 = []string{
	"SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId",
	"NewProcessId", "NewProcessName", "TokenElevationType", "ProcessId", "CommandLine",
	"TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId",
	"ParentProcessName", "MandatoryLabel",
}

var wmi4689 = []string{
	"SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "Status",
	"ProcessId", "ProcessName",
}
