package jsonfile

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigil-soc/vigil/source/decode"
)

// tailer follows one open file. Positions are file offsets.
type tailer struct {
	path      string
	feedName  string
	file      *os.File
	fi        os.FileInfo // of the open file, to notice the path now names another
	fr        *decode.Framer
	pos       int64 // bytes read and given to the framer
	base      int64 // file offset of the framer's offset 0
	baseLine  int64 // lines before base
	lineKnown bool
	done      int64  // just past the last record handled: where a restart resumes
	saved     int64  // done as last checkpointed; -1 before the first save
	head      []byte // the file's first bytes (up to headSize) as last seen
	headBuf   []byte
	lastData  time.Time
	retiredAt time.Time
}

func openTailer(path, feedName string, maxRecord int) (*tailer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	t := &tailer{
		path: path, feedName: feedName, file: f, fi: fi, fr: decode.NewFramer(maxRecord),
		lineKnown: true, saved: -1, headBuf: make([]byte, headSize),
	}
	if _, err := t.truncated(); err != nil { // learn the head
		f.Close()
		return nil, err
	}
	return t, nil
}

func (t *tailer) src() recordSource {
	return recordSource{feed: t.feedName, where: t.path, base: t.base, baseLine: t.baseLine, lineKnown: t.lineKnown}
}

// seek starts reading at off, an offset known to begin a record.
func (t *tailer) seek(off int64) {
	t.fr.Reset()
	t.pos, t.base, t.done = off, off, off
	t.baseLine, t.lineKnown = 0, true
	if off == 0 {
		return
	}
	if off > maxLineCount {
		t.lineKnown = false // counting would read too much; offsets still say where
		return
	}
	n, err := countLines(t.file, off)
	if err != nil {
		t.lineKnown = false
		return
	}
	t.baseLine = n
}

// restart is what a truncation leaves: the file starts over.
func (t *tailer) restart() {
	t.fr.Reset()
	t.pos, t.base, t.done, t.baseLine, t.lineKnown = 0, 0, 0, 0, true
	t.head = t.head[:0]
}

// truncated reports whether the file was cut under the tailer: it is shorter than what
// was read, or shorter than the head once seen, or its first bytes changed. Otherwise it
// extends the remembered head as the file grows.
func (t *tailer) truncated() (bool, error) {
	fi, err := t.file.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", t.path, err)
	}
	size := fi.Size()
	if size < t.pos || size < int64(len(t.head)) {
		return true, nil
	}
	want := min(size, headSize)
	if want == 0 {
		return false, nil
	}
	n, err := t.file.ReadAt(t.headBuf[:want], 0)
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read %s: %w", t.path, err)
	}
	cur := t.headBuf[:n]
	if !bytes.HasPrefix(cur, t.head) {
		return true, nil
	}
	if len(cur) > len(t.head) {
		t.head = append(t.head[:0], cur...)
	}
	return false, nil
}

// countLines counts the newlines in f's first n bytes.
func countLines(f *os.File, n int64) (int64, error) {
	buf := make([]byte, readChunk)
	var lines, off int64
	for off < n {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		lines += int64(bytes.Count(buf[:k], []byte{'\n'}))
		off += int64(k)
		if err != nil {
			if err == io.EOF {
				break
			}
			return 0, err
		}
	}
	return lines, nil
}

// startAtEnd returns where tailing a file of this size begins by default: just after
// its last newline, so a line being written as vigil starts is read whole.
func startAtEnd(f *os.File, size int64) int64 {
	if size == 0 {
		return 0
	}
	back := min(size, readChunk)
	buf := make([]byte, back)
	n, err := f.ReadAt(buf, size-back)
	if err != nil && err != io.EOF {
		return size
	}
	if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
		return size - back + int64(i) + 1
	}
	return size
}

// siblings lists the files beside path that could be its rotated copies: same
// directory, name starting with path's stem, newest first.
func siblings(path string) []string {
	dir, base := filepath.Split(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == "" {
		stem = base
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type cand struct {
		path string
		mod  time.Time
	}
	var cs []cand
	for _, e := range ents {
		if e.Name() == base || !strings.HasPrefix(e.Name(), stem) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		cs = append(cs, cand{filepath.Join(dir, e.Name()), info.ModTime()})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].mod.After(cs[j].mod) })
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.path)
	}
	return out
}

const maxCopyCandidates = 16

// findCopy looks for the copy a copytruncate made of t's file: a sibling at least t.pos
// long that starts with the head t saw. It returns the open copy and its size.
func findCopy(t *tailer) (*os.File, int64) {
	if len(t.head) == 0 {
		return nil, 0
	}
	buf := make([]byte, len(t.head))
	for i, p := range siblings(t.path) {
		if i == maxCopyCandidates {
			break
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() < t.pos || os.SameFile(fi, t.fi) {
			f.Close()
			continue
		}
		if n, _ := f.ReadAt(buf, 0); n == len(buf) && bytes.Equal(buf, t.head) {
			return f, fi.Size()
		}
		f.Close()
	}
	return nil, 0
}

// findByID looks beside path for the file a checkpoint names by identity (renamed by a
// rotation while vigil was not running).
func findByID(path string, id fileID) *os.File {
	for i, p := range siblings(path) {
		if i == maxCopyCandidates {
			break
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if got, err := fileIDOf(f); err == nil && got == id {
			return f
		}
		f.Close()
	}
	return nil
}

// openAtStart opens a file present when the feed starts, at its checkpoint when the
// checkpoint still names this file, else at its end (or start with FromStart). A file
// replaced while vigil was down is read from 0, after draining the old one if it is
// still beside it.
func (r *runner) openAtStart(ctx context.Context, path string) {
	t, err := openTailer(path, r.f.name, r.f.cfg.MaxRecord)
	if err != nil {
		r.f.setProblem(err.Error())
		return
	}
	cp, cpErr := r.loadCheckpoint(ctx, path)
	if cpErr != nil {
		r.f.setProblem(cpErr.Error())
	}
	switch {
	case cp != nil && cp.matches(t):
		t.seek(cp.Offset)
	case cp != nil:
		r.resumeRotated(ctx, t, cp)
		t.seek(0)
	case r.f.cfg.FromStart:
		t.seek(0)
	default:
		t.seek(startAtEnd(t.file, t.fi.Size()))
	}
	r.addTail(t)
}

// resumeRotated finds the file a checkpoint was taken on, now rotated away, and queues
// it to be drained from the checkpoint's offset.
func (r *runner) resumeRotated(ctx context.Context, cur *tailer, cp *checkpoint) {
	old := findByID(cur.path, cp.id())
	if old == nil {
		return
	}
	fi, err := old.Stat()
	if err != nil || fi.Size() < cp.Offset || !cp.headMatches(old) {
		old.Close()
		return
	}
	t := &tailer{
		path: cur.path, feedName: r.f.name, file: old, fi: fi, fr: decode.NewFramer(r.f.cfg.MaxRecord),
		saved: -1, headBuf: make([]byte, headSize), retiredAt: time.Now(),
	}
	if _, err := t.truncated(); err != nil {
		old.Close()
		return
	}
	t.seek(cp.Offset)
	r.retired = append(r.retired, t)
}
