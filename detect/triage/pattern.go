package triage

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-soc/vigil/source"
)

// MaxPatternLen bounds a pattern's text: patterns come from analysts and from imported
// files, and a regex's compile cost grows with its length.
const MaxPatternLen = 4096

// Pattern syntax, as ParsePattern reads it (prefixes combine in this order):
//
//	cased:   compare case-sensitively (the default is case-insensitive, like Sigma)
//	re:      the rest is an RE2 regular expression, unanchored (use ^...$ to anchor)
//	exact:   the rest is literal even if it holds '*' or '?'
//	else     a glob when the text holds '*' (any run) or '?' (one character), otherwise
//	         an exact, whole-value comparison. Backslashes are literal (Windows paths).
const (
	prefixCased = "cased:"
	prefixRegex = "re:"
	prefixExact = "exact:"
)

// ParsePattern reads one allowlist condition (see the syntax above) and compiles it.
func ParsePattern(s string) (Pattern, error) {
	var p Pattern
	rest := s
	if strings.HasPrefix(rest, prefixCased) {
		p.CaseSensitive = true
		rest = rest[len(prefixCased):]
	}
	switch {
	case strings.HasPrefix(rest, prefixRegex):
		p.Kind, p.Text = PatternRegex, rest[len(prefixRegex):]
	case strings.HasPrefix(rest, prefixExact):
		p.Kind, p.Text = PatternExact, rest[len(prefixExact):]
	case strings.ContainsAny(rest, "*?"):
		p.Kind, p.Text = PatternGlob, rest
	default:
		p.Kind, p.Text = PatternExact, rest
	}
	if err := p.compile(); err != nil {
		return Pattern{}, fmt.Errorf("pattern %q: %w", truncate(s, 80), err)
	}
	return p, nil
}

// compile validates p and caches its compiled form.
func (p *Pattern) compile() error {
	if p.Text == "" {
		return errors.New("empty pattern")
	}
	if len(p.Text) > MaxPatternLen {
		return fmt.Errorf("longer than %d bytes", MaxPatternLen)
	}
	if !utf8.ValidString(p.Text) {
		return errors.New("not valid UTF-8")
	}
	switch p.Kind {
	case PatternExact, PatternGlob:
		p.re = nil
		return nil
	case PatternRegex:
		re, err := compileRegex(p.Text, p.CaseSensitive)
		if err != nil {
			return err
		}
		p.re = re
		return nil
	default:
		return fmt.Errorf("unknown pattern kind %d", p.Kind)
	}
}

func compileRegex(text string, cased bool) (*regexp.Regexp, error) {
	if !cased {
		text = "(?i)" + text
	}
	re, err := regexp.Compile(text)
	if err != nil {
		return nil, fmt.Errorf("bad regex: %w", err)
	}
	return re, nil
}

// String renders p in the syntax ParsePattern reads, so ParsePattern(p.String()) == p.
func (p Pattern) String() string {
	var b strings.Builder
	if p.CaseSensitive {
		b.WriteString(prefixCased)
	}
	switch p.Kind {
	case PatternRegex:
		b.WriteString(prefixRegex)
	case PatternExact:
		if strings.ContainsAny(p.Text, "*?") || hasPrefixSyntax(p.Text) {
			b.WriteString(prefixExact)
		}
	case PatternGlob:
		if hasPrefixSyntax(p.Text) {
			// A glob that starts like a prefix cannot be written plainly; a regex can.
			b.Reset()
			if p.CaseSensitive {
				b.WriteString(prefixCased)
			}
			b.WriteString(prefixRegex)
			b.WriteString(globToRegex(p.Text))
			return b.String()
		}
	}
	b.WriteString(p.Text)
	return b.String()
}

func hasPrefixSyntax(s string) bool {
	return strings.HasPrefix(s, prefixCased) || strings.HasPrefix(s, prefixRegex) || strings.HasPrefix(s, prefixExact)
}

// globToRegex translates a vigil glob (no escapes) into an anchored RE2 expression.
func globToRegex(g string) string {
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, r := range g {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// Match reports whether v satisfies p. It does not allocate for patterns built by
// ParsePattern.
func (p *Pattern) Match(v string) bool {
	switch p.Kind {
	case PatternExact:
		if p.CaseSensitive {
			return v == p.Text
		}
		return strings.EqualFold(v, p.Text)
	case PatternGlob:
		return globMatch(p.Text, v, !p.CaseSensitive)
	case PatternRegex:
		re := p.re
		if re == nil {
			var err error
			if re, err = compileRegex(p.Text, p.CaseSensitive); err != nil {
				return false // an invalid pattern never matches, so it never hides an alert
			}
		}
		return re.MatchString(v)
	default:
		return false
	}
}

// globMatch matches name against a glob of '*' and '?' in linear time with one
// backtrack point (the last star), comparing runes, optionally case-folded.
func globMatch(pattern, name string, fold bool) bool {
	px, nx := 0, 0
	nextPx, nextNx := 0, 0 // restart point after the last '*'; nextNx 0 means none
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			c, pw := utf8.DecodeRuneInString(pattern[px:])
			switch c {
			case '?':
				if nx < len(name) {
					_, nw := utf8.DecodeRuneInString(name[nx:])
					px += pw
					nx += nw
					continue
				}
			case '*':
				nextPx = px
				if nx < len(name) {
					_, nw := utf8.DecodeRuneInString(name[nx:])
					nextNx = nx + nw
				} else {
					nextNx = len(name) + 1
				}
				px += pw
				continue
			default:
				if nx < len(name) {
					r, nw := utf8.DecodeRuneInString(name[nx:])
					if r == c || (fold && equalFoldRune(r, c)) {
						px += pw
						nx += nw
						continue
					}
				}
			}
		}
		if 0 < nextNx && nextNx <= len(name) {
			px, nx = nextPx, nextNx
			continue
		}
		return false
	}
	return true
}

// equalFoldRune is strings.EqualFold for one rune pair.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// Expired reports whether e has an expiry at or before now.
func (e *AllowEntry) Expired(now time.Time) bool {
	return !e.Expires.IsZero() && !now.Before(e.Expires)
}

// hasCondition reports whether e restricts anything: an entry with neither a rule nor a
// field condition would silence every alert, so it never matches and is never stored.
func (e *AllowEntry) hasCondition() bool {
	return e.RuleID != "" || e.Image != nil || e.ParentImage != nil || e.CommandLine != nil ||
		e.User != nil || e.Host != nil
}

// Matches reports whether e suppresses an alert of rule ruleID on ev at time now: the
// entry is not expired, its rule is "" or ruleID (case-insensitive), and every non-nil
// pattern matches its field (Process.Image, Parent.Image, Process.CommandLine,
// Process.User, Host). An entry without any condition matches nothing. It does not
// allocate when the patterns were built by ParsePattern.
func (e *AllowEntry) Matches(ruleID string, ev *source.Event, now time.Time) bool {
	if ev == nil || !e.hasCondition() || e.Expired(now) {
		return false
	}
	if e.RuleID != "" && !strings.EqualFold(e.RuleID, ruleID) {
		return false
	}
	return matchOpt(e.Image, ev.Process.Image) &&
		matchOpt(e.ParentImage, ev.Parent.Image) &&
		matchOpt(e.CommandLine, ev.Process.CommandLine) &&
		matchOpt(e.User, ev.Process.User) &&
		matchOpt(e.Host, ev.Host)
}

func matchOpt(p *Pattern, v string) bool { return p == nil || p.Match(v) }

// compileEntry validates e's patterns and caches their compiled forms (on copies, so
// the caller's patterns are never written to).
func compileEntry(e *AllowEntry) error {
	for _, f := range e.fields() {
		if *f.p == nil {
			continue
		}
		c := **f.p
		if err := c.compile(); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		*f.p = &c
	}
	return nil
}

type entryField struct {
	name  string // the CLI/Sigma-neutral name used in messages
	sigma string // the Sigma field name
	p     **Pattern
}

// matchesAll reports whether p matches every value (a glob of only '*'): as a condition
// it says nothing, so entries drop it (and Sigma's always-true selection imports as it).
func (p *Pattern) matchesAll() bool {
	return p != nil && p.Kind == PatternGlob && p.Text != "" && strings.Trim(p.Text, "*") == ""
}

// dropMatchAll removes the conditions that match every value.
func (e *AllowEntry) dropMatchAll() {
	for _, f := range e.fields() {
		if (*f.p).matchesAll() {
			*f.p = nil
		}
	}
}

func (e *AllowEntry) fields() [5]entryField {
	return [5]entryField{
		{"image", "Image", &e.Image},
		{"parent image", "ParentImage", &e.ParentImage},
		{"command line", "CommandLine", &e.CommandLine},
		{"user", "User", &e.User},
		{"host", "Computer", &e.Host},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
