package triage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vigil-soc/vigil/source"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// ErrNotFound is returned when an alert, allowlist entry or checkpoint does not exist.
var ErrNotFound = errors.New("not found")

// FileName is the store's file inside its directory.
const FileName = "vigil.db"

// applicationID marks a SQLite file as vigil's ("VGL1"), so a foreign database is
// recognized and refused instead of being migrated into.
const applicationID = 0x56474C31

// quickCheckMax is the largest store Open verifies page by page.
const quickCheckMax = 64 << 20

// busyTimeout is how long a write waits for another process (the TUI and the CLI share
// one store) before giving up.
const busyTimeout = 5 * time.Second

// migrations[i] takes the schema from user_version i to i+1. Never edit a shipped one:
// append.
var migrations = []string{
	`CREATE TABLE alerts (
		id TEXT PRIMARY KEY,
		rule_id TEXT NOT NULL, rule_name TEXT NOT NULL, level TEXT NOT NULL,
		host TEXT NOT NULL, user TEXT NOT NULL, image TEXT NOT NULL, parent_image TEXT NOT NULL,
		command_line TEXT NOT NULL, parent_command_line TEXT NOT NULL,
		pid INTEGER NOT NULL, parent_pid INTEGER NOT NULL, event_id INTEGER NOT NULL,
		origin TEXT NOT NULL,
		first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL,
		status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
		reason TEXT NOT NULL,
		suppressed INTEGER NOT NULL, allowlist_id TEXT NOT NULL,
		parent_from_tree INTEGER NOT NULL,
		raw BLOB
	);
	CREATE INDEX alerts_last_seen ON alerts (last_seen DESC, id DESC);
	CREATE INDEX alerts_status ON alerts (status, last_seen DESC);
	CREATE TABLE audit (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
		at INTEGER NOT NULL, who TEXT NOT NULL, host TEXT NOT NULL,
		from_status TEXT NOT NULL, to_status TEXT NOT NULL, reason TEXT NOT NULL, note TEXT NOT NULL
	);
	CREATE INDEX audit_alert ON audit (alert_id, seq);
	CREATE TABLE allowlist (
		id TEXT PRIMARY KEY,
		rule_id TEXT NOT NULL,
		image TEXT, parent_image TEXT, command_line TEXT, user TEXT, host TEXT,
		expires INTEGER NOT NULL, reason TEXT NOT NULL, author TEXT NOT NULL,
		created INTEGER NOT NULL, hits INTEGER NOT NULL, last_hit INTEGER NOT NULL
	);
	CREATE TABLE checkpoints (
		key TEXT PRIMARY KEY,
		value BLOB NOT NULL,
		updated INTEGER NOT NULL
	);`,
	// 2: the latest process-tree snapshot of each alert (JSON, see trees.go), so a
	// restarted TUI can still draw it.
	`ALTER TABLE alerts ADD COLUMN tree BLOB;`,
}

var _ source.Checkpointer = (*Store)(nil)

// schemaVersion is the schema this build writes; a store with a higher user_version is
// refused.
var schemaVersion = len(migrations)

// Store is the triage store: one SQLite file shared by the processes that use it. Its
// methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	who  string // OS user recorded in audit records
	host string // machine recorded in audit records
	now  func() time.Time
}

// DefaultDir is where the store lives when no directory is given:
// $XDG_STATE_HOME/vigil, else ~/.local/state/vigil.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "vigil"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w (set XDG_STATE_HOME or use --state)", err)
	}
	return filepath.Join(home, ".local", "state", "vigil"), nil
}

// Open opens (creating if needed) the store in dir, or in DefaultDir when dir is "".
// A file that is not SQLite, is corrupt, belongs to another application, or was written
// by a newer vigil is refused with an error naming it, and left untouched.
func Open(dir string) (*Store, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if err := precheck(path); err != nil {
		return nil, err
	}
	// Create the file ourselves so it is private to the user.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open triage store %s: %w", path, err)
	}
	f.Close()

	q := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		busyTimeout.Milliseconds())
	if runtime.GOOS == "darwin" {
		// macOS fsync does not flush the drive's cache; F_FULLFSYNC does (power loss).
		q += "&_pragma=fullfsync(1)&_pragma=checkpoint_fullfsync(1)"
	}
	db, err := sql.Open("sqlite", "file:"+escapeURIPath(path)+"?"+q)
	if err != nil {
		return nil, fmt.Errorf("open triage store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db, path: path, now: time.Now}
	s.who, s.host = whoAmI()
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close triage store %s: %w", s.path, err)
	}
	return nil
}

// precheck reads the file header without SQLite, which would otherwise convert a
// foreign file to WAL before we could look at it.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open triage store %s: %w", path, err)
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if n == 0 && (err == io.EOF) {
		return nil // empty: created by an Open that was interrupted before the first write
	}
	if err != nil || string(h[:16]) != "SQLite format 3\x00" {
		return fmt.Errorf("triage store %s is not a SQLite database (corrupt or foreign file); refusing to touch it", path)
	}
	schemaCookie := binary.BigEndian.Uint32(h[40:44])
	version := binary.BigEndian.Uint32(h[60:64])
	appID := binary.BigEndian.Uint32(h[68:72])
	return checkIdentity(path, appID, version, schemaCookie != 0)
}

func checkIdentity(path string, appID, version uint32, hasSchema bool) error {
	switch {
	case appID == 0 && !hasSchema:
		return nil // a fresh database
	case appID != applicationID:
		return fmt.Errorf("triage store %s is a SQLite database of another application (application_id %#x); refusing to touch it", path, appID)
	case int64(version) > int64(schemaVersion):
		return fmt.Errorf("triage store %s has schema version %d, newer than this vigil's %d; upgrade vigil", path, version, schemaVersion)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrapOpen(err)
	}
	defer tx.Rollback()
	var appID, version uint32
	var objects int
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return s.wrapOpen(err)
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return s.wrapOpen(err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&objects); err != nil {
		return s.wrapOpen(err)
	}
	if err := checkIdentity(s.path, appID, version, objects > 0); err != nil {
		return err
	}
	// quick_check reads every page: worth it on the sizes a triage store usually has, too
	// slow (~0.3 s per 100 MB) to pay on every CLI call beyond that. Corruption found later
	// still surfaces as an error naming the file.
	if err := s.quickCheck(ctx, tx); err != nil {
		return fmt.Errorf("triage store %s is corrupt: %w; refusing to touch it", s.path, err)
	}
	if int(version) == schemaVersion {
		return tx.Commit()
	}
	for v := int(version); v < schemaVersion; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate triage store %s to schema %d: %w", s.path, v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return fmt.Errorf("migrate triage store %s: %w", s.path, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("migrate triage store %s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate triage store %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) quickCheck(ctx context.Context, tx *sql.Tx) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if fi.Size() > quickCheckMax {
		var n int
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM alerts").Scan(&n)
	}
	var check string
	if err := tx.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return err
	}
	if check != "ok" {
		return errors.New(check)
	}
	return nil
}

func (s *Store) wrapOpen(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") {
		return fmt.Errorf("triage store %s is corrupt: %w; refusing to touch it", s.path, err)
	}
	return fmt.Errorf("open triage store %s: %w", s.path, err)
}

// whoAmI names the OS user and machine for audit records.
func whoAmI() (who, host string) {
	if u, err := user.Current(); err == nil && u.Username != "" {
		who = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		who = v
	} else if v := os.Getenv("USERNAME"); v != "" {
		who = v
	} else {
		who = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return who, host
}

// escapeURIPath makes path safe inside a SQLite "file:" URI.
func escapeURIPath(path string) string {
	path = filepath.ToSlash(path)
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch c {
		case '?', '#', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	if len(path) > 1 && path[1] == ':' { // Windows drive letter: file:/C:/...
		return "/" + b.String()
	}
	return b.String()
}

// toNanos stores a time as UTC nanoseconds; the zero time is 0.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// LoadCheckpoint returns a feed's saved position, or nil, nil when there is none.
func (s *Store) LoadCheckpoint(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, "SELECT value FROM checkpoints WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %q from %s: %w", key, s.path, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// MaxCheckpointLen bounds a checkpoint value (offsets and Windows bookmarks are small).
const MaxCheckpointLen = 1 << 20

// SaveCheckpoint stores a feed's position durably.
func (s *Store) SaveCheckpoint(ctx context.Context, key string, value []byte) error {
	if len(value) > MaxCheckpointLen {
		return fmt.Errorf("save checkpoint %q: %d bytes is over the %d limit", key, len(value), MaxCheckpointLen)
	}
	if value == nil {
		value = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO checkpoints (key, value, updated) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
		key, value, toNanos(s.now()))
	if err != nil {
		return fmt.Errorf("save checkpoint %q to %s: %w", key, s.path, err)
	}
	return nil
}
