package decode

import (
	"bytes"
	"strings"
	"testing"
)

type frec struct {
	data     string
	line     int64
	offset   int64
	end      int64
	oversize bool
}

func toFrecs(rs []Record) []frec {
	out := make([]frec, len(rs))
	for i, r := range rs {
		out[i] = frec{string(r.Data), r.Line, r.Offset, r.End, r.Oversize}
	}
	return out
}

// frameChunked feeds data in chunks of n bytes, calling Next after each write.
func frameChunked(data []byte, max, n int) []Record {
	f := NewFramer(max)
	var out []Record
	for off := 0; off < len(data); off += n {
		f.Write(data[off:min(off+n, len(data))])
		for {
			r, ok := f.Next()
			if !ok {
				break
			}
			r.Data = append([]byte(nil), r.Data...)
			out = append(out, r)
		}
	}
	if r, ok := f.Close(); ok {
		r.Data = append([]byte(nil), r.Data...)
		out = append(out, r)
	}
	if _, ok := f.Close(); ok {
		out = append(out, Record{Line: -1}) // a second Close must return nothing: make it show
	}
	return out
}

func TestFramer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []frec
	}{
		{
			name: "ndjson with CRLF and blank lines",
			in:   "{\"a\":1}\r\n\r\n{\"b\":\"x}\"}\n",
			want: []frec{{`{"a":1}`, 1, 0, 7, false}, {`{"b":"x}"}`, 3, 11, 21, false}},
		},
		{
			name: "pretty-printed objects back to back",
			in:   "{\n  \"a\": {\"x\": [1,2]}\n}\n{\n \"b\": 2\n}",
			want: []frec{{"{\n  \"a\": {\"x\": [1,2]}\n}", 1, 0, 23, false}, {"{\n \"b\": 2\n}", 4, 24, 35, false}},
		},
		{
			name: "json array of objects",
			in:   "[\n  {\"a\": 1},\n  {\"b\": [2]}\n]\n",
			want: []frec{{`{"a": 1}`, 2, 4, 12, false}, {`{"b": [2]}`, 3, 16, 26, false}},
		},
		{
			name: "elastic pipeline wrapper",
			in:   "{\n  \"events\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n{\"c\":3}\n",
			want: []frec{{`{"a": 1}`, 3, 20, 28, false}, {`{"b": 2}`, 4, 34, 42, false}, {`{"c":3}`, 7, 49, 56, false}},
		},
		{
			name: "xml events with prolog, wrapper, comment, multi-line",
			in:   "<?xml version=\"1.0\"?>\n<Events>\n<!-- c -->\n<Event xmlns='x'><System>\n<EventID>1</EventID></System>\n<EventData/></Event>\n<Event/>\n</Events>\n",
			want: []frec{
				{"<Event xmlns='x'><System>\n<EventID>1</EventID></System>\n<EventData/></Event>", 4, 42, 118, false},
				{"<Event/>", 7, 119, 127, false},
			},
		},
		{
			name: "syslog lines, last without newline",
			in:   "<14>Sep 17 16:37:25 h MSWinEventLog\t1\n<13>1 2025-01-01T00:00:00Z h - - - - x",
			want: []frec{{"<14>Sep 17 16:37:25 h MSWinEventLog\t1", 1, 0, 38, false}, {"<13>1 2025-01-01T00:00:00Z h - - - - x", 2, 38, 76, false}},
		},
		{
			name: "broken json line does not swallow the next",
			in:   "{\"a\":\"unterminated\n{\"b\":1}\n",
			want: []frec{{`{"a":"unterminated`, 1, 0, 19, false}, {`{"b":1}`, 2, 19, 26, false}},
		},
		{
			name: "ndjson line cut outside a string does not swallow the next",
			in:   "{\"a\":{\"b\":1\n{\"c\":2}\n",
			want: []frec{{`{"a":{"b":1`, 1, 0, 12, false}, {`{"c":2}`, 2, 12, 19, false}},
		},
		{
			name: "indent-0 array elements at column 0 stay in the array",
			in:   "[\n{\n\"a\": [\n{\"x\":1}\n]\n}\n]",
			want: []frec{{"{\n\"a\": [\n{\"x\":1}\n]\n}", 2, 2, 22, false}},
		},
		{
			name: "resumed inside an array: punctuation is not a record",
			in:   ",\n  {\"b\": 2}\n]\n}\n",
			want: []frec{{`{"b": 2}`, 2, 4, 12, false}},
		},
		{
			name: "unterminated object at eof is handed over",
			in:   "{\"a\":1}\n{\"b\":",
			want: []frec{{`{"a":1}`, 1, 0, 7, false}, {`{"b":`, 2, 8, 13, false}},
		},
		{
			name: "oversize line, json and xml are skipped and counted",
			max:  16,
			in:   "short\n" + strings.Repeat("x", 40) + "\n{\"k\":\"" + strings.Repeat("y", 40) + "\"}\n<Event>" + strings.Repeat("z", 40) + "</Event>\nend\n",
			want: []frec{
				{"short", 1, 0, 6, false},
				{"", 2, 6, 47, true},
				{"", 3, 47, 95, true},
				{"", 4, 96, 151, true},
				{"end", 5, 152, 156, false},
			},
		},
		{
			name: "array scalars are records (they fail to decode, counted)",
			in:   "[1, \"s\"]",
			want: []frec{{"1", 1, 1, 2, false}, {`"s"`, 1, 4, 7, false}},
		},
		{
			name: "EventData is not the end of an Event",
			in:   "<Event><EventData></EventData ></Event >",
			want: []frec{{"<Event><EventData></EventData ></Event >", 1, 0, 40, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = DefaultMaxRecord
			}
			whole := toFrecs(frameAll([]byte(tt.in), max))
			if !equalFrecs(whole, tt.want) {
				t.Fatalf("records\n got %+v\nwant %+v", whole, tt.want)
			}
			for _, n := range []int{1, 2, 3, 7} {
				if got := toFrecs(frameChunked([]byte(tt.in), max, n)); !equalFrecs(got, tt.want) {
					t.Errorf("chunks of %d:\n got %+v\nwant %+v", n, got, tt.want)
				}
			}
		})
	}
}

func equalFrecs(a, b []frec) bool {
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

func TestFramerReset(t *testing.T) {
	f := NewFramer(0)
	f.Write([]byte("one\ntwo"))
	if r, ok := f.Next(); !ok || string(r.Data) != "one" {
		t.Fatalf("Next = %q, %v", r.Data, ok)
	}
	f.Reset()
	f.Write([]byte("three\n"))
	r, ok := f.Next()
	if !ok || string(r.Data) != "three" || r.Line != 1 || r.Offset != 0 || r.End != 6 {
		t.Fatalf("after Reset: %+v %v", r, ok)
	}
}

// TestFramerRealFiles checks that whole-file and byte-chunked framing agree on every
// testdata file, and that records are contiguous, ordered and cover the input.
func TestFramerRealFiles(t *testing.T) {
	for _, p := range []string{
		"winlogbeat-ecs/sysmon/sysmon-9.01.evtx.golden.records1-7.json",
		"elastic-integrations/system-security/test-security-windows2019-4688-process-created.json",
		"evtx-to-mitre/ID4688-SQL_Server_payload_injection_reverse_shell.xml",
		"snare/rsyslog-mmsnareparse-sample-windows2022-security.log",
		"ptsecurity/eventlog-4688-raw_1.json",
	} {
		data := readTestdata(t, p)
		whole := frameAll(data, DefaultMaxRecord)
		chunked := frameChunked(data, DefaultMaxRecord, 13)
		if !equalFrecs(toFrecs(whole), toFrecs(chunked)) {
			t.Errorf("%s: chunked framing differs from whole-file framing", p)
		}
		checkCoverage(t, p, data, whole)
	}
}

// checkCoverage asserts the Framer invariants: records in order, not overlapping, Data
// being the input at Offset, and only separators between records.
func checkCoverage(t testing.TB, name string, data []byte, recs []Record) {
	t.Helper()
	var prevEnd int64
	for i, r := range recs {
		if r.Offset < prevEnd || r.End <= r.Offset || r.End > int64(len(data)) {
			t.Fatalf("%s: record %d offsets [%d,%d) after end %d (input %d bytes)", name, i, r.Offset, r.End, prevEnd, len(data))
		}
		if !r.Oversize && !bytes.Equal(r.Data, data[r.Offset:r.Offset+int64(len(r.Data))]) {
			t.Fatalf("%s: record %d Data is not the input at its offset", name, i)
		}
		if r.Oversize && r.Data != nil {
			t.Fatalf("%s: oversize record %d has data", name, i)
		}
		if !separatorsOnly(data[prevEnd:r.Offset]) {
			t.Fatalf("%s: record %d: bytes %q between records are lost", name, i, clip(data[prevEnd:r.Offset], 64))
		}
		if want := int64(1 + bytes.Count(data[:r.Offset], []byte{'\n'})); r.Line != want {
			t.Fatalf("%s: record %d Line %d, want %d", name, i, r.Line, want)
		}
		prevEnd = r.End
	}
	if !separatorsOnly(data[prevEnd:]) {
		t.Fatalf("%s: trailing bytes %q are lost", name, clip(data[prevEnd:], 64))
	}
}

// separatorsOnly reports whether gap holds only what the Framer may skip: whitespace, a
// BOM, JSON array punctuation, the {"events": [ wrapper, and XML prolog/comment/<Events>.
func separatorsOnly(gap []byte) bool {
	for len(gap) > 0 {
		switch c := gap[0]; {
		case isSpace(c), c == ',', c == '[', c == ']', c == '}':
			gap = gap[1:]
		case hasPrefix(gap, "\xEF\xBB\xBF"):
			gap = gap[3:]
		case c == '{':
			n, ok, _ := wrapperPrefix(gap)
			if !ok {
				return false
			}
			gap = gap[n:]
		case c == '<':
			st, end, _ := xmlMarkup(gap)
			if st != stSkip {
				return false
			}
			k := bytes.Index(gap[1:], []byte(end))
			if k < 0 {
				return false
			}
			gap = gap[1+k+len(end):]
		default:
			return false
		}
	}
	return true
}
