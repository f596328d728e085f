package jsonfile

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
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
	// last holds the bytes just before pos (up to lastSize): with head it tells the same
	// file from one rewritten with the same first bytes, and finds the right copy.
	last    []byte
	lastBuf []byte
	// sum is the CRC-32C of the file's bytes [0, pos) when sumOK: it picks the exact
	// copy of the file out of look-alikes after a copytruncate.
	sum   uint32
	sumOK bool
	// okAt is when the file was last found not truncated: a copy of it made by a
	// copytruncate is newer.
	okAt      time.Time
	failed    bool // the last read failed
	scanFirst bool // look for rotated copies again before the first bytes are read
	lastData  time.Time
	retiredAt time.Time
	id        fileID
	idOK      bool
}

func openTailer(path, feedName string, maxRecord int) (*tailer, error) {
	f, err := openShared(path) // the error names the file
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	t := &tailer{
		path: path, feedName: feedName, file: f, fi: fi, fr: decode.NewFramer(maxRecord),
		lineKnown: true, saved: -1, headBuf: make([]byte, headSize), lastBuf: make([]byte, lastSize),
		sumOK: true, // at offset 0 the sum of nothing is known
	}
	if _, err := t.truncated(); err != nil { // learn the head
		f.Close()
		return nil, err
	}
	if id, err := fileIDOf(f); err == nil {
		t.id, t.idOK = id, true
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
	t.last = t.last[:0]
	t.sum, t.sumOK = 0, true
	if off == 0 {
		return
	}
	n := min(off, lastSize)
	k, _ := t.file.ReadAt(t.lastBuf[:n], off-n)
	t.last = append(t.last, t.lastBuf[:k]...)
	if off > maxLineCount {
		// Counting would read too much; offsets still say where.
		t.lineKnown, t.sumOK = false, false
		return
	}
	lines, sum, err := scanPrefix(t.file, off)
	if err != nil {
		t.lineKnown, t.sumOK = false, false
		return
	}
	t.baseLine, t.sum = lines, sum
}

// restart is what a truncation leaves: the file starts over.
func (t *tailer) restart() {
	t.fr.Reset()
	t.pos, t.base, t.done, t.baseLine, t.lineKnown = 0, 0, 0, 0, true
	t.head = t.head[:0]
	t.last = t.last[:0]
	t.sum, t.sumOK = 0, true
}

// advance notes data read at pos and moves pos past it.
func (t *tailer) advance(data []byte) {
	t.pos += int64(len(data))
	if t.sumOK {
		t.sum = crc32.Update(t.sum, castagnoli, data)
	}
	if len(data) >= lastSize {
		t.last = append(t.last[:0], data[len(data)-lastSize:]...)
		return
	}
	t.last = append(t.last, data...)
	if extra := len(t.last) - lastSize; extra > 0 {
		t.last = append(t.last[:0], t.last[extra:]...)
	}
}

// lastMatches reports whether f holds t.last just before t.pos.
func (t *tailer) lastMatches(f *os.File) (bool, error) {
	if len(t.last) == 0 {
		return true, nil
	}
	buf := t.lastBuf[:len(t.last)]
	n, err := f.ReadAt(buf, t.pos-int64(len(buf)))
	if err != nil && err != io.EOF {
		return false, err
	}
	return n == len(buf) && bytes.Equal(buf, t.last), nil
}

// truncated reports whether the file was cut under the tailer: it is shorter than what
// was read, or shorter than the head once seen, or its first bytes changed. Otherwise it
// extends the remembered head as the file grows.
func (t *tailer) truncated() (bool, error) {
	now := time.Now()
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
		t.okAt = now
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
	same, err := t.lastMatches(t.file)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", t.path, err)
	}
	if !same {
		return true, nil
	}
	if len(cur) > len(t.head) {
		t.head = append(t.head[:0], cur...)
	}
	t.okAt = now
	return false, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// scanPrefix counts the newlines in f's first n bytes and sums them with CRC-32C.
func scanPrefix(f *os.File, n int64) (lines int64, sum uint32, err error) {
	buf := make([]byte, readChunk)
	var off int64
	for off < n {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		lines += int64(bytes.Count(buf[:k], []byte{'\n'}))
		sum = crc32.Update(sum, castagnoli, buf[:k])
		off += int64(k)
		if err != nil {
			if err == io.EOF && off == n {
				break
			}
			return 0, 0, fmt.Errorf("read %s: %w", f.Name(), err)
		}
	}
	return lines, sum, nil
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
// directory, name starting with path's stem, changed at or after since (minus the
// slack of coarse file-system clocks), newest first.
func siblings(path string, since time.Time) []string {
	dir, base := filepath.Split(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == "" {
		stem = base
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	since = since.Add(-mtimeSlack)
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
		if err != nil || info.ModTime().Before(since) {
			continue
		}
		cs = append(cs, cand{filepath.Join(dir, e.Name()), info.ModTime()})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].mod.After(cs[j].mod) })
	out := make([]string, 0, min(len(cs), maxCandidates))
	for _, c := range cs[:min(len(cs), maxCandidates)] {
		out = append(out, c.path)
	}
	return out
}

// mtimeSlack covers file systems whose clocks tick coarsely (1 s on some): a file
// changed just after an instant may carry a time just before it.
const mtimeSlack = time.Second

// maxCandidates bounds the files opened when looking for a rotated copy.
const maxCandidates = 4096

// findCopy looks for the copy a copytruncate made of t's file: a sibling not read yet,
// at least t.pos long, that starts with the head t saw, holds the bytes t read last
// just before t.pos, and sums like t's bytes. It returns the open copy and its size.
func findCopy(t *tailer, known func(fileID) bool) (*os.File, int64) {
	if len(t.head) == 0 {
		return nil, 0
	}
	buf := make([]byte, len(t.head))
	for _, p := range siblings(t.path, t.okAt) {
		f, err := openShared(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() < t.pos || os.SameFile(fi, t.fi) {
			f.Close()
			continue
		}
		if id, ok := fileIDOfInfo(p, fi); ok && known(id) {
			f.Close() // already read whole, as a file rotated away unseen
			continue
		}
		if n, _ := f.ReadAt(buf, 0); n == len(buf) && bytes.Equal(buf, t.head) {
			if ok, _ := t.lastMatches(f); ok && t.sumMatches(f) {
				return f, fi.Size()
			}
		}
		f.Close()
	}
	return nil, 0
}

// sumMatches reports whether f's first t.pos bytes are the ones t read (true when t
// has no sum, e.g. it started at the end of a large file).
func (t *tailer) sumMatches(f *os.File) bool {
	if !t.sumOK {
		return true
	}
	_, sum, err := scanPrefix(f, t.pos)
	return err == nil && sum == t.sum
}

// findResumable looks beside path for the file a checkpoint was taken on, rotated away
// while vigil was not running: renamed (same identity) or copied by a copytruncate (same
// head), either way at least as long as the checkpoint's offset. Identity wins.
func findResumable(path string, cp *checkpoint) *os.File {
	var byHead *os.File
	for _, p := range siblings(path, time.Time{}) {
		f, err := openShared(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() < cp.Offset || !cp.headMatches(f) {
			f.Close()
			continue
		}
		if id, err := fileIDOf(f); err == nil && id == cp.id() {
			if byHead != nil {
				byHead.Close()
			}
			return f
		}
		if byHead == nil { // siblings come newest first
			byHead = f
			continue
		}
		f.Close()
	}
	return byHead
}

// openAtStart opens a file present when the feed starts, at its checkpoint when the
// checkpoint still names this file, else at its end (or start with FromStart). A file
// replaced while vigil was down is read from 0, after draining the old one if it is
// still beside it.
func (r *runner) openAtStart(ctx context.Context, path string) {
	start := time.Now()
	t, err := openTailer(path, r.f.name, r.f.cfg.MaxRecord)
	if err != nil {
		r.f.setFailing(path, err.Error()) // retried by the poll, as a new file
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
	r.remember(t)
	r.verified[path] = start
	r.addTail(t)
}

// resumeRotated finds the file a checkpoint was taken on, now rotated away (renamed or
// copied and truncated), and queues it to be drained from the checkpoint's offset.
func (r *runner) resumeRotated(ctx context.Context, cur *tailer, cp *checkpoint) {
	old := findResumable(cur.path, cp)
	if old == nil {
		return
	}
	fi, err := old.Stat()
	if err != nil {
		old.Close()
		return
	}
	t := &tailer{
		path: cur.path, feedName: r.f.name, file: old, fi: fi, fr: decode.NewFramer(r.f.cfg.MaxRecord),
		saved: -1, headBuf: make([]byte, headSize), lastBuf: make([]byte, lastSize), retiredAt: time.Now(),
	}
	if id, err := fileIDOf(old); err == nil {
		t.id, t.idOK = id, true
	}
	r.remember(t)
	if _, err := t.truncated(); err != nil {
		old.Close()
		return
	}
	t.seek(cp.Offset)
	r.retired = append(r.retired, t)
}
