package main

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"elicence/cli"
	"elicence/document/pdf/pdftest"
)

// update rewrites the golden files inside the scripts from what the
// commands print: go test ./cmd/elicence -run TestScripts -update
var update = flag.Bool("update", false, "rewrite the scripts' golden files")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"elicence": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// params are the testscript settings shared by the script tests and the
// README test: the repository's testdata/licences copied into $WORK, and an
// "exits CODE PROGRAM ARGS..." command that demands an exact exit status.
func params(dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			return copyDir("../../testdata/licences", filepath.Join(env.WorkDir, "testdata", "licences"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// mkfile NAME chars N: N times the letter A; mkfile NAME png: a
			// blank 64×64 PNG (no QR code in it); mkfile NAME pdf: a
			// one-page PDF written by hand (pdftest.OnePage).
			"mkfile": cmdMkfile,
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("exits: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("exit status %d, want %d", got, want)
				}
			},
		},
	}
}

// TestScripts runs testdata/script/*.txtar: the CLI's wording, help text
// and exit statuses, pinned.
func TestScripts(t *testing.T) {
	testscript.Run(t, params("testdata/script"))
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	var data []byte
	switch {
	case neg:
		ts.Fatalf("unsupported: ! mkfile")
	case len(args) == 3 && args[1] == "chars":
		n, err := strconv.Atoi(args[2])
		if err != nil {
			ts.Fatalf("mkfile: %v", err)
		}
		data = bytes.Repeat([]byte("A"), n)
	case len(args) == 2 && args[1] == "png":
		img := image.NewGray(image.Rect(0, 0, 64, 64))
		for i := range img.Pix {
			img.Pix[i] = 0xff
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			ts.Fatalf("mkfile: %v", err)
		}
		data = b.Bytes()
	case len(args) == 2 && args[1] == "pdf":
		data = pdftest.OnePage("Notice", 0)
	default:
		ts.Fatalf("usage: mkfile NAME (chars N | png | pdf)")
	}
	if err := os.WriteFile(ts.MkAbs(args[0]), data, 0o644); err != nil {
		ts.Fatalf("mkfile: %v", err)
	}
}
