package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteMode says which files Write may create or change.
type WriteMode int

const (
	// WriteNew writes a new service into a directory that is missing or
	// empty, and fails with ErrNotEmpty otherwise.
	WriteNew WriteMode = iota
	// WriteForce writes a new service into a directory that may hold
	// files: every file is written, replacing existing ones of the same
	// path (others are left as they are).
	WriteForce
	// WriteRegen regenerates: only generated files are written; user
	// files are never created or changed. A generated file whose first
	// line no longer holds the Header belongs to the user now and is left
	// alone too.
	WriteRegen
)

// ErrNotEmpty is returned by Write in WriteNew mode when the directory
// holds files already.
var ErrNotEmpty = errors.New("directory is not empty")

// Report says what Write did with each file, by path.
type Report struct {
	// Written lists the files created or changed.
	Written []string
	// Unchanged lists the files that already had the right content and
	// were not touched (their modification time is kept).
	Unchanged []string
	// Skipped lists user files that WriteRegen left alone, and generated
	// files the user took over by deleting their header.
	Skipped []string
}

// Write writes files into dir as mode allows. A file whose content on
// disk is already right is not rewritten, so running it twice changes
// nothing. Files are written whole through a temporary file and a rename.
// Paths must be relative and stay inside dir.
func Write(dir string, files []File, mode WriteMode) (Report, error) {
	var r Report
	for _, f := range files {
		if !fs.ValidPath(f.Path) || f.Path == "." {
			return r, fmt.Errorf("templates: invalid file path %q", f.Path)
		}
	}
	if mode == WriteNew {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return r, err
		}
		if len(entries) > 0 {
			return r, fmt.Errorf("templates: %s: %w (use --force to write into it)", dir, ErrNotEmpty)
		}
	}
	if mode == WriteRegen {
		if st, err := os.Stat(dir); err != nil {
			return r, err
		} else if !st.IsDir() {
			return r, fmt.Errorf("templates: %s is not a directory", dir)
		}
	}
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(name)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return r, err
		}
		if mode == WriteRegen {
			if !f.Generated || exists && HasHeader(f.Content) && !HasHeader(old) {
				r.Skipped = append(r.Skipped, f.Path)
				continue
			}
		}
		if exists && bytes.Equal(old, f.Content) {
			r.Unchanged = append(r.Unchanged, f.Path)
			continue
		}
		if err := writeFile(name, f.Content); err != nil {
			return r, err
		}
		r.Written = append(r.Written, f.Path)
	}
	return r, nil
}

// writeFile replaces name with content through a temporary file in the
// same directory.
func writeFile(name string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".wego-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// HasHeader reports whether content starts with the generated-file
// Header after a comment marker (// or #).
func HasHeader(content []byte) bool {
	line, _, _ := bytes.Cut(content, []byte("\n"))
	s := strings.TrimRight(string(line), "\r")
	return s == "// "+Header || s == "# "+Header
}
