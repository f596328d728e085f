package jsonfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// burstRounds is how many event rounds run at once within one debounce window.
const burstRounds = 4

// errStopped says ctx ended while a send was pending; the record was not handed over.
var errStopped = errors.New("stopped")

// runner is Run's state; it lives on Run's goroutine only.
type runner struct {
	f       *Feed
	out     chan<- source.Event
	tails   map[string]*tailer // the file currently at each watched path
	retired []*tailer          // rotated-away files still being drained
	dirty   map[string]struct{}
	buf     []byte
	// known holds the identities of files already read (bounded, oldest forgotten), so
	// a rotated file is never read twice; verified is when each path last held the
	// file being read, so files rotated away since then can be found.
	known    map[fileID]struct{}
	knownQ   []fileID
	verified map[string]time.Time
}

func newRunner(f *Feed, out chan<- source.Event) *runner {
	return &runner{
		f: f, out: out,
		tails: map[string]*tailer{}, dirty: map[string]struct{}{},
		known: map[fileID]struct{}{}, verified: map[string]time.Time{},
		buf: make([]byte, readChunk),
	}
}

// stdinChunk is one read from stdin, passed from the reading goroutine.
type stdinChunk struct {
	data []byte
	err  error // io.EOF at the end
}

func (r *runner) run(ctx context.Context) error {
	f := r.f
	var (
		stdinC  <-chan stdinChunk
		stdinFr *decode.Framer
		stop    = make(chan struct{})
	)
	defer close(stop)
	if f.stdin {
		in := f.stdinReader
		if in == nil {
			in = os.Stdin
		}
		stdinC = readStdin(in, stop)
		stdinFr = decode.NewFramer(f.cfg.MaxRecord)
	}

	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if len(f.pats) > 0 {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("jsonfile: watch: %w", err)
		}
		defer w.Close()
		seen := map[string]bool{}
		for _, p := range f.pats {
			if seen[p.dir] {
				continue
			}
			seen[p.dir] = true
			// Watch before listing, so a file created in between is not missed.
			if err := w.Add(p.dir); err != nil {
				return fmt.Errorf("jsonfile: watch directory %s (for %s): %w", p.dir, p.raw, err)
			}
		}
		if !f.noWatch {
			events, errs = w.Events, w.Errors
		}
		for _, path := range r.glob() {
			r.openAtStart(ctx, path)
		}
	}
	f.counters.SetState(source.StateTailing, "")
	// What is due at start (FromStart, a checkpoint behind the end) is read in the loop's
	// first round, as if a file-system event had named every file.
	for p := range r.tails {
		r.dirty[p] = struct{}{}
	}
	if err := r.flush(ctx); err != nil {
		if errors.Is(err, errStopped) {
			err = nil
		}
		return r.shutdown(ctx, err)
	}

	deb := time.NewTimer(time.Hour)
	deb.Stop()
	armed := false // a debounce window is open
	immediate := 0 // rounds run at once in this window
	poll := time.NewTicker(f.pollEvery())
	defer poll.Stop()
	save := time.NewTicker(f.saveEvery())
	defer save.Stop()

	for {
		var err error
		select {
		case <-ctx.Done():
			return r.shutdown(ctx, nil)
		case c := <-stdinC:
			err = r.stdinChunk(ctx, stdinFr, c)
			if c.err != nil {
				stdinC = nil
				if err == nil && c.err != io.EOF {
					err = fmt.Errorf("jsonfile: read stdin: %w", c.err)
				}
				if err == nil && len(f.pats) == 0 {
					return nil
				}
			}
		case ev, ok := <-events:
			if !ok {
				events = nil // the watcher died: the poll carries on alone
				f.setProblem("file watcher closed; polling every " + f.pollEvery().String())
				continue
			}
			if ev.Op == fsnotify.Chmod || !r.matches(ev.Name) {
				continue
			}
			r.dirty[ev.Name] = struct{}{}
			switch {
			case !armed:
				// Leading edge: handle the first event now, then open a window.
				err = r.flush(ctx)
				armed, immediate = true, 1
				deb.Reset(f.cfg.Debounce)
			case immediate < burstRounds:
				// A few more rounds run at once, so a steady trickle of appends is not
				// delayed; past them the window coalesces a burst into one round.
				err = r.flush(ctx)
				immediate++
			}
		case <-deb.C:
			immediate = 0
			if len(r.dirty) == 0 {
				armed = false
				continue
			}
			err = r.flush(ctx)
			deb.Reset(f.cfg.Debounce)
		case werr, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(werr, fsnotify.ErrEventOverflow) {
				f.setProblem("file events overflowed; rescanned")
			} else {
				f.setProblem("file watcher: " + werr.Error())
			}
			err = r.rescan(ctx)
		case <-poll.C:
			if len(f.pats) > 0 {
				err = r.rescan(ctx)
			}
		case <-save.C:
			r.saveAll(ctx)
		}
		if errors.Is(err, errStopped) {
			return r.shutdown(ctx, nil)
		}
		if err != nil {
			return r.shutdown(ctx, err)
		}
	}
}

// readStdin reads in on its own goroutine, since a read cannot be interrupted. It never
// touches the feed's output; it stops at the end of input or when stop closes.
func readStdin(in io.Reader, stop <-chan struct{}) <-chan stdinChunk {
	c := make(chan stdinChunk)
	go func() {
		for {
			buf := make([]byte, readChunk)
			n, err := in.Read(buf)
			if n > 0 {
				select {
				case c <- stdinChunk{data: buf[:n]}:
				case <-stop:
					return
				}
			}
			if err != nil {
				select {
				case c <- stdinChunk{err: err}:
				case <-stop:
				}
				return
			}
		}
	}()
	return c
}

func (r *runner) stdinChunk(ctx context.Context, fr *decode.Framer, c stdinChunk) error {
	src := recordSource{feed: r.f.name, where: "stdin", lineKnown: true}
	if len(c.data) > 0 {
		r.f.counters.Bytes.Add(uint64(len(c.data)))
		fr.Write(c.data)
		for {
			rec, ok := fr.Next()
			if !ok {
				break
			}
			if err := r.emit(ctx, src, rec); err != nil {
				return err
			}
		}
	}
	if c.err != nil {
		return r.close(ctx, src, fr)
	}
	return nil
}

// close hands over what a framer still holds at the end of its stream: a record without
// its final newline, or an unterminated one (which then fails to decode and is counted).
func (r *runner) close(ctx context.Context, src recordSource, fr *decode.Framer) error {
	for {
		rec, ok := fr.Close()
		if !ok {
			return nil
		}
		if err := r.emit(ctx, src, rec); err != nil {
			return err
		}
	}
}

// recordSource says where a framer's records come from, for their Origin.
type recordSource struct {
	feed, where string
	base        int64 // file offset of the framer's offset 0
	baseLine    int64 // lines before base
	lineKnown   bool
}

// emit decodes one record and hands the event over, counting what happened to it.
func (r *runner) emit(ctx context.Context, src recordSource, rec decode.Record) error {
	c := &r.f.counters
	c.Records.Add(1)
	origin := source.Origin{Feed: src.feed, Where: src.where, Offset: src.base + rec.Offset}
	if src.lineKnown {
		origin.Line = src.baseLine + rec.Line
	}
	if rec.Oversize {
		c.Skipped.Add(1)
		return nil
	}
	var ev source.Event // fresh for every record: it is handed over
	if err := decode.Decode(rec.Data, origin, &ev); err != nil {
		format := source.FormatUnknown
		var de *decode.Error
		if errors.As(err, &de) {
			format = de.Format
		}
		c.DecodeError(format, errorText(origin, err))
		return nil
	}
	c.Event(ev.Time) // counted before the send so a receiver never sees counters lag
	select {
	case r.out <- ev:
		return nil
	case <-ctx.Done():
		return errStopped
	}
}

// errorText is "file:line: reason"; decode.Error already says where.
func errorText(o source.Origin, err error) string {
	var de *decode.Error
	if errors.As(err, &de) {
		return err.Error()
	}
	return o.String() + ": " + err.Error()
}

// matches reports whether path is one the patterns select.
func (r *runner) matches(path string) bool {
	if _, ok := r.tails[path]; ok {
		return true
	}
	dir, base := filepath.Split(path)
	dir = filepath.Clean(dir)
	for _, p := range r.f.pats {
		if p.dir != dir {
			continue
		}
		if ok, _ := filepath.Match(p.base, base); ok {
			return true
		}
	}
	return false
}

// glob lists the regular files the patterns match now, sorted for a stable order.
func (r *runner) glob() []string {
	var paths []string
	seen := map[string]bool{}
	for _, p := range r.f.pats {
		full := filepath.Join(p.dir, p.base)
		var ms []string
		if hasMeta(p.base) {
			ms, _ = filepath.Glob(full) // the pattern was checked in New
		} else {
			ms = []string{full}
		}
		for _, m := range ms {
			if seen[m] {
				continue
			}
			if fi, err := os.Stat(m); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			seen[m] = true
			paths = append(paths, m)
		}
	}
	sort.Strings(paths)
	return paths
}

// flush handles the paths file-system events named.
func (r *runner) flush(ctx context.Context) error {
	// Rotated files first: what they hold was written before the current files' bytes.
	if err := r.drainRetired(ctx); err != nil {
		return err
	}
	for path := range r.dirty {
		delete(r.dirty, path)
		if err := r.check(ctx, path); err != nil {
			return err
		}
	}
	if err := r.drainRetired(ctx); err != nil {
		return err
	}
	r.closeIdle(ctx)
	return nil
}

// rescan is the fallback: every matching path and every tailed path is checked.
func (r *runner) rescan(ctx context.Context) error {
	if err := r.drainRetired(ctx); err != nil {
		return err
	}
	paths := r.glob()
	for p := range r.tails {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := r.check(ctx, p); err != nil {
			return err
		}
	}
	if err := r.drainRetired(ctx); err != nil {
		return err
	}
	r.closeIdle(ctx)
	return nil
}

// check brings the tailer for path up to date: a vanished or replaced file is retired
// (drained first), files rotated away before vigil saw them are read, a new file is
// opened at 0, and new bytes are read.
func (r *runner) check(ctx context.Context, path string) error {
	now := time.Now()
	t := r.tails[path]
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		r.f.setFailing(path, "") // gone: nothing left to fail on
		if t != nil {
			if err := r.retire(ctx, t); err != nil {
				return err
			}
			if err := r.gapScan(ctx, path, nil); err != nil {
				return err
			}
			r.verified[path] = now
		}
		return nil
	}
	if t != nil && !os.SameFile(t.fi, fi) {
		if err := r.retire(ctx, t); err != nil {
			return err
		}
		t = nil
	}
	if t == nil {
		if t, err = r.adopt(ctx, path, fi); err != nil || t == nil {
			return err
		}
	}
	t.failed = false
	if err := r.drain(ctx, t); err != nil {
		return err
	}
	if r.tails[path] == t {
		r.verified[path] = now
		if !t.failed {
			r.f.setFailing(path, "")
		}
	}
	return nil
}

// adopt starts following the file now at path. A file vigil already knows (renamed
// into a glob's reach) continues where it was; an unknown one is read from 0, after any
// files rotated away from path since it was last seen. The file is opened before that
// scan, so a rotation during the scan cannot make vigil read it twice or skip one.
func (r *runner) adopt(ctx context.Context, path string, fi os.FileInfo) (*tailer, error) {
	if id, ok := fileIDOfInfo(path, fi); ok {
		for i, rt := range r.retired {
			if rt.idOK && rt.id == id {
				r.retired = append(r.retired[:i], r.retired[i+1:]...)
				rt.path = path
				r.addTail(rt)
				return rt, nil
			}
		}
	}
	t, err := openTailer(path, r.f.name, r.f.cfg.MaxRecord)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) { // else gone since the stat: the next event says more
			r.f.setFailing(path, err.Error())
		}
		return nil, nil
	}
	if t.idOK && r.isKnown(t.id) {
		t.seek(t.fi.Size()) // read to its end before, under its old name
	} else {
		r.remember(t)
		t.scanFirst = true
		if err := r.gapScan(ctx, path, t.file); err != nil {
			t.file.Close()
			return nil, err
		}
	}
	r.addTail(t)
	return t, nil
}

// maxKnown bounds the identities remembered for rotated files.
const maxKnown = 4096

func (r *runner) remember(t *tailer) {
	if t.idOK {
		r.rememberID(t.id)
	}
}

func (r *runner) rememberID(id fileID) {
	if _, ok := r.known[id]; ok {
		return
	}
	if len(r.knownQ) == maxKnown {
		delete(r.known, r.knownQ[0])
		r.knownQ = r.knownQ[1:]
	}
	r.known[id] = struct{}{}
	r.knownQ = append(r.knownQ, id)
}

func (r *runner) isKnown(id fileID) bool { _, ok := r.known[id]; return ok }

// gapScan reads, oldest first, the files rotated away from path since vigil last saw
// the file there, which vigil never opened: a file created and rotated (renamed, or
// copied and truncated) between two looks. Candidates are named path's name plus a
// suffix (".1", "-20261204"), changed since that look, not known and not compressed.
// A copytruncate copy of the file being read is known by then: the truncation is
// noticed, and the copy read, before any scan.
//
// A copy starting like live (the file being read) or like the file at path now, looked
// at after listing the directory, is a copytruncate whose cut has not happened yet: its
// bytes are still in that file, and what the cut removes is read from the copy once the
// cut is seen.
func (r *runner) gapScan(ctx context.Context, path string, live *os.File) error {
	since, ok := r.verified[path]
	if !ok {
		return nil
	}
	// Coarse file-system clocks (1 s on some) would hide a file changed just after the
	// look; a second of slack only brings back known files, which are skipped.
	since = since.Add(-mtimeSlack)
	dir, base := filepath.Split(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type cand struct {
		path string
		fi   os.FileInfo
	}
	var cs []cand
	for _, e := range ents {
		name := e.Name()
		if len(name) <= len(base) || !strings.HasPrefix(name, base) || !strings.ContainsRune(".-_", rune(name[len(base)])) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.ModTime().Before(since) || fi.Size() == 0 {
			continue
		}
		p := filepath.Join(dir, name)
		if _, tailed := r.tails[p]; tailed {
			continue
		}
		if id, ok := fileIDOfInfo(p, fi); ok && r.isKnown(id) {
			continue
		}
		cs = append(cs, cand{p, fi})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].fi.ModTime().Before(cs[j].fi.ModTime()) })
	// Both the file being read and whatever is at path now count as live: the path may
	// have moved on to a file whose copytruncate is pending.
	var liveHeads [2][]byte
	if len(cs) > 0 {
		if live != nil {
			liveHeads[0] = headOf(live)
		}
		liveHeads[1] = readHead(path)
	}
	for _, c := range cs {
		t, err := openTailer(c.path, r.f.name, r.f.cfg.MaxRecord)
		if err != nil {
			continue
		}
		if samePrefix(t.head, liveHeads[0]) || samePrefix(t.head, liveHeads[1]) {
			// A copytruncate copy whose truncation has not happened yet: its bytes are
			// still in the file at path, and the copy is read once the cut is seen.
			t.file.Close()
			continue
		}
		r.remember(t)
		if compressed(t.head) {
			t.file.Close()
			continue
		}
		t.retiredAt = time.Now()
		r.retired = append(r.retired, t)
		if err := r.drain(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// readHead returns the first bytes of the file at path (nil if there is none).
func readHead(path string) []byte {
	f, err := openShared(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	return headOf(f)
}

// headOf returns f's first bytes (up to headSize).
func headOf(f *os.File) []byte {
	buf := make([]byte, headSize)
	n, _ := f.ReadAt(buf, 0)
	return buf[:n]
}

// samePrefix reports whether a and b are both non-empty and agree over the shorter.
func samePrefix(a, b []byte) bool {
	n := min(len(a), len(b))
	return n > 0 && string(a[:n]) == string(b[:n])
}

// compressed reports whether head starts like a gzip, bzip2, xz or zstd file.
func compressed(head []byte) bool {
	for _, m := range []string{"\x1f\x8b", "BZh", "\xfd7zXZ\x00", "\x28\xb5\x2f\xfd"} {
		if strings.HasPrefix(string(head), m) {
			return true
		}
	}
	return false
}

func (r *runner) addTail(t *tailer) {
	r.tails[t.path] = t
	r.f.mu.Lock()
	r.f.files = len(r.tails)
	r.f.mu.Unlock()
}

// retire moves t off its path: it is drained now and on every later round until idle,
// because a writer may still append to a renamed file until it reopens its log.
func (r *runner) retire(ctx context.Context, t *tailer) error {
	if r.tails[t.path] == t {
		delete(r.tails, t.path)
		r.f.mu.Lock()
		r.f.files = len(r.tails)
		r.f.mu.Unlock()
	}
	t.retiredAt = time.Now()
	r.retired = append(r.retired, t)
	return r.drain(ctx, t)
}

func (r *runner) drainRetired(ctx context.Context) error {
	for _, t := range r.retired {
		if err := r.drain(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) drainAll(ctx context.Context) error {
	if err := r.drainRetired(ctx); err != nil {
		return err
	}
	for _, t := range r.tails {
		if err := r.drain(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// maxRetired bounds the rotated files kept open at once.
const maxRetired = 64

// closeIdle closes rotated files nothing was appended to for a while; a trailing
// unterminated record is handed over then (the writer has moved on).
func (r *runner) closeIdle(ctx context.Context) {
	keep := r.retired[:0]
	idle := r.f.retireIdle()
	for i, t := range r.retired {
		// Past maxRetired the oldest are closed early (they were just drained) so a
		// storm of rotations cannot run vigil out of file descriptors.
		crowded := len(r.retired)-i > maxRetired
		if !crowded && (time.Since(t.lastData) < idle || time.Since(t.retiredAt) < idle) {
			keep = append(keep, t)
			continue
		}
		if err := r.close(ctx, t.src(), t.fr); err != nil {
			keep = append(keep, t) // stopped: keep it for shutdown to close
			continue
		}
		t.file.Close()
	}
	clear(r.retired[len(keep):])
	r.retired = keep
}

// drain reads everything t's file holds past its position and hands the records over.
func (r *runner) drain(ctx context.Context, t *tailer) error {
	if trunc, err := t.truncated(); err != nil {
		return r.readFailed(t, err)
	} else if trunc {
		if err := r.truncation(ctx, t); err != nil {
			return err
		}
	}
	for {
		n, rerr := t.file.ReadAt(r.buf, t.pos)
		if n > 0 && t.scanFirst && r.tails[t.path] == t {
			// A new file vigil first saw empty may have been written, copied and
			// truncated since: nothing it read could tell. Look for such a copy once
			// more before its first bytes, then read them again.
			t.scanFirst = false
			if err := r.gapScan(ctx, t.path, t.file); err != nil {
				return err
			}
			continue
		}
		if n > 0 {
			// Re-check after reading: if the file was truncated and rewritten meanwhile,
			// these bytes may be new data at an old offset; the copy has the real ones.
			trunc, err := t.truncated()
			if err != nil {
				return r.readFailed(t, err)
			}
			if trunc {
				if err := r.truncation(ctx, t); err != nil {
					return err
				}
				continue
			}
			if err := r.feed(ctx, t, r.buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF || (rerr == nil && n == 0) {
			return nil
		}
		if rerr != nil {
			return r.readFailed(t, rerr)
		}
	}
}

// readFailed notes a file that cannot be read; it is retried on the next round.
func (r *runner) readFailed(t *tailer, err error) error {
	r.f.setFailing(t.path, fmt.Sprintf("read %s: %v", t.path, err))
	t.failed = true
	return nil
}

// feed pushes bytes read at t.pos through t's framer and hands the records over.
func (r *runner) feed(ctx context.Context, t *tailer, data []byte) error {
	t.advance(data)
	t.lastData = time.Now()
	r.f.counters.Bytes.Add(uint64(len(data)))
	t.fr.Write(data)
	src := t.src()
	for {
		rec, ok := t.fr.Next()
		if !ok {
			return nil
		}
		if err := r.emit(ctx, src, rec); err != nil {
			return err
		}
		t.done = t.base + rec.End
	}
}

// truncation handles a file cut under t (copytruncate): the bytes t had not read yet
// are read from the rotated copy when one is found (all of them when t had read none),
// then t restarts at offset 0.
func (r *runner) truncation(ctx context.Context, t *tailer) error {
	r.f.mu.Lock()
	r.f.truncs++
	r.f.mu.Unlock()
	cp, size := findCopy(t, r.isKnown)
	switch {
	case cp != nil:
		if id, err := fileIDOf(cp); err == nil {
			r.rememberID(id)
		}
		err := r.readCopy(ctx, t, cp, size)
		cp.Close()
		if err != nil {
			return err
		}
	case t.pos > 0:
		r.f.mu.Lock()
		r.f.unproven++
		r.f.mu.Unlock()
	}
	if err := r.close(ctx, t.src(), t.fr); err != nil {
		return err
	}
	// Copies of the file made and truncated again before vigil looked.
	if r.tails[t.path] == t {
		if err := r.gapScan(ctx, t.path, t.file); err != nil {
			return err
		}
	}
	t.restart()
	_, err := t.truncated() // learn the new head
	return err
}

// readCopy reads [t.pos, size) of the rotated copy as if it were still t's file.
func (r *runner) readCopy(ctx context.Context, t *tailer, cp *os.File, size int64) error {
	r.f.mu.Lock()
	r.f.fromCopy += uint64(size - t.pos)
	r.f.mu.Unlock()
	for t.pos < size {
		n, err := cp.ReadAt(r.buf[:min(int64(len(r.buf)), size-t.pos)], t.pos)
		if n > 0 {
			if err := r.feed(ctx, t, r.buf[:n]); err != nil {
				return err
			}
		}
		if err != nil {
			if err != io.EOF {
				r.f.setProblem(fmt.Sprintf("read rotated copy %s: %v", cp.Name(), err))
			}
			return nil
		}
	}
	return nil
}

// shutdown saves positions and closes files. cause is returned as is.
func (r *runner) shutdown(ctx context.Context, cause error) error {
	r.saveAll(context.WithoutCancel(ctx))
	for _, t := range r.tails {
		t.file.Close()
	}
	for _, t := range r.retired {
		t.file.Close()
	}
	clear(r.tails)
	r.retired = nil
	return cause
}
