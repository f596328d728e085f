package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/source"
)

// TestTruncatedNestedJSON: a record cut inside a nested value says which kind of value
// was left open, and where, instead of decoding a partial event.
func TestTruncatedNestedJSON(t *testing.T) {
	for _, tc := range []struct{ rec, want string }{
		{`{"EventID":1,"Image":"C:\\x.exe","winlog":{"event_data":{"Image":"a"`, "unterminated object"},
		{`{"EventID":1,"tags":["a","b"`, "unterminated array"},
	} {
		var ev source.Event
		err := Decode([]byte(tc.rec), source.Origin{Where: "t.json", Line: 3}, &ev)
		var de *Error
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "t.json:3: ") {
			t.Errorf("Decode(%q) = %v; want a *decode.Error at t.json:3 saying %q", tc.rec, err, tc.want)
		}
	}
}
