package jsonfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, bytes.Repeat([]byte("0123456789abcdef\n"), 64), 0o644); err != nil {
		t.Fatal(err)
	}
	tl, err := openTailer(path, "file:x", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.file.Close()
	tl.done = 170
	id, err := fileIDOf(tl.file)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := decodeCheckpoint(encodeCheckpoint(tl, id))
	if err != nil {
		t.Fatal(err)
	}
	if cp.Offset != 170 || cp.HeadLen != headSize || cp.id() != id || !cp.matches(tl) {
		t.Fatalf("checkpoint %+v does not match the file it was taken on", cp)
	}
	// Same inode, rewritten head: no longer the same file.
	if err := os.WriteFile(path, bytes.Repeat([]byte("fedcba9876543210\n"), 64), 0o644); err != nil {
		t.Fatal(err)
	}
	if cp.matches(tl) {
		t.Fatal("checkpoint matches a file whose head changed")
	}
}

func TestDecodeCheckpointRefusesBadValues(t *testing.T) {
	good := `{"v":1,"dev":1,"ino":2,"offset":3,"head_len":4,"head_sha256":"` + strings.Repeat("ab", 32) + `"}`
	if _, err := decodeCheckpoint([]byte(good)); err != nil {
		t.Fatalf("good checkpoint refused: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"v":2}`, "version 2, want 1"},
		{strings.Replace(good, `"offset":3`, `"offset":-3`, 1), "negative offset -3"},
		{strings.Replace(good, `"head_len":4`, `"head_len":513`, 1), "head length 513 out of 0..512"},
		{strings.Replace(good, "abab", "zz", 1), "is not a hex SHA-256"},
		{good + `{}`, "trailing data"},
		{`{"v":1,"extra":true}`, "unknown field"},
		{strings.Repeat(" ", maxCheckpoint+1), "more than 4096"},
		{`not json`, "invalid character"},
	} {
		_, err := decodeCheckpoint([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodeCheckpoint(%.40q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDecodeCheckpoint: a stored checkpoint is read back from disk and may be corrupt;
// decoding must never panic, and what it accepts must be within bounds.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add([]byte(`{"v":1,"dev":2049,"ino":131,"offset":4096,"head_len":512,"head_sha256":"` + strings.Repeat("0f", 32) + `"}`))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		if cp.Offset < 0 || cp.HeadLen < 0 || cp.HeadLen > headSize || len(cp.HeadSHA256) != 64 {
			t.Fatalf("accepted out-of-bounds checkpoint %+v", cp)
		}
	})
}
