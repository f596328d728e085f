package decode

import (
	"bytes"
	"os"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// TestNestedSyslogEnvelope: rsyslog relaying a file of syslog lines (imfile -> omfwd)
// adds its own RFC 5424 header in front of the sender's RFC 3164 one. Both are unwrapped
// and the event keeps the original sender's host.
func TestNestedSyslogEnvelope(t *testing.T) {
	data, err := os.ReadFile("testdata/dnsexe/snare-positive.log")
	if err != nil {
		t.Fatal(err)
	}
	inner := bytes.TrimRight(bytes.SplitN(data, []byte("\n"), 2)[0], "\r")
	var direct, relayed source.Event
	if err := Decode(inner, source.Origin{Where: "inner"}, &direct); err != nil {
		t.Fatalf("inner record: %v", err)
	}
	rec := append([]byte("<13>1 2026-12-04T10:00:00Z relay01 rsyslogd - - - "), inner...)
	if err := Decode(rec, source.Origin{Where: "relayed"}, &relayed); err != nil {
		t.Fatalf("relayed record: %v", err)
	}
	if relayed.Host != direct.Host || relayed.Host == "relay01" {
		t.Errorf("host = %q, want the sender's %q", relayed.Host, direct.Host)
	}
	if relayed.Process != direct.Process || relayed.Parent != direct.Parent || relayed.Kind != direct.Kind {
		t.Errorf("relayed event differs:\n%+v %+v\nwant\n%+v %+v", relayed.Process, relayed.Parent, direct.Process, direct.Parent)
	}
	if v, _ := relayed.Field("syslog.hostname"); v != "relay01" {
		t.Errorf("first syslog.hostname = %q, want the relay's header kept first", v)
	}
	// A third header is fine; nesting past the bound is an error, not a stack overflow.
	deep := bytes.Repeat([]byte("<13>1 2026-12-04T10:00:00Z r a - - - "), 64)
	if err := Decode(append(deep, inner...), source.Origin{Where: "deep"}, &relayed); err == nil {
		t.Error("64 nested headers decoded; want an error naming the nesting bound")
	}
}
