// Package triage holds the analyst's decisions: alert statuses with their audit trail,
// the allowlist, and the SQLite store that keeps them (and the feeds' checkpoints).
//
// The store is one SQLite file (modernc.org/sqlite, WAL, synchronous=FULL, 5 s busy
// timeout) that several processes may use at once; every verdict is committed before
// its call returns. Statuses go open -> acknowledged -> closed (closing needs a Reason),
// and acknowledged or closed alerts can be reopened; each change is an Audit record.
//
// Allowlist patterns (ParsePattern) compare case-insensitively unless prefixed with
// "cased:"; "re:" makes an RE2 regex, "exact:" a literal, and text holding '*' or '?' is
// a glob. Entries travel as Sigma filter rules (ExportSigma, ImportSigma).
package triage

import (
	"regexp"
	"time"
)

// Status is an alert's triage state.
type Status string

const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusClosed       Status = "closed"
)

// Reason says why an alert was closed (Elastic's vocabulary).
type Reason string

const (
	ReasonNone           Reason = ""
	ReasonTruePositive   Reason = "true_positive"
	ReasonFalsePositive  Reason = "false_positive"
	ReasonBenignPositive Reason = "benign_positive"
	ReasonDuplicate      Reason = "duplicate"
	ReasonOther          Reason = "other"
)

// AlertRecord is an alert as the store keeps it.
type AlertRecord struct {
	ID, RuleID, RuleName, Level    string
	Host, User, Image, ParentImage string
	CommandLine, ParentCommandLine string
	PID, ParentPID, EventID        uint32
	Origin                         string
	FirstSeen, LastSeen            time.Time
	Count                          int
	Status                         Status
	Reason                         Reason
	Suppressed                     bool
	AllowlistID                    string
	ParentFromTree                 bool
	Raw                            []byte // the triggering record's original bytes
}

// AlertFilter selects alerts to list; zero values mean any.
type AlertFilter struct {
	Status     Status
	Suppressed *bool
	Limit      int
}

// Audit is one recorded change of an alert's status.
type Audit struct {
	AlertID   string
	At        time.Time
	Who, Host string // OS user and machine that made the change
	From, To  Status
	Reason    Reason
	Note      string
}

// PatternKind says how a Pattern compares.
type PatternKind uint8

const (
	PatternExact PatternKind = iota
	PatternGlob              // '*' and '?' wildcards
	PatternRegex             // "re:" prefix, RE2
)

// Pattern is one allowlist condition on a field. Build it with ParsePattern so the regex
// is compiled once; a Pattern written as a literal still matches, but compiles its regex
// on every call.
type Pattern struct {
	Kind          PatternKind
	Text          string
	CaseSensitive bool

	re *regexp.Regexp // compiled PatternRegex, set by ParsePattern
}

// AllowEntry is one allowlist entry. Nil patterns match anything.
type AllowEntry struct {
	ID                                          string
	RuleID                                      string // "" matches every rule
	Image, ParentImage, CommandLine, User, Host *Pattern
	Expires                                     time.Time // zero: never
	Reason                                      string
	Author                                      string
	Created                                     time.Time
	Hits                                        int
	LastHit                                     time.Time
}
