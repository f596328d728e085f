package ui

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestSanitize(t *testing.T) {
	cases := []struct {
		name, in   string
		singleLine bool
		want       string
	}{
		{"plain", `C:\Windows\System32\cmd.exe /c whoami`, true, `C:\Windows\System32\cmd.exe /c whoami`},
		{"clear screen", "a\x1b[2Jb", true, `a\x1b[2Jb`},
		{"osc title", "\x1b]0;pwned\x07x", true, `\x1b]0;pwned\x07x`},
		{"8-bit csi byte", "a\x9b31mb", true, `a\x9b31mb`},
		{"c1 rune", "a\u009b31mb", true, `a\x9b31mb`},
		{"rlo", "evil\u202eexe.txt", true, `evil\u202eexe.txt`},
		{"zero width", "a\u200bb", true, `a\u200bb`},
		{"del", "a\x7fb", true, `a\x7fb`},
		{"tab newline single", "a\tb\r\nc", true, `a\tb\r\nc`},
		{"newline kept multi", "a\nb\tc", false, "a\nb    c"},
		{"unicode kept", "naïve 日本", true, "naïve 日本"},
		{"line separator", "a\u2028b", true, `a\u2028b`},
		{"replacement char literal", "a\uFFFDb", true, `a\ufffdb`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sanitize(c.in, c.singleLine); got != c.want {
				t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestSanitizeBounds(t *testing.T) {
	got := cell(strings.Repeat("A", 100_000))
	if len(got) > maxFieldBytes+16 || !strings.HasSuffix(got, "[cut]") {
		t.Errorf("long input: %d bytes, suffix %q", len(got), got[len(got)-8:])
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "\x1b]52;c;aGk=\x07", "\x9b", "\u202e", "a\tb\nc", "\xff\xfe", "\u200d"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in string, singleLine bool) {
		out := sanitize(in, singleLine)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q: %q", in, out)
		}
		for _, r := range out {
			if r == '\n' && !singleLine {
				continue
			}
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
				t.Fatalf("rune %U survived in %q (from %q)", r, out, in)
			}
		}
		if ansi.Strip(out) != out {
			t.Fatalf("escape sequence survived: %q", out)
		}
	})
}
