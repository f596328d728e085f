package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"

	"fmt"
	"os"
	"strings"
	"time"
)

// demoScenario is the built-in live scenario: real Sysmon EID 1 records (OTRF
// Security-Datasets, MIT) re-hosted and re-parented under dns.exe; see demo/SOURCE.md.
//
//go:embed demo/scenario.ndjson
var demoScenario []byte

// demoStep is one process start of the scenario.
type demoStep struct {
	AfterMS int            `json:"after_ms"` // pause before writing it
	Host    string         `json:"host"`
	ID      string         `json:"id"`     // step name, for parent links
	Parent  string         `json:"parent"` // parent step; "" = started before the feed
	Ends    string         `json:"ends"`   // a process-end record (Sysmon 5) for this earlier step
	Source  string         `json:"source"` // the OTRF file the record came from
	Record  map[string]any `json:"record"`
}

// Bounds on the scenario: it is embedded, but a bad edit must fail clearly.
const (
	maxDemoSteps = 1000
	maxDemoPause = 10 * time.Second
)

// loadDemo parses a scenario and checks its parent links.
func loadDemo(data []byte) ([]demoStep, error) {
	var steps []demoStep
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var s demoStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("demo scenario line %d: %w", line, err)
		}
		switch {
		case s.ID == "" || s.Host == "" || s.Record == nil:
			return nil, fmt.Errorf("demo scenario line %d: id, host and record are required", line)
		case ids[s.ID]:
			return nil, fmt.Errorf("demo scenario line %d: duplicate id %q", line, s.ID)
		case s.Parent != "" && !ids[s.Parent]:
			return nil, fmt.Errorf("demo scenario line %d: parent %q is not an earlier step", line, s.Parent)
		case s.Ends != "" && !ids[s.Ends]:
			return nil, fmt.Errorf("demo scenario line %d: ends %q is not an earlier step", line, s.Ends)
		case s.AfterMS < 0 || time.Duration(s.AfterMS)*time.Millisecond > maxDemoPause:
			return nil, fmt.Errorf("demo scenario line %d: after_ms %d out of range", line, s.AfterMS)
		}
		ids[s.ID] = true
		steps = append(steps, s)
		if len(steps) > maxDemoSteps {
			return nil, fmt.Errorf("demo scenario: more than %d steps", maxDemoSteps)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo scenario: %w", err)
	}
	return steps, nil
}

// newGUID returns a fresh Sysmon-style GUID, so every run makes new processes.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return fmt.Sprintf("{%x-%x-%x-%x-%x}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// demoRun tracks the processes a run has started, by step id.
type demoRun struct {
	guid map[string]string
	pid  map[string]string
	img  map[string]string
	cmd  map[string]string
}

// render fills a step's record with this run's host, GUIDs, parent and time.
func (r *demoRun) render(s demoStep, now time.Time) ([]byte, error) {
	rec := make(map[string]any, len(s.Record)+8)
	for k, v := range s.Record {
		rec[k] = v
	}
	if s.Ends != "" {
		return r.renderEnd(s, rec, now)
	}
	guid := newGUID()
	r.guid[s.ID] = guid
	r.pid[s.ID], _ = rec["ProcessId"].(string)
	r.img[s.ID], _ = rec["Image"].(string)
	r.cmd[s.ID], _ = rec["CommandLine"].(string)
	rec["ProcessGuid"] = guid
	rec["Hostname"] = s.Host
	if s.Parent != "" {
		rec["ParentProcessGuid"] = r.guid[s.Parent]
		rec["ParentProcessId"] = r.pid[s.Parent]
		rec["ParentImage"] = r.img[s.Parent]
		rec["ParentCommandLine"] = r.cmd[s.Parent]
	} else {
		rec["ParentProcessGuid"] = newGUID()
	}
	utc := now.UTC()
	rec["UtcTime"] = utc.Format("2006-01-02 15:04:05.000")
	rec["@timestamp"] = utc.Format("2006-01-02T15:04:05.000Z")
	rec["TimeCreated"] = utc.Format("2006-01-02T15:04:05.000Z")
	str := func(k string) string { v, _ := rec[k].(string); return v }
	rec["Message"] = strings.Join([]string{
		"Process Create:",
		"UtcTime: " + str("UtcTime"),
		"ProcessGuid: " + guid,
		"ProcessId: " + str("ProcessId"),
		"Image: " + str("Image"),
		"CommandLine: " + str("CommandLine"),
		"User: " + str("User"),
		"ParentProcessGuid: " + str("ParentProcessGuid"),
		"ParentProcessId: " + str("ParentProcessId"),
		"ParentImage: " + str("ParentImage"),
	}, "\r\n")
	return json.Marshal(rec)
}

// renderEnd fills a process-end record for the process an earlier step started.
func (r *demoRun) renderEnd(s demoStep, rec map[string]any, now time.Time) ([]byte, error) {
	utc := now.UTC()
	rec["ProcessGuid"] = r.guid[s.Ends]
	rec["ProcessId"] = r.pid[s.Ends]
	rec["Image"] = r.img[s.Ends]
	rec["Hostname"] = s.Host
	rec["UtcTime"] = utc.Format("2006-01-02 15:04:05.000")
	rec["@timestamp"] = utc.Format("2006-01-02T15:04:05.000Z")
	rec["TimeCreated"] = utc.Format("2006-01-02T15:04:05.000Z")
	rec["Message"] = strings.Join([]string{
		"Process terminated:",
		"UtcTime: " + rec["UtcTime"].(string),
		"ProcessGuid: " + r.guid[s.Ends],
		"ProcessId: " + r.pid[s.Ends],
		"Image: " + r.img[s.Ends],
	}, "\r\n")
	return json.Marshal(rec)
}

// writeDemo appends the scenario to path at a human pace, one JSON line per process
// start, until done or ctx ends. sleep is injected so tests run instantly.
func writeDemo(ctx context.Context, path string, steps []demoStep, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("demo: open %s: %w", path, err)
	}
	defer f.Close()
	run := &demoRun{guid: map[string]string{}, pid: map[string]string{}, img: map[string]string{}, cmd: map[string]string{}}
	for _, s := range steps {
		if err := sleep(ctx, time.Duration(s.AfterMS)*time.Millisecond); err != nil {
			return err
		}
		line, err := run.render(s, now())
		if err != nil {
			return fmt.Errorf("demo: step %s: %w", s.ID, err)
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("demo: write %s: %w", path, err)
		}
	}
	return nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
