package sigma

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// TestRegressionSigmaHQ runs every SigmaHQ regression case in testdata/regression: the
// case's rule over its decoded events must match exactly match_count events (at least
// one when info.yml gave no count, as SigmaHQ's own runner does).
func TestRegressionSigmaHQ(t *testing.T) {
	dir := filepath.Join("testdata", "regression")
	f, err := os.Open(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 5 {
			t.Fatalf("cases.tsv: bad line %q", sc.Text())
		}
		rulePath, ruleID, jsonPath, count := cols[0], cols[1], cols[2], cols[4]
		n++
		t.Run(filepath.Base(rulePath), func(t *testing.T) {
			rules, ref := LoadPaths([]string{filepath.Join(dir, rulePath)}, nil)
			if len(ref) > 0 || len(rules) != 1 || rules[0].ID != ruleID {
				t.Fatalf("rule %s: loaded %d, refused %v", rulePath, len(rules), ref)
			}
			events := decodeFile(t, filepath.Join(dir, jsonPath))
			got := 0
			for i := range events {
				if rules[0].Matches(&events[i]) {
					got++
				}
			}
			if count == "" {
				if got == 0 {
					t.Errorf("no event matched, want at least one")
				}
				return
			}
			want, err := strconv.Atoi(count)
			if err != nil {
				t.Fatalf("match_count %q: %v", count, err)
			}
			if got != want {
				t.Errorf("%d events matched, want %d", got, want)
			}
		})
	}
	if n != 65 {
		t.Errorf("ran %d cases, want 65", n)
	}
}

// decodeFile frames and decodes a regression JSON file (one or more pretty-printed
// events back to back) with the production framer and decoder.
func decodeFile(t testing.TB, path string) []source.Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fr := decode.NewFramer(decode.DefaultMaxRecord)
	fr.Write(data)
	var evs []source.Event
	add := func(rec decode.Record) {
		if rec.Oversize {
			t.Fatalf("%s:%d: record over %d bytes", path, rec.Line, decode.DefaultMaxRecord)
		}
		var ev source.Event
		if err := decode.Decode(rec.Data, source.Origin{Where: path, Line: rec.Line, Offset: rec.Offset}, &ev); err != nil {
			t.Fatalf("decode: %v", err)
		}
		evs = append(evs, ev)
	}
	for {
		rec, ok := fr.Next()
		if !ok {
			break
		}
		add(rec)
	}
	if rec, ok := fr.Close(); ok {
		add(rec)
	}
	if len(evs) == 0 {
		t.Fatalf("%s: no events", path)
	}
	return evs
}
