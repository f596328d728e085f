// Package winevent subscribes to the local Windows event log (Sysmon and Security by
// default), renders each event to XML and decodes it with the XML decoder. Positions are
// kept as an event-log bookmark in the checkpoint store, so a restart resumes after the
// last event handed over.
//
// Only Windows has an event log: elsewhere New returns ErrUnsupported. The parts that do
// not need Windows (query building, bookmark checkpoints, UTF-16 conversion) live in
// untagged files so they are tested everywhere.
package winevent

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// ErrUnsupported is what New returns where there is no Windows event log.
var ErrUnsupported = errors.New("--winlog needs Windows: this is " + runtime.GOOS + "/" + runtime.GOARCH + "; use --listen/--connect/--file")

// The default subscriptions: process creation and termination.
const (
	SysmonChannel   = "Microsoft-Windows-Sysmon/Operational"
	SecurityChannel = "Security"
	SysmonQuery     = "*[System[(EventID=1 or EventID=5)]]"
	SecurityQuery   = "*[System[(EventID=4688 or EventID=4689)]]"
)

// Config says what to subscribe to.
type Config struct {
	// Channels are subscribed to in addition to the defaults, with every event (or
	// Query's selection).
	Channels []string
	// Query is an XPath filter for Channels, e.g. "*[System[(EventID=4624)]]"; "" is all.
	Query string
	// Checkpoints keeps the bookmark (key "winlog:"+Name); nil: start with new events.
	Checkpoints source.Checkpointer
	// Name is the feed's name; "" means "winlog".
	Name string
	// MaxRecord bounds one rendered event in bytes of UTF-8 XML; larger ones are skipped
	// and counted. 0 means decode.DefaultMaxRecord.
	MaxRecord int
}

// maxChannelName bounds a channel name; Windows channel names are far shorter.
const maxChannelName = 255

// maxQuery bounds a user XPath query.
const maxQuery = 4096

// selection is one <Select> of the subscription's structured query.
type selection struct {
	Channel string
	XPath   string
}

// selections returns the default selections followed by cfg's channels.
func selections(cfg Config) ([]selection, error) {
	if cfg.MaxRecord < 0 {
		return nil, fmt.Errorf("winevent: max record %d: must not be negative", cfg.MaxRecord)
	}
	q := cfg.Query
	if q == "" {
		q = "*"
	}
	if len(q) > maxQuery {
		return nil, fmt.Errorf("winevent: query is %d bytes, more than %d", len(q), maxQuery)
	}
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return nil, errors.New("winevent: query is not valid text")
	}
	sel := []selection{{SysmonChannel, SysmonQuery}, {SecurityChannel, SecurityQuery}}
	seen := map[string]bool{}
	for _, ch := range cfg.Channels {
		if err := checkChannel(ch); err != nil {
			return nil, err
		}
		if seen[strings.ToLower(ch)] {
			continue
		}
		seen[strings.ToLower(ch)] = true
		sel = append(sel, selection{ch, q})
	}
	return sel, nil
}

// checkChannel refuses names the event log cannot have, with the name quoted.
func checkChannel(ch string) error {
	switch {
	case strings.TrimSpace(ch) == "":
		return errors.New("winevent: empty channel name")
	case len(ch) > maxChannelName:
		return fmt.Errorf("winevent: channel %.40q...: longer than %d bytes", ch, maxChannelName)
	case !utf8.ValidString(ch):
		return fmt.Errorf("winevent: channel %q: not valid UTF-8", ch)
	}
	for _, r := range ch {
		if unicode.IsControl(r) || r == '*' || r == '?' {
			return fmt.Errorf("winevent: channel %q: has %q, which no channel name has", ch, r)
		}
	}
	return nil
}

// buildQuery renders selections as the structured XML query EvtSubscribe takes, so one
// subscription (and one bookmark) covers every channel.
func buildQuery(sel []selection) string {
	var b strings.Builder
	b.WriteString(`<QueryList><Query Id="0">`)
	for _, s := range sel {
		b.WriteString(`<Select Path="`)
		b.WriteString(xmlEscape(s.Channel))
		b.WriteString(`">`)
		b.WriteString(xmlEscape(s.XPath))
		b.WriteString(`</Select>`)
	}
	b.WriteString(`</Query></QueryList>`)
	return b.String()
}

var xmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&quot;", `'`, "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }

// checkpointKey is where the bookmark of the feed named name is kept.
func checkpointKey(name string) string { return "winlog:" + name }

// maxBookmark bounds a stored bookmark; one holds a position per channel, a few hundred
// bytes each.
const maxBookmark = 64 << 10

// decodeBookmark checks a stored bookmark before it is handed to EvtCreateBookmark.
func decodeBookmark(b []byte) (string, error) {
	if len(b) > maxBookmark {
		return "", fmt.Errorf("bookmark is %d bytes, more than %d", len(b), maxBookmark)
	}
	if !utf8.Valid(b) {
		return "", errors.New("bookmark is not valid UTF-8")
	}
	s := strings.TrimSpace(string(b))
	if strings.ContainsRune(s, 0) {
		return "", errors.New("bookmark holds a NUL")
	}
	if !strings.HasPrefix(s, "<BookmarkList") || !(strings.HasSuffix(s, "</BookmarkList>") || strings.HasSuffix(s, "/>")) {
		return "", fmt.Errorf("bookmark %.40q is not a <BookmarkList>", s)
	}
	return s, nil
}

// utf16ToString converts a NUL-terminated (or full) UTF-16 buffer, as EvtRender fills
// it, to a string; unpaired surrogates become U+FFFD.
func utf16ToString(u []uint16) string {
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}

// utf16FromString converts s to a NUL-terminated UTF-16 string for a Windows call.
func utf16FromString(s string) ([]uint16, error) {
	if strings.ContainsRune(s, 0) {
		return nil, fmt.Errorf("%.40q holds a NUL", s)
	}
	return append(utf16.Encode([]rune(s)), 0), nil
}
