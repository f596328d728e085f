package triage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-soc/vigil/source"
)

// MaxReasonLen bounds an allowlist entry's reason and author.
const MaxReasonLen = 4096

// idAlphabet is Crockford's base32 in lower case: ascending in ASCII, so ids sort by time.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var idEncoding = base32.NewEncoding(idAlphabet).WithPadding(base32.NoPadding)

// NewAllowID returns a short, stable, time-sortable allowlist id: "al-" followed by 16
// base32 characters (48 bits of milliseconds, 32 random bits).
func NewAllowID(now time.Time) string {
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on supported platforms
	return "al-" + idEncoding.EncodeToString(b[:])
}

// validateEntry checks e before it is stored.
func validateEntry(e *AllowEntry) error {
	e.dropMatchAll() // "*" alone is no condition: it must not make an entry that mutes every rule
	if !e.hasCondition() {
		return invalidf("an allowlist entry needs a rule or at least one condition")
	}
	if strings.TrimSpace(e.Reason) == "" {
		return invalidf("an allowlist entry needs a reason")
	}
	if len(e.Reason) > MaxReasonLen || len(e.Author) > MaxReasonLen || len(e.RuleID) > MaxPatternLen || len(e.ID) > 128 {
		return invalidf("an allowlist entry's id, rule, reason or author is over the size limit")
	}
	if err := compileEntry(e); err != nil {
		return &invalidError{err.Error()}
	}
	return nil
}

func patternText(p *Pattern) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: p.String(), Valid: true}
}

// AddAllow stores e (given an id, creation time and author when it has none) and, with
// closeMatching, closes every open or acknowledged alert it matches in the same
// transaction with closeReason (false_positive or benign_positive), each with an audit
// record. It returns the stored entry and how many alerts it closed.
func (s *Store) AddAllow(ctx context.Context, e AllowEntry, closeMatching bool, closeReason Reason) (AllowEntry, int, error) {
	if closeMatching && closeReason != ReasonFalsePositive && closeReason != ReasonBenignPositive {
		return AllowEntry{}, 0, invalidf("add allowlist entry: close reason %q must be false_positive or benign_positive", string(closeReason))
	}
	now := s.now().UTC()
	if e.ID == "" {
		e.ID = NewAllowID(now)
	}
	if e.Created.IsZero() {
		e.Created = now
	}
	if e.Author == "" {
		e.Author = s.who
	}
	if err := validateEntry(&e); err != nil {
		return AllowEntry{}, 0, fmt.Errorf("add allowlist entry: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return AllowEntry{}, 0, fmt.Errorf("add allowlist entry in %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if err := insertEntry(ctx, tx, &e); err != nil {
		return AllowEntry{}, 0, fmt.Errorf("add allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	closed := 0
	if closeMatching {
		ids, err := matchingOpen(ctx, tx, &e, now)
		if err != nil {
			return AllowEntry{}, 0, fmt.Errorf("add allowlist entry %s in %s: %w", e.ID, s.path, err)
		}
		for _, m := range ids {
			if _, err := s.changeStatus(ctx, tx, m.id, m.status, StatusClosed, closeReason, "allowlisted by "+e.ID+": "+e.Reason, e.ID); err != nil {
				return AllowEntry{}, 0, err
			}
		}
		closed = len(ids)
	}
	if err := tx.Commit(); err != nil {
		return AllowEntry{}, 0, fmt.Errorf("add allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	return e, closed, nil
}

func insertEntry(ctx context.Context, tx *sql.Tx, e *AllowEntry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO allowlist (id, rule_id, image, parent_image, command_line,
		user, host, expires, reason, author, created, hits, last_hit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.RuleID, patternText(e.Image), patternText(e.ParentImage), patternText(e.CommandLine),
		patternText(e.User), patternText(e.Host), toNanos(e.Expires), e.Reason, e.Author,
		toNanos(e.Created), e.Hits, toNanos(e.LastHit))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return invalidf("an entry with id %s already exists", e.ID)
	}
	return err
}

type openAlert struct {
	id     string
	status Status
}

// matchingOpen lists the not-closed alerts e matches at now.
func matchingOpen(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, e *AllowEntry, now time.Time,
) ([]openAlert, error) {
	query := `SELECT id, status, rule_id, host, user, image, parent_image, command_line FROM alerts
		WHERE status IN ('open', 'acknowledged')`
	var args []any
	if e.RuleID != "" {
		query += " AND rule_id = ? COLLATE NOCASE"
		args = append(args, e.RuleID)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []openAlert
	var ev source.Event
	for rows.Next() {
		var id, status, rule string
		if err := rows.Scan(&id, &status, &rule, &ev.Host, &ev.Process.User, &ev.Process.Image,
			&ev.Parent.Image, &ev.Process.CommandLine); err != nil {
			return nil, err
		}
		if e.Matches(rule, &ev, now) {
			out = append(out, openAlert{id, Status(status)})
		}
	}
	return out, rows.Err()
}

// CountMatching says how many open or acknowledged alerts e would close now, without
// changing anything (the TUI's "would also close N").
func (s *Store) CountMatching(ctx context.Context, e AllowEntry) (int, error) {
	if err := compileEntry(&e); err != nil {
		return 0, fmt.Errorf("count alerts matching allowlist entry: %w", err)
	}
	ids, err := matchingOpen(ctx, s.db, &e, s.now())
	if err != nil {
		return 0, fmt.Errorf("count alerts matching allowlist entry in %s: %w", s.path, err)
	}
	return len(ids), nil
}

// Allowlist returns every entry, expired ones included (check Expired), oldest first.
func (s *Store) Allowlist(ctx context.Context) ([]AllowEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, rule_id, image, parent_image, command_line, user, host,
		expires, reason, author, created, hits, last_hit FROM allowlist ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read allowlist from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AllowEntry
	for rows.Next() {
		var e AllowEntry
		var pats [5]sql.NullString
		var expires, created, lastHit int64
		if err := rows.Scan(&e.ID, &e.RuleID, &pats[0], &pats[1], &pats[2], &pats[3], &pats[4],
			&expires, &e.Reason, &e.Author, &created, &e.Hits, &lastHit); err != nil {
			return nil, fmt.Errorf("read allowlist from %s: %w", s.path, err)
		}
		e.Expires, e.Created, e.LastHit = fromNanos(expires), fromNanos(created), fromNanos(lastHit)
		for i, f := range e.fields() {
			if !pats[i].Valid {
				continue
			}
			p, err := ParsePattern(pats[i].String)
			if err != nil {
				return nil, fmt.Errorf("read allowlist entry %s from %s: %s: %w", e.ID, s.path, f.name, err)
			}
			*f.p = &p
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read allowlist from %s: %w", s.path, err)
	}
	return out, nil
}

// RemoveAllow deletes an entry; an unknown id is ErrNotFound. Alerts it suppressed or
// closed keep its id as a record of why.
func (s *Store) RemoveAllow(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM allowlist WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("remove allowlist entry %q from %s: %w", id, s.path, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("allowlist entry %q: %w", id, ErrNotFound)
	}
	return nil
}

// RecordHits adds hits[id] to each entry's hit count and sets its last hit to at, in one
// transaction. Unknown ids (entries removed meanwhile) are ignored.
func (s *Store) RecordHits(ctx context.Context, hits map[string]int, at time.Time) error {
	if len(hits) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record allowlist hits in %s: %w", s.path, err)
	}
	defer tx.Rollback()
	for id, n := range hits {
		if n <= 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE allowlist SET hits = hits + ?, last_hit = max(last_hit, ?) WHERE id = ?`,
			n, toNanos(at), id); err != nil {
			return fmt.Errorf("record allowlist hits of %s in %s: %w", id, s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record allowlist hits in %s: %w", s.path, err)
	}
	return nil
}

// ImportAllow stores entries (from ImportSigma) in one transaction: all or nothing.
// Entries whose id is already in the store are skipped and counted, so importing the
// same file twice changes nothing.
func (s *Store) ImportAllow(ctx context.Context, entries []AllowEntry) (added, skipped int, err error) {
	now := s.now().UTC()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("import allowlist into %s: %w", s.path, err)
	}
	defer tx.Rollback()
	for i := range entries {
		e := entries[i]
		if e.ID == "" {
			e.ID = NewAllowID(now)
		}
		if e.Created.IsZero() {
			e.Created = now
		}
		if e.Author == "" {
			e.Author = s.who
		}
		if err := validateEntry(&e); err != nil {
			return 0, 0, fmt.Errorf("import allowlist entry %d (%s): %w", i+1, e.ID, err)
		}
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM allowlist WHERE id = ?", e.ID).Scan(&one)
		if err == nil {
			skipped++
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, 0, fmt.Errorf("import allowlist into %s: %w", s.path, err)
		}
		if err := insertEntry(ctx, tx, &e); err != nil {
			return 0, 0, fmt.Errorf("import allowlist entry %s into %s: %w", e.ID, s.path, err)
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("import allowlist into %s: %w", s.path, err)
	}
	return added, skipped, nil
}

// UpdateAllow replaces an entry's rule, conditions, expiry and reason (the TUI's edit);
// its id, author, creation time and hits are kept. An unknown id is ErrNotFound.
func (s *Store) UpdateAllow(ctx context.Context, e AllowEntry) (AllowEntry, error) {
	if e.ID == "" {
		return AllowEntry{}, invalidf("update allowlist entry: empty id")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return AllowEntry{}, fmt.Errorf("update allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	defer tx.Rollback()
	var created, lastHit int64
	err = tx.QueryRowContext(ctx, "SELECT author, created, hits, last_hit FROM allowlist WHERE id = ?", e.ID).
		Scan(&e.Author, &created, &e.Hits, &lastHit)
	if errors.Is(err, sql.ErrNoRows) {
		return AllowEntry{}, fmt.Errorf("allowlist entry %q: %w", e.ID, ErrNotFound)
	}
	if err != nil {
		return AllowEntry{}, fmt.Errorf("update allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	e.Created, e.LastHit = fromNanos(created), fromNanos(lastHit)
	if err := validateEntry(&e); err != nil {
		return AllowEntry{}, fmt.Errorf("update allowlist entry %s: %w", e.ID, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE allowlist SET rule_id = ?, image = ?, parent_image = ?, command_line = ?,
		user = ?, host = ?, expires = ?, reason = ? WHERE id = ?`,
		e.RuleID, patternText(e.Image), patternText(e.ParentImage), patternText(e.CommandLine),
		patternText(e.User), patternText(e.Host), toNanos(e.Expires), e.Reason, e.ID)
	if err != nil {
		return AllowEntry{}, fmt.Errorf("update allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return AllowEntry{}, fmt.Errorf("update allowlist entry %s in %s: %w", e.ID, s.path, err)
	}
	return e, nil
}
