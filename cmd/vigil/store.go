package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/vigil-soc/vigil/detect/triage"
)

// openStore opens the triage store in stateDir ("" for $XDG_STATE_HOME/vigil). Every
// command that reads or writes verdicts, the allowlist or checkpoints goes through it.
func openStore(stateDir string) (*triage.Store, error) {
	return triage.Open(stateDir)
}

// parseInterspersed parses flags that may come before or after positional arguments
// ("vigil alerts set ID --status closed"), which the flag package alone stops at. A
// "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package prints its own error and the whole usage on a bad flag; the
	// caller prints the error once instead, and -h still shows the flags.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "usage of %s:\n", fs.Name())
			fs.SetOutput(out)
			fs.PrintDefaults()
			return nil, err
		} else if err != nil {
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is bad usage or bad input: the command exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// exitFor prints err for command cmd and returns its exit code: 0 for -h, 2 for bad
// usage or bad input, 1 for everything else.
func exitFor(io stdio, cmd string, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue), errors.Is(err, triage.ErrInvalid), errors.Is(err, triage.ErrNotFound):
		fmt.Fprintf(io.err, "vigil %s: %s\n", cmd, printable(err.Error()))
		return exitUsage
	default:
		fmt.Fprintf(io.err, "vigil %s: %s\n", cmd, printable(err.Error()))
		return exitFailure
	}
}

// printable makes a string from an event safe for a terminal: control characters,
// escapes and bidirectional overrides are shown as Go escapes instead of acting.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == unicode.ReplacementChar ||
		(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F
}
