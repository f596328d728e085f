package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// tmuxSession drives one tmux session running the real binary.
type tmuxSession struct {
	t      *testing.T
	name   string
	socket string // a private tmux server, so the test never touches the user's
}

func (s tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s tmuxSession) capture() string { return s.run("capture-pane", "-p", "-t", s.name) }

func (s tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// waitFor polls the screen until it contains want, or fails at the deadline.
func (s tmuxSession) waitFor(want string, within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	var screen string
	for time.Now().Before(deadline) {
		screen = s.capture()
		if strings.Contains(screen, want) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%q did not appear within %v; screen:\n%s", want, within, screen)
	return ""
}

// checkScreen fails when a captured line is wider than the window or there are too many.
func checkScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a %d-line window", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells on a %d-cell window: %q", i+1, lw, w, l)
		}
	}
}

func startVigil(t *testing.T, bin, state, socket, name string) tmuxSession {
	t.Helper()
	s := tmuxSession{t: t, name: name, socket: socket}
	cmd := fmt.Sprintf("%s --demo --state %s; echo VIGIL-EXIT=$?; sleep 30", bin, state)
	s.run("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-e", "LANG=C.UTF-8", "-e", "TERM=xterm-256color", cmd)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", socket, "kill-session", "-t", name).Run() })
	return s
}

// TestTmuxDemo runs the real binary in tmux: the demo raises alerts, a false-positive
// verdict is saved, survives a restart on the same --state, and the screen fits 80x24.
func TestTmuxDemo(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is required in CI (apt-get install -y tmux)")
		}
		t.Skip("tmux not installed; apt-get install -y tmux to run this test")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state")
	name := fmt.Sprintf("vigil-test-%d", os.Getpid())
	socket := name
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", socket, "kill-server").Run() })

	s := startVigil(t, bin, state, socket, name)
	s.waitFor("dns.exe→WerFault.exe", 30*time.Second)
	screen := s.waitFor("dns.exe→cmd.exe", 30*time.Second)
	checkScreen(t, screen, 120, 40)
	// The newest alert is cmd.exe: move to it and close it as a false positive.
	s.keys("g")
	s.waitFor("▶", 15*time.Second)
	s.keys("f")
	s.waitFor("close as false positive", 15*time.Second)
	s.keys("demo check", "Enter")
	s.waitFor("saved: closed:FP", 30*time.Second)
	s.keys("q")
	s.waitFor("VIGIL-EXIT=0", 30*time.Second)
	s.run("kill-session", "-t", name)

	s = startVigil(t, bin, state, socket, name+"-2")
	s.waitFor("ALERTS", 30*time.Second)
	s.keys("C") // show closed: the earlier verdict was loaded from the store
	s.waitFor("closed:FP", 30*time.Second)
	s.keys("5") // its audit trail
	s.run("resize-window", "-t", s.name, "-x", "80", "-y", "24")
	time.Sleep(300 * time.Millisecond)
	screen = s.waitFor("ALERTS", 15*time.Second)
	checkScreen(t, screen, 80, 24)
	s.keys("q")
	s.waitFor("VIGIL-EXIT=0", 30*time.Second)
}
