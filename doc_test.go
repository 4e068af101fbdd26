package toolwarden_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnePackageComment checks the house rule: every package has exactly one
// package comment, in doc.go, starting "Package x" (or "Command x" for main).
func TestOnePackageComment(t *testing.T) {
	dirs := map[string]bool{}
	filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "build" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	for dir := range dirs {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("parse %s: %v", dir, err)
			continue
		}
		for name, p := range pkgs {
			var with []string
			for file, f := range p.Files {
				if f.Doc != nil {
					with = append(with, filepath.Base(file))
					text := f.Doc.Text()
					if !strings.HasPrefix(text, "Package "+name+" ") && !strings.HasPrefix(text, "Command ") {
						t.Errorf("%s: package comment starts %q, want \"Package %s ...\"", file, firstLine(text), name)
					}
				}
			}
			switch {
			case len(with) == 0:
				t.Errorf("package %s (%s) has no package comment; put one in doc.go", name, dir)
			case len(with) > 1:
				t.Errorf("package %s (%s) has package comments in %v; keep exactly one, in doc.go", name, dir, with)
			case name != "main" && with[0] != "doc.go":
				t.Errorf("package %s (%s) has its package comment in %s, want doc.go", name, dir, with[0])
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
