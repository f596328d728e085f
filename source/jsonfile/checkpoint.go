package jsonfile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// checkpointVersion is bumped when the saved shape changes; older values are ignored.
const checkpointVersion = 1

// maxCheckpoint bounds a stored checkpoint; a larger value is not one of ours.
const maxCheckpoint = 4 << 10

// fileID is a file's identity on its volume (device and inode, or volume serial and
// file index on Windows), which survives renames but not re-creation.
type fileID struct{ Dev, Ino uint64 }

// checkpoint is a file position saved under "file:"+absolute path.
type checkpoint struct {
	V          int    `json:"v"`
	Dev        uint64 `json:"dev"`
	Ino        uint64 `json:"ino"`
	Offset     int64  `json:"offset"`      // just past the last record handed over
	HeadLen    int    `json:"head_len"`    // how many first bytes the hash covers
	HeadSHA256 string `json:"head_sha256"` // hex SHA-256 of those bytes
}

func checkpointKey(path string) string { return "file:" + path }

func (c *checkpoint) id() fileID { return fileID{c.Dev, c.Ino} }

// encodeCheckpoint records where t stands.
func encodeCheckpoint(t *tailer, id fileID) []byte {
	sum := sha256.Sum256(t.head)
	b, _ := json.Marshal(checkpoint{ // a struct of plain fields cannot fail to marshal
		V: checkpointVersion, Dev: id.Dev, Ino: id.Ino, Offset: t.done,
		HeadLen: len(t.head), HeadSHA256: hex.EncodeToString(sum[:]),
	})
	return b
}

// decodeCheckpoint parses a stored checkpoint, refusing anything malformed.
func decodeCheckpoint(b []byte) (*checkpoint, error) {
	if len(b) > maxCheckpoint {
		return nil, fmt.Errorf("%d bytes, more than %d", len(b), maxCheckpoint)
	}
	var c checkpoint
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	switch {
	case c.V != checkpointVersion:
		return nil, fmt.Errorf("version %d, want %d", c.V, checkpointVersion)
	case c.Offset < 0:
		return nil, fmt.Errorf("negative offset %d", c.Offset)
	case c.HeadLen < 0 || c.HeadLen > headSize:
		return nil, fmt.Errorf("head length %d out of 0..%d", c.HeadLen, headSize)
	}
	if h, err := hex.DecodeString(c.HeadSHA256); err != nil || len(h) != sha256.Size {
		return nil, fmt.Errorf("head hash %q is not a hex SHA-256", c.HeadSHA256)
	}
	return &c, nil
}

// matches reports whether the checkpoint was taken on t's file as it still is.
func (c *checkpoint) matches(t *tailer) bool {
	id, err := fileIDOf(t.file)
	return err == nil && id == c.id() && t.fi.Size() >= c.Offset && c.headMatches(t.file)
}

// headMatches reports whether f's first HeadLen bytes hash as recorded.
func (c *checkpoint) headMatches(f *os.File) bool {
	buf := make([]byte, c.HeadLen)
	n, err := f.ReadAt(buf, 0)
	if n != c.HeadLen || (err != nil && err != io.EOF) {
		return false
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]) == c.HeadSHA256
}

func (r *runner) loadCheckpoint(ctx context.Context, path string) (*checkpoint, error) {
	cps := r.f.cfg.Checkpoints
	if cps == nil {
		return nil, nil
	}
	b, err := cps.LoadCheckpoint(ctx, checkpointKey(path))
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", checkpointKey(path), err)
	}
	if b == nil {
		return nil, nil
	}
	c, err := decodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s ignored: %w", checkpointKey(path), err)
	}
	return c, nil
}

// saveAll saves the position of every file at a watched path that moved since.
func (r *runner) saveAll(ctx context.Context) {
	cps := r.f.cfg.Checkpoints
	if cps == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, finalSaveTimeout)
	defer cancel()
	for _, t := range r.tails {
		if t.done == t.saved {
			continue
		}
		id, err := fileIDOf(t.file)
		if err != nil {
			r.f.setProblem(fmt.Sprintf("checkpoint %s: %v", t.path, err))
			continue
		}
		if err := cps.SaveCheckpoint(ctx, checkpointKey(t.path), encodeCheckpoint(t, id)); err != nil {
			r.f.setProblem(fmt.Sprintf("save checkpoint %s: %v", checkpointKey(t.path), err))
			continue
		}
		t.saved = t.done
	}
}
