// Command gen writes the elicence test vectors (see package
// elicence/internal/vectors). Run it from the repository root:
//
//	go run ./internal/vectors/gen -dir testdata/vectors
//
// It reuses the keys in DIR/keys, creating them only when they are missing
// (or with -new-keys, which changes every vector). Everything else it writes
// is a deterministic function of those keys.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "testdata/vectors", "vectors directory")
	newKeys := flag.Bool("new-keys", false, "replace the keys (changes every vector)")
	flag.Parse()
	keyDir := filepath.Join(*dir, "keys")
	if *newKeys {
		if err := os.RemoveAll(keyDir); err != nil {
			fail(err)
		}
	}
	if _, err := os.Stat(filepath.Join(keyDir, "root.key")); os.IsNotExist(err) {
		if err := createKeys(keyDir); err != nil {
			fail(err)
		}
		fmt.Printf("created keys in %s\n", keyDir)
	}
	files, err := generate(keyDir, *dir)
	if err != nil {
		fail(err)
	}
	fmt.Printf("wrote %d files in %s\n", len(files), *dir)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "gen: %v\n", err)
	os.Exit(1)
}
