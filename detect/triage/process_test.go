package triage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests below re-execute the test binary as a second process (the helper-process
// pattern): TestMain turns it into a writer when VIGIL_TRIAGE_HELPER is set.
const (
	helperEnv    = "VIGIL_TRIAGE_HELPER"
	helperDirEnv = "VIGIL_TRIAGE_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "crash":
		os.Exit(crashChild(os.Getenv(helperDirEnv)))
	case "concurrent":
		os.Exit(concurrentChild(os.Getenv(helperDirEnv)))
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

func helper(t *testing.T, mode, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

// crashChild writes verdicts forever and prints each id only after its call returned:
// "v ALERT" for a SetStatus, "a ENTRY" for an AddAllow.
func crashChild(dir string) int {
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	out := os.Stdout // unbuffered: a printed line is a returned call
	pid := os.Getpid()
	for i := 0; ; i++ {
		id := fmt.Sprintf("c%d-%d", pid, i)
		a := alertRec(id, time.Now())
		if err := s.UpsertAlert(ctx, a); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 1
		}
		if _, err := s.SetStatus(ctx, id, StatusClosed, ReasonFalsePositive, "crash test"); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 1
		}
		fmt.Fprintf(out, "v %s\n", id)
		if i%3 == 0 {
			p, _ := ParsePattern(`C:\crash\` + id + `.exe`)
			e, _, err := s.AddAllow(ctx, AllowEntry{Image: &p, Reason: "crash test"}, true, ReasonBenignPositive)
			if err != nil {
				fmt.Fprintln(os.Stderr, "crash child:", err)
				return 1
			}
			fmt.Fprintf(out, "a %s\n", e.ID)
		}
	}
}

func crashIterations(t *testing.T) int {
	if v := os.Getenv("VIGIL_CRASH_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VIGIL_CRASH_ITERATIONS=%q: want a positive count", v)
		}
		return n
	}
	return 50
}

// TestCrashDurability kills a writer with SIGKILL at random moments and checks that the
// store opens cleanly afterwards and holds every verdict whose call had returned.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary 50 times; skipped with -short")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var verdicts, entries int
	for iter := range crashIterations(t) {
		cmd := helper(t, "crash", dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		var all []string
		var wg sync.WaitGroup
		wg.Go(func() {
			r := bufio.NewReader(stdout)
			for {
				line, err := r.ReadString('\n')
				if err != nil { // a partial last line was not fully printed: not counted
					close(lines)
					return
				}
				lines <- strings.TrimSuffix(line, "\n")
			}
		})
		// Half the kills land at a random time after start (during Open and migration
		// too), half a random time after the first verdict returned.
		if iter%2 == 1 {
			select {
			case l, ok := <-lines:
				if ok {
					all = append(all, l)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("crash child printed nothing in 10 s")
			}
		}
		time.Sleep(time.Duration(rng.IntN(40_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix, TerminateProcess on Windows
			t.Fatal(err)
		}
		for l := range lines {
			all = append(all, l)
		}
		wg.Wait()
		err = cmd.Wait()
		if cmd.ProcessState.Success() || (runtime.GOOS != "windows" && !cmd.ProcessState.Sys().(syscall.WaitStatus).Signaled()) {
			t.Fatalf("iteration %d: child ended on its own (%v), not by the kill", iter, err)
		}

		s, err := Open(dir)
		if err != nil {
			t.Fatalf("iteration %d: store does not open after kill -9: %v", iter, err)
		}
		ctx := context.Background()
		var allow map[string]bool
		for _, l := range all {
			kind, id, _ := strings.Cut(l, " ")
			switch kind {
			case "v":
				verdicts++
				a, err := s.Alert(ctx, id)
				if err != nil || a.Status != StatusClosed || a.Reason != ReasonFalsePositive {
					t.Errorf("iteration %d: verdict on %s lost: %+v, %v", iter, id, a.Status, err)
					continue
				}
				h, err := s.History(ctx, id)
				if err != nil || len(h) == 0 || h[len(h)-1].To != StatusClosed {
					t.Errorf("iteration %d: audit of %s lost: %v, %v", iter, id, h, err)
				}
			case "a":
				entries++
				if allow == nil {
					list, err := s.Allowlist(ctx)
					if err != nil {
						t.Fatal(err)
					}
					allow = map[string]bool{}
					for _, e := range list {
						allow[e.ID] = true
					}
				}
				if !allow[id] {
					t.Errorf("iteration %d: allowlist entry %s lost", iter, id)
				}
			default:
				t.Fatalf("iteration %d: child printed %q", iter, l)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if verdicts == 0 || entries == 0 {
		t.Errorf("the child returned %d verdicts and %d entries over all runs: the test checked nothing", verdicts, entries)
	}
	t.Logf("checked %d verdicts and %d allowlist entries across kills", verdicts, entries)
}

// concurrentChild writes and closes 100 alerts of its own, as a second vigil process.
func concurrentChild(dir string) int {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "concurrent child:", err)
		return 1
	}
	defer s.Close()
	if err := writeMany(s, "child"); err != nil {
		fmt.Fprintln(os.Stderr, "concurrent child:", err)
		return 1
	}
	return 0
}

func writeMany(s *Store, prefix string) error {
	ctx := context.Background()
	for i := range 100 {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := s.UpsertAlert(ctx, alertRec(id, t0)); err != nil {
			return err
		}
		if _, err := s.SetStatus(ctx, id, StatusAcknowledged, "", ""); err != nil {
			return err
		}
		if _, err := s.SetStatus(ctx, id, StatusClosed, ReasonDuplicate, ""); err != nil {
			return err
		}
		if _, err := s.ListAlerts(ctx, AlertFilter{Limit: 10}); err != nil {
			return err
		}
	}
	return nil
}

// TestTwoProcesses has the TUI's and the CLI's situation: two processes writing one
// store at once. Neither may fail with "database is locked".
func TestTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmd := helper(t, "concurrent", dir)
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	parentErr := writeMany(s, "parent")
	if err := cmd.Wait(); err != nil {
		t.Errorf("child process: %v", err)
	}
	if parentErr != nil {
		t.Fatalf("parent process: %v", parentErr)
	}
	closed, err := s.ListAlerts(context.Background(), AlertFilter{Status: StatusClosed})
	if err != nil {
		t.Fatal(err)
	}
	if len(closed) != 200 {
		t.Errorf("%d closed alerts, want 200", len(closed))
	}
}
