package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-soc/vigil/detect/rules"
	"github.com/vigil-soc/vigil/detect/sigma"
	"github.com/vigil-soc/vigil/source"
	"github.com/vigil-soc/vigil/source/decode"
)

// TestDemoScenario writes the whole scenario (without pauses), decodes every line with
// the real decoder, and runs the built-in rule over it: exactly the dns.exe children
// other than conhost.exe alert, the tree links hold, and the first alert comes within
// 3 s of the start.
func TestDemoScenario(t *testing.T) {
	steps, err := loadDemo(demoScenario)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.ndjson")
	clock := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var elapsed time.Duration
	sleep := func(_ context.Context, d time.Duration) error { elapsed += d; return nil }
	if err := writeDemo(t.Context(), path, steps, func() time.Time { return clock.Add(elapsed) }, sleep); err != nil {
		t.Fatal(err)
	}

	var all []*sigma.Rule
	files := rules.Builtin()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rs, refused := sigma.ParseRules(files[n], n, nil)
		if len(refused) > 0 {
			t.Fatalf("builtin refused: %v", refused)
		}
		all = append(all, rs...)
	}
	set, refused := sigma.NewSet(all)
	if len(refused) > 0 {
		t.Fatalf("set refused: %v", refused)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	guids := map[string]string{}
	var alerts []string
	var first time.Duration = -1
	var at time.Duration
	for i := 0; sc.Scan(); i++ {
		at += time.Duration(steps[i].AfterMS) * time.Millisecond
		var ev source.Event
		if err := decode.Decode(append([]byte(nil), sc.Bytes()...), source.Origin{Feed: "demo", Line: int64(i + 1)}, &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		wantKind := source.KindProcessStart
		if steps[i].Ends != "" {
			wantKind = source.KindProcessEnd
			if !strings.EqualFold(ev.Process.GUID, guids[steps[i].Ends]) {
				t.Errorf("line %d: ends GUID %q, want %q", i+1, ev.Process.GUID, guids[steps[i].Ends])
			}
		}
		if ev.Kind != wantKind || ev.Host != steps[i].Host {
			t.Errorf("line %d: kind %v host %q", i+1, ev.Kind, ev.Host)
		}
		if steps[i].Ends == "" {
			guids[steps[i].ID] = ev.Process.GUID
		}
		if p := steps[i].Parent; p != "" && !strings.EqualFold(ev.Parent.GUID, guids[p]) {
			t.Errorf("line %d: parent GUID %q, want %q (%s)", i+1, ev.Parent.GUID, guids[p], p)
		}
		if len(set.Match(&ev, nil)) > 0 {
			alerts = append(alerts, steps[i].ID)
			if first < 0 {
				first = at
			}
		}
	}
	want := []string{"dc01-werfault", "dc01-cmd", "dc02-powershell", "dc01-werfault2"}
	if strings.Join(alerts, ",") != strings.Join(want, ",") {
		t.Errorf("alerts on %v, want %v", alerts, want)
	}
	if first < 0 || first > 3*time.Second {
		t.Errorf("first alert after %v, want within 3s", first)
	}
	if len(steps) < 10 {
		t.Errorf("only %d steps", len(steps))
	}
}

func TestLoadDemoErrors(t *testing.T) {
	for name, in := range map[string]string{
		"bad json":     "{",
		"no id":        `{"host":"h","record":{}}`,
		"dup id":       `{"id":"a","host":"h","record":{}}` + "\n" + `{"id":"a","host":"h","record":{}}`,
		"late parent":  `{"id":"a","host":"h","parent":"b","record":{}}`,
		"long pause":   `{"id":"a","host":"h","after_ms":99999999,"record":{}}`,
		"negative gap": `{"id":"a","host":"h","after_ms":-1,"record":{}}`,
		"late ends":    `{"id":"a","host":"h","ends":"b","record":{}}`,
	} {
		if _, err := loadDemo([]byte(in)); err == nil || !strings.Contains(err.Error(), "demo scenario") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func FuzzLoadDemo(f *testing.F) {
	f.Add(demoScenario)
	f.Add([]byte(`{"id":"a","host":"h","record":{"Image":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, err := loadDemo(data)
		if err != nil {
			return
		}
		run := &demoRun{guid: map[string]string{}, pid: map[string]string{}, img: map[string]string{}, cmd: map[string]string{}}
		for _, s := range steps {
			if _, err := run.render(s, time.Unix(0, 0)); err != nil {
				t.Fatalf("render %s: %v", s.ID, err)
			}
		}
	})
}
