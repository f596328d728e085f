package syslog

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type framed struct {
	msgs     []string
	oversize int
	err      error
}

func frameAll(r io.Reader, max int) (framed, *framer) {
	f := newFramer(r, max)
	var out framed
	for {
		m, err := f.next()
		if err != nil {
			if err != io.EOF {
				out.err = err
			}
			return out, f
		}
		if m.oversize {
			out.oversize++
			continue
		}
		out.msgs = append(out.msgs, string(m.data))
	}
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		max      int
		want     []string
		oversize int
		wantErr  bool
	}{
		{name: "lf", in: "<13>a\n<13>b\n", want: []string{"<13>a", "<13>b"}},
		{name: "crlf", in: "<13>a\r\n<13>b\r\n", want: []string{"<13>a", "<13>b"}},
		{name: "nul", in: "<13>a\x00<13>b\x00", want: []string{"<13>a", "<13>b"}},
		{name: "lf no final delimiter", in: "<13>a\n<13>b", want: []string{"<13>a", "<13>b"}},
		{name: "blank lines skipped", in: "\n\r\n<13>a\n\n", want: []string{"<13>a"}},
		{name: "json line", in: `{"EventID":1}` + "\n", want: []string{`{"EventID":1}`}},
		{name: "octet", in: "5 <13>a5 <13>b", want: []string{"<13>a", "<13>b"}},
		{name: "octet with LF inside count", in: "6 <13>a\n6 <13>b\n", want: []string{"<13>a", "<13>b"}},
		{name: "octet message containing LF", in: "7 <13>a\nb", want: []string{"<13>a\nb"}},
		{name: "octet oversize skipped", in: "12 <13>toolong!5 <13>b", max: 8, want: []string{"<13>b"}, oversize: 1},
		{name: "lf oversize skipped", in: "<13>toolongline\n<13>b\n", max: 8, want: []string{"<13>b"}, oversize: 1},
		{name: "lf oversize at limit kept", in: "abcdefgh\n", max: 8, want: []string{"abcdefgh"}},
		{name: "lf oversize by one", in: "abcdefghi\nab\n", max: 8, want: []string{"ab"}, oversize: 1},
		{name: "octet truncated at eof", in: "10 <13>a", want: nil, wantErr: true},
		{name: "octet bad count", in: "5x<13>a", wantErr: true},
		{name: "octet leading zero", in: "1 a05 <13>a", want: []string{"a"}, wantErr: true},
		{name: "octet count too long", in: "1234567890 x", wantErr: true},
		{name: "empty", in: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 1024
			}
			// One byte per read exercises every partial-buffer path.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, f := frameAll(r, max)
				if !equalStrings(got.msgs, tc.want) {
					t.Errorf("messages = %q, want %q", got.msgs, tc.want)
				}
				if got.oversize != tc.oversize {
					t.Errorf("oversize = %d, want %d", got.oversize, tc.oversize)
				}
				if (got.err != nil) != tc.wantErr {
					t.Errorf("err = %v, want error %v", got.err, tc.wantErr)
				}
				if got.err != nil && !errors.Is(got.err, errFrame) {
					t.Errorf("err = %v, want errFrame", got.err)
				}
				checkAccounting(t, f, int64(len(tc.in)), got.err != nil)
			}
		})
	}
}

func TestFramerOffsets(t *testing.T) {
	f := newFramer(strings.NewReader("3 abc\n4 defg"), 64)
	var offs []int64
	for {
		m, err := f.next()
		if err != nil {
			break
		}
		offs = append(offs, m.offset)
	}
	if len(offs) != 2 || offs[0] != 0 || offs[1] != 6 {
		t.Fatalf("offsets = %v, want [0 6]", offs)
	}
}

// checkAccounting: after a clean end every input byte was consumed; after a framing
// error (the connection is closed) every byte read so far is accounted for.
func checkAccounting(t *testing.T, f *framer, total int64, abandoned bool) {
	t.Helper()
	fc := f.frames
	if got := f.consumed(); got != total && !abandoned || got > total {
		t.Errorf("consumed %d of %d bytes", got, total)
	}
	if abandoned {
		total = f.consumed()
	}
	if sum := fc.msgBytes + fc.overhead + fc.discards; sum != total {
		t.Errorf("messages %d + overhead %d + discarded %d = %d, want %d", fc.msgBytes, fc.overhead, fc.discards, sum, total)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chunkReader returns the input in chunks whose sizes come from the fuzzer.
type chunkReader struct {
	data  []byte
	sizes []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[0]) + 1
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzFramer: never panics, never grows its buffer, every byte is a message byte,
// overhead or discarded, and no message exceeds the limit or (LF mode) holds a delimiter.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("<13>a\n<13>b\r\n\x00"), []byte{3, 0, 7}, uint8(16))
	f.Add([]byte("5 <13>a12 <13>toolong!5 <13>b"), []byte{}, uint8(8))
	f.Add([]byte("10 <13>a"), []byte{1}, uint8(4))
	f.Add([]byte("<13>toolongline\n<13>b\n"), []byte{0, 0, 0}, uint8(8))
	f.Add([]byte(`{"EventID":1,"Image":"C:\\x.exe"}`+"\n"), []byte{}, uint8(64))
	f.Fuzz(func(t *testing.T, data, sizes []byte, max uint8) {
		lim := int(max%64) + 1
		fr := newFramer(&chunkReader{data: data, sizes: sizes}, lim)
		bufLen := len(fr.buf)
		var abandoned bool
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("framer produced more frames than input bytes")
			}
			m, err := fr.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, errFrame) {
					t.Fatalf("unexpected error %v", err)
				}
				abandoned = err != io.EOF
				break
			}
			if m.oversize {
				if m.data != nil {
					t.Fatalf("oversize frame carries data")
				}
				continue
			}
			if len(m.data) == 0 || len(m.data) > lim {
				t.Fatalf("message of %d bytes, limit %d", len(m.data), lim)
			}
			if fr.mode == framingLine && (bytes.IndexByte(m.data, '\n') >= 0 || bytes.IndexByte(m.data, 0) >= 0) {
				t.Fatalf("line message %q holds a delimiter", m.data)
			}
		}
		if len(fr.buf) != bufLen {
			t.Fatalf("buffer grew from %d to %d", bufLen, len(fr.buf))
		}
		checkAccounting(t, fr, int64(len(data)), abandoned)
	})
}
