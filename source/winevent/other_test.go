//go:build !windows

package winevent

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestNewOffWindows(t *testing.T) {
	f, err := New(Config{})
	if f != nil || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("New = %v, %v; want ErrUnsupported", f, err)
	}
	want := "--winlog needs Windows: this is " + runtime.GOOS + "/" + runtime.GOARCH + "; use --listen/--connect/--file"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// A bad channel is still reported as such.
	if _, err := New(Config{Channels: []string{""}}); err == nil || !strings.Contains(err.Error(), "empty channel name") {
		t.Errorf("bad channel: %v", err)
	}
}
