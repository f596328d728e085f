package decode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// TestDNSExeFixtures checks the crafted dns.exe fixtures other packages' tests use: each
// decodes to a process start in its format with the intended parent and child.
func TestDNSExeFixtures(t *testing.T) {
	formats := map[string]struct {
		format source.Format
		env    source.Envelope
	}{
		"xml":        {source.FormatXML, source.EnvelopeNone},
		"syslog-xml": {source.FormatXML, source.EnvelopeRFC5424},
		"evtx-json":  {source.FormatEVTXJSON, source.EnvelopeNone},
		"ecs":        {source.FormatECS, source.EnvelopeNone},
		"nxlog":      {source.FormatNXLog, source.EnvelopeNone},
		"wazuh":      {source.FormatWazuh, source.EnvelopeNone},
		"snare":      {source.FormatSnare, source.EnvelopeRFC3164},
		"flat-json":  {source.FormatFlatJSON, source.EnvelopeNone},
		"xml-json":   {source.FormatXMLJSON, source.EnvelopeNone},
	}
	files, err := filepath.Glob("testdata/dnsexe/*-*.*")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, path := range files {
		base := filepath.Base(path)
		stem := strings.TrimSuffix(base, filepath.Ext(base))
		if strings.HasPrefix(base, "LICENSE") || strings.Contains(stem, ".") {
			continue // licence and authors files, not fixtures
		}
		k := strings.LastIndexByte(stem, '-')
		format, variant := stem[:k], stem[k+1:]
		want, ok := formats[format]
		if !ok {
			t.Errorf("%s: unknown format %q", base, format)
			continue
		}
		seen[format]++
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			recs := frameAll(data, DefaultMaxRecord)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			var ev source.Event
			if err := Decode(recs[0].Data, source.Origin{Where: path}, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Format != want.format || ev.Envelope != want.env || ev.Kind != source.KindProcessStart {
				t.Fatalf("format %v envelope %v kind %v, want %v %v process_start", ev.Format, ev.Envelope, ev.Kind, want.format, want.env)
			}
			const dns = `C:\Windows\System32\dns.exe`
			switch variant {
			case "positive":
				if ev.Parent.Image != dns || strings.HasSuffix(strings.ToLower(ev.Process.Image), `\conhost.exe`) {
					t.Errorf("parent %q child %q, want dns.exe parent, non-conhost child", ev.Parent.Image, ev.Process.Image)
				}
			case "conhost":
				if ev.Parent.Image != dns || ev.Process.Image != `C:\Windows\System32\conhost.exe` {
					t.Errorf("parent %q child %q, want dns.exe -> conhost.exe", ev.Parent.Image, ev.Process.Image)
				}
			case "notdns":
				if ev.Parent.Image != `C:\x\notdns.exe` {
					t.Errorf("parent %q, want C:\\x\\notdns.exe", ev.Parent.Image)
				}
			default:
				t.Errorf("unknown variant %q", variant)
			}
			if ev.Host == "" || ev.Process.Image == "" {
				t.Errorf("host %q image %q: fixture lost its identity", ev.Host, ev.Process.Image)
			}
		})
	}
	for f := range formats {
		if seen[f] != 3 {
			t.Errorf("format %s has %d fixtures, want positive, conhost and notdns", f, seen[f])
		}
	}
}
