package sigma

import (
	"strings"

	"github.com/vigil-soc/vigil/source"
)

// route says which events a rule's logsource can apply to. Routing is decided once at
// compile time; Set uses it as the first index level.
type route struct {
	kind     source.Kind // KindProcessStart / KindProcessEnd: the event kind decides
	ids      []uint32    // event IDs (with channel check when the event has a channel)
	channel  string      // a channel the event must come from ("" = any)
	chanPart string      // or: a channel containing this (case-insensitive), e.g. "sysmon"
	any      bool        // no routing: match on fields alone
}

const (
	chanSysmon     = "Microsoft-Windows-Sysmon/Operational"
	chanPowerShell = "Microsoft-Windows-PowerShell/Operational"
)

// sysmonCategories maps Sigma's Windows categories to the Sysmon event IDs that carry them.
var sysmonCategories = map[string][]uint32{
	"file_change":              {2},
	"network_connection":       {3},
	"sysmon_status":            {4, 16},
	"driver_load":              {6},
	"image_load":               {7},
	"create_remote_thread":     {8},
	"raw_access_thread":        {9},
	"raw_access_read":          {9},
	"process_access":           {10},
	"file_event":               {11},
	"registry_add":             {12},
	"registry_delete":          {12},
	"registry_set":             {13},
	"registry_rename":          {14},
	"registry_event":           {12, 13, 14},
	"create_stream_hash":       {15},
	"pipe_created":             {17, 18},
	"wmi_event":                {19, 20, 21},
	"dns_query":                {22},
	"file_delete":              {23, 26},
	"file_delete_detected":     {26},
	"clipboard_capture":        {24},
	"process_tampering":        {25},
	"file_block_executable":    {27},
	"file_block_shredding":     {28},
	"file_executable_detected": {29},
	"sysmon_error":             {255},
}

// powershellCategories are PowerShell's operational and classic logs.
var powershellCategories = map[string]struct {
	ids     []uint32
	channel string
}{
	"ps_script":                 {[]uint32{4104}, chanPowerShell},
	"ps_module":                 {[]uint32{4103}, chanPowerShell},
	"ps_classic_start":          {[]uint32{400}, "Windows PowerShell"},
	"ps_classic_provider_start": {[]uint32{600}, "Windows PowerShell"},
	"ps_classic_script":         {[]uint32{800}, "Windows PowerShell"},
}

// windowsServices maps Sigma's Windows services to their event log channels.
var windowsServices = map[string]string{
	"security":                  "Security",
	"system":                    "System",
	"application":               "Application",
	"sysmon":                    chanSysmon,
	"powershell":                chanPowerShell,
	"powershell-classic":        "Windows PowerShell",
	"taskscheduler":             "Microsoft-Windows-TaskScheduler/Operational",
	"wmi":                       "Microsoft-Windows-WMI-Activity/Operational",
	"windefend":                 "Microsoft-Windows-Windows Defender/Operational",
	"bits-client":               "Microsoft-Windows-Bits-Client/Operational",
	"dns-server":                "DNS Server",
	"codeintegrity-operational": "Microsoft-Windows-CodeIntegrity/Operational",
	"firewall-as":               "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
	"driver-framework":          "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
	"ntlm":                      "Microsoft-Windows-NTLM/Operational",
	"applocker":                 "", // several channels: field presence decides
}

func routeFor(ls Logsource) route {
	cat := strings.ToLower(ls.Category)
	prod := strings.ToLower(ls.Product)
	svc := strings.ToLower(ls.Service)
	switch cat {
	case "process_creation":
		return route{kind: source.KindProcessStart}
	case "process_termination":
		return route{kind: source.KindProcessEnd}
	}
	if prod == "windows" || prod == "" {
		if ids, ok := sysmonCategories[cat]; ok {
			return route{ids: ids, chanPart: "sysmon"}
		}
		if p, ok := powershellCategories[cat]; ok {
			return route{ids: p.ids, channel: p.channel}
		}
		if cat == "" && prod == "windows" {
			if ch := windowsServices[svc]; ch != "" {
				return route{channel: ch}
			}
		}
	}
	return route{any: true}
}

// admits reports whether ev can be the kind of event the route describes.
func (r *route) admits(ev *source.Event) bool {
	switch {
	case r.any:
		return true
	case r.kind != source.KindOther:
		return ev.Kind == r.kind
	}
	if len(r.ids) > 0 {
		found := false
		for _, id := range r.ids {
			if ev.EventID == id {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if ev.Channel == "" {
		return true // formats without a channel: the event ID has to do
	}
	if r.channel != "" {
		return strings.EqualFold(ev.Channel, r.channel)
	}
	if r.chanPart != "" {
		return containsFold(ev.Channel, r.chanPart)
	}
	return true
}
