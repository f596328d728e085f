package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/vigil-soc/vigil/theme"
)

func TestParseTUIFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o tuiOptions)
	}{
		{name: "none", args: nil, wantErr: "no source"},
		{name: "demo", args: []string{"--demo", "--theme", "light", "--color=never", "--read-only"}, check: func(t *testing.T, o tuiOptions) {
			if !o.demo || o.palette != theme.Light || o.color != theme.ColorNever || !o.readOnly {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "file and rules", args: []string{"--file", "x.json", "--rules", ".", "--rules", "demo"}, check: func(t *testing.T, o tuiOptions) {
			if len(o.src.files) != 1 || len(o.rules) != 2 {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "bad theme", args: []string{"--demo", "--theme", "neon"}, wantErr: "--theme"},
		{name: "bad color", args: []string{"--demo", "--color", "sometimes"}, wantErr: "--color"},
		{name: "stray arg", args: []string{"--demo", "x.json"}, wantErr: "unexpected argument"},
		{name: "missing rules dir", args: []string{"--demo", "--rules", "no-such-dir"}, wantErr: "--rules no-such-dir"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseTUIFlags(c.args, &stderr)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, o)
		})
	}
}

func TestRunTUINoSourceAndNoTTY(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runTUICmd(t.Context(), nil, stdio{out: &out, err: &errb}); code != exitUsage || !strings.Contains(errb.String(), "--demo") {
		t.Errorf("no source: code %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := runTUICmd(t.Context(), []string{"--demo"}, stdio{out: &out, err: &errb}); code != exitUsage || !strings.Contains(errb.String(), "vigil hunt") {
		t.Errorf("no tty: code %d, stderr %q", code, errb.String())
	}
	if _, err := parseTUIFlags([]string{"-h"}, &errb); !errors.Is(err, flagErrHelp()) {
		t.Errorf("-h: %v", err)
	}
}

func flagErrHelp() error { return flag.ErrHelp }
