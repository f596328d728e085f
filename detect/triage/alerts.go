package triage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxRawLen bounds the triggering record kept with an alert; longer records are cut
// (the decoder's record limit is larger than what triage needs to show).
const MaxRawLen = 1 << 20

// MaxNoteLen bounds an audit note.
const MaxNoteLen = 4096

const alertColumns = `id, rule_id, rule_name, level, host, user, image, parent_image, command_line,
	parent_command_line, pid, parent_pid, event_id, origin, first_seen, last_seen, count, status,
	reason, suppressed, allowlist_id, parent_from_tree, raw`

// UpsertAlert stores a, or, when an alert with its id exists, adds a.Count to its count
// (a.Count is the number of occurrences not yet stored: 0 when only the suppression
// changed), widens first/last seen and takes a's suppression. A new alert is stored with
// a count of at least 1. The stored status and reason are kept: an analyst's verdict is
// never overwritten by the engine.
func (s *Store) UpsertAlert(ctx context.Context, a AlertRecord) error {
	return s.UpsertAlerts(ctx, []AlertRecord{a})
}

// UpsertAlerts is UpsertAlert for many alerts in one transaction.
func (s *Store) UpsertAlerts(ctx context.Context, as []AlertRecord) error {
	if len(as) == 0 {
		return nil
	}
	for i := range as {
		if as[i].ID == "" {
			return fmt.Errorf("upsert alert %d of %d: empty id", i+1, len(as))
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("upsert alerts in %s: %w", s.path, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO alerts (`+alertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			count = alerts.count + ?,
			first_seen = min(alerts.first_seen, excluded.first_seen),
			last_seen = max(alerts.last_seen, excluded.last_seen),
			suppressed = excluded.suppressed,
			allowlist_id = excluded.allowlist_id`)
	if err != nil {
		return fmt.Errorf("upsert alerts in %s: %w", s.path, err)
	}
	defer st.Close()
	for i := range as {
		a := &as[i]
		status, reason := a.Status, a.Reason
		if status == "" {
			status = StatusOpen
		}
		if err := validStatus(status); err != nil {
			return fmt.Errorf("upsert alert %s: %w", a.ID, err)
		}
		if err := validReason(reason); err != nil {
			return fmt.Errorf("upsert alert %s: %w", a.ID, err)
		}
		delta := max(a.Count, 0)
		count := max(a.Count, 1)
		first, last := a.FirstSeen, a.LastSeen
		if first.IsZero() {
			first = last
		}
		if last.IsZero() {
			last = first
		}
		raw := a.Raw
		if len(raw) > MaxRawLen {
			raw = raw[:MaxRawLen]
		}
		_, err := st.ExecContext(ctx, a.ID, a.RuleID, a.RuleName, a.Level, a.Host, a.User, a.Image,
			a.ParentImage, a.CommandLine, a.ParentCommandLine, int64(a.PID), int64(a.ParentPID),
			int64(a.EventID), a.Origin, toNanos(first), toNanos(last), count, string(status),
			string(reason), a.Suppressed, a.AllowlistID, a.ParentFromTree, raw, delta)
		if err != nil {
			return fmt.Errorf("upsert alert %s in %s: %w", a.ID, s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upsert alerts in %s: %w", s.path, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanAlert(sc scanner) (AlertRecord, error) {
	var a AlertRecord
	var pid, ppid, eid, first, last int64
	var status, reason string
	err := sc.Scan(&a.ID, &a.RuleID, &a.RuleName, &a.Level, &a.Host, &a.User, &a.Image,
		&a.ParentImage, &a.CommandLine, &a.ParentCommandLine, &pid, &ppid, &eid, &a.Origin,
		&first, &last, &a.Count, &status, &reason, &a.Suppressed, &a.AllowlistID,
		&a.ParentFromTree, &a.Raw)
	if err != nil {
		return a, err
	}
	a.PID, a.ParentPID, a.EventID = uint32(pid), uint32(ppid), uint32(eid)
	a.FirstSeen, a.LastSeen = fromNanos(first), fromNanos(last)
	a.Status, a.Reason = Status(status), Reason(reason)
	return a, nil
}

// Alert returns one alert, or an error wrapping ErrNotFound.
func (s *Store) Alert(ctx context.Context, id string) (AlertRecord, error) {
	a, err := scanAlert(s.db.QueryRowContext(ctx, "SELECT "+alertColumns+" FROM alerts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return AlertRecord{}, fmt.Errorf("alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return AlertRecord{}, fmt.Errorf("read alert %q from %s: %w", id, s.path, err)
	}
	return a, nil
}

// ListAlerts returns the alerts f selects, newest (last seen) first.
func (s *Store) ListAlerts(ctx context.Context, f AlertFilter) ([]AlertRecord, error) {
	var where []string
	var args []any
	if f.Status != "" {
		if err := validStatus(f.Status); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Suppressed != nil {
		where = append(where, "suppressed = ?")
		args = append(args, *f.Suppressed)
	}
	q := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY last_seen DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts in %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AlertRecord
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts in %s: %w", s.path, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alerts in %s: %w", s.path, err)
	}
	return out, nil
}

// ErrInvalid is wrapped by every error about bad input (an unknown status or reason, a
// forbidden transition, an incomplete allowlist entry), as opposed to a store failure:
// errors.Is(err, ErrInvalid) tells a CLI to exit 2, not 1.
var ErrInvalid = errors.New("invalid triage input")

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

func validStatus(st Status) error {
	switch st {
	case StatusOpen, StatusAcknowledged, StatusClosed:
		return nil
	}
	return invalidf("unknown status %q (want open, acknowledged or closed)", string(st))
}

func validReason(r Reason) error {
	switch r {
	case ReasonNone, ReasonTruePositive, ReasonFalsePositive, ReasonBenignPositive, ReasonDuplicate, ReasonOther:
		return nil
	}
	return invalidf("unknown reason %q (want true_positive, false_positive, benign_positive, duplicate or other)", string(r))
}

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	return st, validStatus(st)
}

// ParseReason reads a close reason; "" is ReasonNone.
func ParseReason(s string) (Reason, error) {
	r := Reason(s)
	return r, validReason(r)
}

// CheckTransition says whether an alert may go from one status to another with reason:
// open -> acknowledged -> closed, open -> closed, and reopening (acknowledged or closed
// -> open). Closing needs a reason; other changes take none.
func CheckTransition(from, to Status, reason Reason) error {
	if err := validStatus(to); err != nil {
		return err
	}
	if err := validReason(reason); err != nil {
		return err
	}
	if to == StatusClosed && reason == ReasonNone {
		return invalidf("closing an alert needs a reason (true_positive, false_positive, benign_positive, duplicate or other)")
	}
	if to != StatusClosed && reason != ReasonNone {
		return invalidf("a reason is only given when closing, not for %s", to)
	}
	if from == to {
		return invalidf("alert is already %s", from)
	}
	if from == StatusClosed && to == StatusAcknowledged {
		return invalidf("a closed alert cannot be acknowledged; reopen it first")
	}
	return nil
}

// SetStatus changes an alert's status and records who did it, in one transaction; it
// returns only after the commit, so a returned Audit is durable.
func (s *Store) SetStatus(ctx context.Context, id string, to Status, reason Reason, note string) (Audit, error) {
	if len(note) > MaxNoteLen {
		return Audit{}, fmt.Errorf("set status of alert %q: %w", id, invalidf("note is %d bytes, over the %d limit", len(note), MaxNoteLen))
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Audit{}, fmt.Errorf("set status of alert %q in %s: %w", id, s.path, err)
	}
	defer tx.Rollback()
	var from string
	err = tx.QueryRowContext(ctx, "SELECT status FROM alerts WHERE id = ?", id).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return Audit{}, fmt.Errorf("alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Audit{}, fmt.Errorf("set status of alert %q in %s: %w", id, s.path, err)
	}
	if err := CheckTransition(Status(from), to, reason); err != nil {
		return Audit{}, fmt.Errorf("set status of alert %q: %w", id, err)
	}
	au, err := s.changeStatus(ctx, tx, id, Status(from), to, reason, note, "")
	if err != nil {
		return Audit{}, err
	}
	if err := tx.Commit(); err != nil {
		return Audit{}, fmt.Errorf("set status of alert %q in %s: %w", id, s.path, err)
	}
	return au, nil
}

// changeStatus updates one alert and writes its audit record inside tx.
func (s *Store) changeStatus(ctx context.Context, tx *sql.Tx, id string, from, to Status, reason Reason, note, allowID string) (Audit, error) {
	au := Audit{AlertID: id, At: s.now().UTC(), Who: s.who, Host: s.host, From: from, To: to, Reason: reason, Note: note}
	q := "UPDATE alerts SET status = ?, reason = ? WHERE id = ?"
	args := []any{string(to), string(reason), id}
	if allowID != "" {
		q = "UPDATE alerts SET status = ?, reason = ?, allowlist_id = ? WHERE id = ?"
		args = []any{string(to), string(reason), allowID, id}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return Audit{}, fmt.Errorf("set status of alert %q in %s: %w", id, s.path, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (alert_id, at, who, host, from_status, to_status, reason, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, toNanos(au.At), au.Who, au.Host, string(from), string(to), string(reason), note)
	if err != nil {
		return Audit{}, fmt.Errorf("audit alert %q in %s: %w", id, s.path, err)
	}
	return au, nil
}

// History returns an alert's audit trail, oldest first; an unknown alert is ErrNotFound.
func (s *Store) History(ctx context.Context, id string) ([]Audit, error) {
	var one int
	err := s.db.QueryRowContext(ctx, "SELECT 1 FROM alerts WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("alert %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read history of alert %q from %s: %w", id, s.path, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at, who, host, from_status, to_status, reason, note
		FROM audit WHERE alert_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read history of alert %q from %s: %w", id, s.path, err)
	}
	defer rows.Close()
	var out []Audit
	for rows.Next() {
		au := Audit{AlertID: id}
		var at int64
		var from, to, reason string
		if err := rows.Scan(&at, &au.Who, &au.Host, &from, &to, &reason, &au.Note); err != nil {
			return nil, fmt.Errorf("read history of alert %q from %s: %w", id, s.path, err)
		}
		au.At, au.From, au.To, au.Reason = fromNanos(at), Status(from), Status(to), Reason(reason)
		out = append(out, au)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of alert %q from %s: %w", id, s.path, err)
	}
	return out, nil
}

// setClock replaces the store's clock (tests).
func (s *Store) setClock(now func() time.Time) { s.now = now }
