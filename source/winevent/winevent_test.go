package winevent

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestBuildQueryDefaultsAndChannels(t *testing.T) {
	sel, err := selections(Config{Channels: []string{"Application", "Microsoft-Windows-PowerShell/Operational", "application"}})
	if err != nil {
		t.Fatal(err)
	}
	got := buildQuery(sel)
	want := `<QueryList><Query Id="0">` +
		`<Select Path="Microsoft-Windows-Sysmon/Operational">*[System[(EventID=1 or EventID=5)]]</Select>` +
		`<Select Path="Security">*[System[(EventID=4688 or EventID=4689)]]</Select>` +
		`<Select Path="Application">*</Select>` +
		`<Select Path="Microsoft-Windows-PowerShell/Operational">*</Select>` +
		`</Query></QueryList>`
	if got != want {
		t.Fatalf("query\n got %s\nwant %s", got, want)
	}
}

func TestBuildQueryEscapes(t *testing.T) {
	sel, err := selections(Config{Channels: []string{`A"B<C>&'`}, Query: `*[System[(EventID>4000)]]`})
	if err != nil {
		t.Fatal(err)
	}
	got := buildQuery(sel)
	if !strings.Contains(got, `<Select Path="A&quot;B&lt;C&gt;&amp;&apos;">*[System[(EventID&gt;4000)]]</Select>`) {
		t.Fatalf("not escaped: %s", got)
	}
}

func TestSelectionsRefuseBadChannels(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Channels: []string{" "}}, "winevent: empty channel name"},
		{Config{Channels: []string{"Sec\x1b[2Jurity"}}, `winevent: channel "Sec\x1b[2Jurity": has '\x1b', which no channel name has`},
		{Config{Channels: []string{"Sys*"}}, `winevent: channel "Sys*": has '*', which no channel name has`},
		{Config{Channels: []string{strings.Repeat("a", 300)}}, "longer than 255 bytes"},
		{Config{Channels: []string{"\xff"}}, `winevent: channel "\xff": not valid UTF-8`},
		{Config{Query: strings.Repeat("*", maxQuery+1)}, "winevent: query is 4097 bytes, more than 4096"},
		{Config{Query: "a\x00b"}, "winevent: query is not valid text"},
		{Config{MaxRecord: -1}, "winevent: max record -1: must not be negative"},
	} {
		_, err := selections(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("selections(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// A bookmark as EvtRender(EvtRenderBookmark) writes it (layout from the Windows docs
// for EvtCreateBookmark).
const bookmarkXML = `<BookmarkList>
  <Bookmark Channel='Microsoft-Windows-Sysmon/Operational' RecordId='8117' IsCurrent='true'/>
  <Bookmark Channel='Security' RecordId='1312'/>
</BookmarkList>`

func TestDecodeBookmark(t *testing.T) {
	got, err := decodeBookmark([]byte("\r\n" + bookmarkXML + "\r\n"))
	if err != nil || got != bookmarkXML {
		t.Fatalf("decodeBookmark = %q, %v", got, err)
	}
	if _, err := decodeBookmark([]byte("<BookmarkList/>")); err != nil {
		t.Fatalf("empty list refused: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"", "is not a <BookmarkList>"},
		{`{"offset":1}`, "is not a <BookmarkList>"},
		{"<BookmarkList>\x00</BookmarkList>", "holds a NUL"},
		{"<BookmarkList>\xff</BookmarkList>", "not valid UTF-8"},
		{"<BookmarkList>" + strings.Repeat(" ", maxBookmark) + "</BookmarkList>", "more than 65536"},
	} {
		_, err := decodeBookmark([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodeBookmark(%.30q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestUTF16(t *testing.T) {
	s := `C:\Windows\System32\dns.exe — ünïcødé 𝄞`
	u, err := utf16FromString(s)
	if err != nil {
		t.Fatal(err)
	}
	if u[len(u)-1] != 0 {
		t.Fatal("not NUL-terminated")
	}
	// EvtRender's buffer: the string, its NUL, then whatever was there before.
	buf := append(u, 'x', 'y')
	if got := utf16ToString(buf); got != s {
		t.Fatalf("round trip %q, want %q", got, s)
	}
	if got := utf16ToString([]uint16{'a', 0xD800, 'b'}); got != "a\uFFFDb" {
		t.Errorf("lone surrogate: %q", got)
	}
	if _, err := utf16FromString("a\x00b"); err == nil {
		t.Error("NUL accepted")
	}
}

func FuzzDecodeBookmark(f *testing.F) {
	f.Add([]byte(bookmarkXML))
	f.Add([]byte("<BookmarkList/>"))
	f.Add([]byte("<BookmarkList"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeBookmark(b)
		if err != nil {
			return
		}
		if len(s) > maxBookmark || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("accepted %q", s)
		}
		if _, err := utf16FromString(s); err != nil {
			t.Fatalf("accepted bookmark cannot be passed to Windows: %v", err)
		}
	})
}

func FuzzUTF16(f *testing.F) {
	f.Add("Security")
	f.Add("\U0001D11E\uFFFD")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := utf16FromString(s)
		if err != nil {
			if !strings.ContainsRune(s, 0) {
				t.Fatalf("refused %q: %v", s, err)
			}
			return
		}
		got := utf16ToString(u)
		want := string(utf16.Decode(utf16.Encode([]rune(s)))) // invalid UTF-8 becomes U+FFFD
		if got != want {
			t.Fatalf("round trip of %q: %q, want %q", s, got, want)
		}
	})
}
