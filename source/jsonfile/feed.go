// Package jsonfile tails files of Windows events (NDJSON, JSON arrays, pretty-printed JSON
// objects, event XML, syslog lines) and turns each record into a source.Event.
//
// It watches each pattern's parent directory with fsnotify rather than the file itself,
// because rotation replaces the file: a watch on the file would follow the renamed inode
// and never see the new one (fsnotify README, FAQ). Events are filtered by name or glob,
// so a glob also picks up files that appear later. A slow poll backs fsnotify up where it
// misses events (NFS, queue overflow).
//
// Rotation:
//   - rename + create: the old file is kept open and drained to its end (a writer may
//     still append to it until it reopens), then closed once idle; the new file is read
//     from its start.
//   - copytruncate: a truncation is noticed by the size shrinking below the read position,
//     or the file's first 512 bytes or the 256 bytes before the read position changing.
//     The bytes not read yet are read from the rotated copy: a sibling whose name starts
//     with the file's stem, at least as long as what was read, with the same first bytes,
//     the same bytes before the read position and the same CRC-32C of everything read.
//     copytruncate has an inherent window no reader can close: lines the writer appends
//     between the copy and the truncation are in neither file (logrotate(8) says so); a
//     writer that holds appends during copy+truncate loses nothing.
//   - delete + re-create: as rename + create.
//   - several rotations between two looks: files rotated away that vigil never opened
//     (named the file's name plus a suffix such as ".1" or "-20261204", changed since the
//     last look, not known by identity, not compressed) are read whole, oldest first,
//     before the new file. A file renamed into a glob's reach keeps its position. When
//     vigil lags that far behind, records of different files may come out in a
//     different order than written (each file's own records stay in order).
//
// Limits: a truncation that rewrites the same head and the same bytes before the read
// position (and leaves the file at least as long) is invisible; the undrained tail of a
// rotated file at shutdown is not checkpointed (only the file at the watched path is);
// rotated files are recognized in the file's own directory only (not logrotate olddir).
package jsonfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// DefaultDebounce is the window in which file-system events are coalesced. The first
// few events of a window are handled at once, later ones at the window's end, so the
// debounce bounds the work under heavy writes (at most a few rounds per window) while a
// lone append is read at once and a busy file waits at most one window.
const DefaultDebounce = 10 * time.Millisecond

const (
	defaultPoll        = time.Second     // fallback stat of every file, for missed events
	defaultCheckpoint  = time.Second     // how often changed positions are saved
	defaultRetireAfter = 2 * time.Second // a rotated file idle this long is closed
	headSize           = 512             // bytes of a file's head kept to recognize it
	lastSize           = 256             // bytes before the read position kept to recognize it
	readChunk          = 64 << 10
	maxLineCount       = 64 << 20 // resume: count lines up to this offset, beyond it lines are unknown
	finalSaveTimeout   = 5 * time.Second
)

// Config says what to tail and how.
type Config struct {
	// Patterns are file paths or globs (wildcards in the file name only); "-" is stdin.
	Patterns []string
	// FromStart reads what the files already hold; by default tailing starts at their end.
	// A saved checkpoint wins over both.
	FromStart bool
	// MaxRecord bounds one record in bytes; longer records are skipped and counted.
	// 0 means decode.DefaultMaxRecord.
	MaxRecord int
	// Checkpoints persists read positions (key "file:"+absolute path); nil keeps none.
	Checkpoints source.Checkpointer
	// Debounce coalesces bursts of file-system events; 0 means DefaultDebounce.
	Debounce time.Duration
	// Name is the feed's name in the status bar; "" derives "file:PATTERN".
	Name string
}

// Feed tails the files matching its patterns. Run it once; Status is safe at any time.
type Feed struct {
	cfg   Config
	name  string
	kind  string
	pats  []pattern
	stdin bool

	counters source.Counters
	running  atomic.Bool

	mu       sync.Mutex
	problem  string            // last passing trouble, shown in Status.Detail
	failing  map[string]string // files that cannot be read now, by path: the feed is in error
	files    int
	truncs   uint64
	unproven uint64 // truncations without a rotated copy: unread bytes, if any, are lost
	fromCopy uint64 // bytes read from rotated copies after truncations

	// Knobs for tests; zero values mean the defaults.
	stdinReader io.Reader
	poll        time.Duration
	cpEvery     time.Duration
	retireAfter time.Duration
	noWatch     bool // poll only, as if fsnotify saw nothing
}

// pattern is one --file argument split into the directory to watch and the name glob.
type pattern struct {
	raw  string
	dir  string // absolute, no wildcards
	base string // name or glob
}

// New checks cfg and returns a feed ready to Run.
func New(cfg Config) (*Feed, error) {
	if len(cfg.Patterns) == 0 {
		return nil, errors.New("jsonfile: no file given")
	}
	if cfg.MaxRecord < 0 {
		return nil, fmt.Errorf("jsonfile: max record %d: must not be negative", cfg.MaxRecord)
	}
	if cfg.MaxRecord == 0 {
		cfg.MaxRecord = decode.DefaultMaxRecord
	}
	if cfg.Debounce < 0 {
		return nil, fmt.Errorf("jsonfile: debounce %s: must not be negative", cfg.Debounce)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	f := &Feed{cfg: cfg, kind: "file"}
	for _, p := range cfg.Patterns {
		if p == "-" {
			if f.stdin {
				return nil, errors.New("jsonfile: stdin (-) given twice")
			}
			f.stdin = true
			continue
		}
		if p == "" {
			return nil, errors.New("jsonfile: empty file name")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("jsonfile: %s: %w", p, err)
		}
		dir, base := filepath.Split(abs)
		dir = filepath.Clean(dir)
		if hasMeta(dir) {
			return nil, fmt.Errorf("jsonfile: %s: wildcards are allowed in the file name only, not in directories", p)
		}
		if _, err := filepath.Match(base, ""); err != nil {
			return nil, fmt.Errorf("jsonfile: %s: bad glob: %w", p, err)
		}
		f.pats = append(f.pats, pattern{raw: p, dir: dir, base: base})
	}
	if f.stdin && len(f.pats) == 0 {
		f.kind = "stdin"
	}
	f.name = cfg.Name
	if f.name == "" {
		if f.kind == "stdin" {
			f.name = "stdin"
		} else {
			f.name = "file:" + strings.Join(cfg.Patterns, ",")
		}
	}
	f.counters.SetState(source.StateStarting, "")
	return f, nil
}

// Name returns the feed's name as shown in the status bar.
func (f *Feed) Name() string { return f.name }

// Status returns a snapshot of the feed's counters and state.
func (f *Feed) Status() source.Status {
	s := f.counters.Snapshot(f.name, f.kind)
	f.mu.Lock()
	var notes []string
	if s.State == source.StateTailing && len(f.pats) > 0 {
		notes = append(notes, plural(f.files, "file"))
	}
	if f.truncs > 0 {
		notes = append(notes, fmt.Sprintf("%s (%d bytes read from rotated copies)", plural(int(f.truncs), "truncation"), f.fromCopy))
	}
	if f.unproven > 0 {
		notes = append(notes, fmt.Sprintf("%d without a rotated copy (bytes unread then are lost)", f.unproven))
	}
	if f.problem != "" {
		notes = append(notes, f.problem)
	}
	var fails []string
	for _, msg := range f.failing {
		fails = append(fails, msg)
	}
	f.mu.Unlock()
	if len(fails) > 0 && s.State == source.StateTailing {
		sort.Strings(fails)
		s.State, s.Detail = source.StateError, strings.Join(fails, "; ")
	}
	if s.Detail == "" {
		s.Detail = strings.Join(notes, "; ")
	}
	return s
}

// setFailing marks path as unreadable (msg says why) or, with msg "", readable again.
func (f *Feed) setFailing(path, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if msg == "" {
		delete(f.failing, path)
		return
	}
	if f.failing == nil {
		f.failing = map[string]string{}
	}
	f.failing[path] = msg
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (f *Feed) setProblem(msg string) {
	f.mu.Lock()
	f.problem = msg
	f.mu.Unlock()
}

// Run tails until ctx is done, then saves checkpoints and returns nil. It returns an
// error when it cannot start (a directory that cannot be watched) or when stdin fails.
// With only stdin it returns nil at stdin's end.
//
// Blocking policy: files never drop. Each send on out blocks until the receiver takes
// the event or ctx is done; meanwhile the bytes wait in the file (and the kernel's
// event queue, whose overflow triggers a rescan). Each Event sent is a fresh value that
// belongs to the receiver.
func (f *Feed) Run(ctx context.Context, out chan<- source.Event) error {
	if !f.running.CompareAndSwap(false, true) {
		return fmt.Errorf("jsonfile: %s: already running", f.name)
	}
	defer f.running.Store(false)
	r := newRunner(f, out)
	err := r.run(ctx)
	switch {
	case err != nil:
		f.counters.SetState(source.StateError, err.Error())
	case ctx.Err() == nil && len(f.pats) == 0:
		f.counters.SetState(source.StateDone, "")
	}
	return err
}

func (f *Feed) pollEvery() time.Duration  { return orDefault(f.poll, defaultPoll) }
func (f *Feed) saveEvery() time.Duration  { return orDefault(f.cpEvery, defaultCheckpoint) }
func (f *Feed) retireIdle() time.Duration { return orDefault(f.retireAfter, defaultRetireAfter) }
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// hasMeta reports whether s holds glob wildcards.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }
