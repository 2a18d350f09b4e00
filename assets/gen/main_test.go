package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedSetIsGenerated: the files in assets/alerts are exactly what this generator writes,
// so the set is verifiably the project's own work.
func TestCommittedSetIsGenerated(t *testing.T) {
	for name, want := range Files() {
		got, err := os.ReadFile(filepath.Join("..", "alerts", name))
		if err != nil {
			t.Fatalf("%s: %v (run go generate ./assets)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("assets/alerts/%s differs from the generator's output: run go generate ./assets", name)
		}
	}
	entries, err := os.ReadDir(filepath.Join("..", "alerts"))
	if err != nil {
		t.Fatal(err)
	}
	if files := Files(); len(entries) != len(files) {
		t.Errorf("assets/alerts holds %d files, the generator writes %d", len(entries), len(files))
	}
}
