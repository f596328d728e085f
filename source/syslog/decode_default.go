package syslog

import "github.com/vigil-soc/vigil/source"

// defaultDecode stands in until source/decode lands: it keeps the raw message so the
// transport can be exercised end to end.
func defaultDecode(rec []byte, origin source.Origin, ev *source.Event) error {
	ev.Raw = append([]byte(nil), rec...)
	ev.Origin = origin
	ev.Message = string(rec)
	return nil
}
