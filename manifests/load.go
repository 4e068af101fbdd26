package manifests

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// manifestExts are the file name extensions LoadDir reads.
var manifestExts = []string{".yaml", ".yml", ".json"}

// LoadDir loads every manifest under dir: each *.yaml, *.yml and *.json
// file, recursively (skipping files and directories whose names start
// with "." and not following symbolic links to directories), is one tool
// or role manifest, told apart by its kind. Each is parsed as [ParseTool]
// or [ParseRole] does, then the set is cross-checked:
//
//   - tool and role names are unique;
//   - every role names known tools, and constrains only arguments the
//     tool's schema declares;
//   - a role's egress is within the tool's (wildcard-aware:
//     "en.wikipedia.org:443" is within "*.wikipedia.org:443") and its limits
//     no looser than the tool's, for "*" entries against every tool;
//   - a role mounts directories only at paths the tool declares in
//     requires.mounts, and each host directory (relative to the role
//     manifest's directory) exists;
//   - every tool's artifact (relative to its manifest's directory) exists
//     and has the SHA-256 the manifest pins.
//
// The error is a [*LoadError] with every problem found, sorted by file and
// field. [Set.Hash] is the SHA-256 over the sorted (relative path, bytes)
// of the manifest files.
func LoadDir(dir string) (*Set, error) { return LoadDirs(dir) }

// LoadDirs loads the manifests of several directories as one set, as
// [LoadDir] loads one: names must be unique across them, and a role may
// grant a tool of another directory (shared tool manifests beside
// per-deployment roles). Each file keeps its own directory for relative
// paths. [Set.Hash] covers every directory, in the order given.
func LoadDirs(dirs ...string) (*Set, error) {
	set, ps := loadDirs(dirs)
	if len(ps) > 0 {
		return nil, &LoadError{Problems: ps}
	}
	return set, nil
}

// Lint returns what [LoadDirs] would report for dirs, sorted by file and
// field; nil means it would succeed.
func Lint(dirs ...string) []Problem {
	_, ps := loadDirs(dirs)
	return ps
}

func loadDirs(dirs []string) (*Set, []Problem) {
	if len(dirs) == 0 {
		return nil, []Problem{{Why: "no manifest directory"}}
	}
	type file struct{ dir, rel, hashed string }
	var files []file
	for i, dir := range dirs {
		rels, err := manifestFiles(dir)
		if err != nil {
			return nil, []Problem{{File: dir, Why: err.Error()}}
		}
		if len(rels) == 0 {
			return nil, []Problem{{File: dir, Why: "no manifest files (*.yaml, *.yml, *.json)"}}
		}
		for _, rel := range rels {
			hashed := rel
			if i > 0 {
				// One directory hashes as it always did; more name theirs.
				hashed = fmt.Sprintf("%d/%s", i, rel)
			}
			files = append(files, file{dir, rel, hashed})
		}
	}
	var all []Problem
	set := &Set{Tools: map[string]*Tool{}, Roles: map[string]*Role{}}
	h := sha256.New()
	for _, f := range files {
		rel := f.hashed
		path := filepath.Join(f.dir, filepath.FromSlash(f.rel))
		ps := &problems{file: path}
		data, err := readManifest(path)
		if err != nil {
			ps.add("", err.Error())
			all = append(all, ps.list...)
			continue
		}
		writeHashed(h, []byte(rel))
		writeHashed(h, data)
		if d, ok := readDocument(data, ps); ok {
			switch d.tree["kind"] {
			case KindTool:
				if t := toolFromDocument(d, ps); t != nil {
					checkArtifact(t, ps)
					if prev, dup := set.Tools[t.Name]; dup {
						ps.add("name", fmt.Sprintf("tool %q is already defined in %s", t.Name, prev.File))
					} else {
						set.Tools[t.Name] = t
					}
				}
			case KindRole:
				if r := roleFromDocument(d, ps); r != nil {
					if prev, dup := set.Roles[r.Name]; dup {
						ps.add("name", fmt.Sprintf("role %q is already defined in %s", r.Name, prev.File))
					} else {
						set.Roles[r.Name] = r
					}
				}
			case nil:
				ps.add("kind", fmt.Sprintf("required (%q or %q)", KindTool, KindRole))
			default:
				ps.add("kind", fmt.Sprintf("%s is not a manifest kind (want %q or %q)", quoteValue(d.tree["kind"]), KindTool, KindRole))
			}
		}
		all = append(all, ps.list...)
	}
	for _, name := range sortedKeys(set.Roles) {
		all = append(all, crossCheck(set.Roles[name], set.Tools)...)
	}
	sortProblems(all)
	set.Hash = hex.EncodeToString(h.Sum(nil))
	return set, all
}

// manifestFiles returns the manifest files under dir as slash-separated
// paths relative to dir, sorted.
func manifestFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest directory: %w", unwrapPath(err))
	}
	if !st.IsDir() {
		return nil, errors.New("is not a directory")
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !slices.Contains(manifestExts, filepath.Ext(d.Name())) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list manifests: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// readManifest reads a manifest file of at most MaxFileBytes.
func readManifest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("file is more than the limit of %d bytes", MaxFileBytes)
	}
	return data, nil
}

// writeHashed writes b to h with its length first, so that the hash of a
// sequence of byte strings is unambiguous.
func writeHashed(h io.Writer, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// unwrapPath drops the path from a *fs.PathError: problems name the file
// already, and the absolute path would only be noise.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkArtifact reads the tool's module or command and compares its digest
// with the pinned one.
func checkArtifact(t *Tool, ps *problems) {
	field, key, rel := "runtime.wasm", "module", ""
	if t.Runtime.Wasm != nil {
		rel = t.Runtime.Wasm.Module
	} else {
		field, key, rel = "runtime.plugin", "command", t.Runtime.Plugin.Command
	}
	got, err := fileSHA256(t.artifact)
	if err != nil {
		ps.add(field+"."+key, fmt.Sprintf("%s %q: %v", key, clip(rel), err))
		return
	}
	if want := t.ArtifactSHA256(); got != want {
		ps.add(field+".sha256", fmt.Sprintf("%s digest is %s, manifest pins %s", key, got, want))
	}
}

// fileSHA256 returns the lower-case hex SHA-256 of a regular file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return "", errors.New("is not a regular file")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// crossCheck checks a role against the tools it names.
func crossCheck(r *Role, tools map[string]*Tool) []Problem {
	ps := &problems{file: r.File}
	for i, rt := range r.Tools {
		field := fmt.Sprintf("tools[%d]", i)
		var targets []*Tool
		if rt.Name == "*" {
			for _, name := range sortedKeys(tools) {
				targets = append(targets, tools[name])
			}
		} else if t, ok := tools[rt.Name]; ok {
			targets = []*Tool{t}
		} else {
			ps.add(field+".name", fmt.Sprintf("unknown tool %q", clip(rt.Name)))
			continue
		}
		for _, t := range targets {
			for _, arg := range sortedKeys(rt.Arguments) {
				if !t.schema.Declares(arg) {
					ps.add(join(field+".arguments", arg), fmt.Sprintf("tool %s declares no argument %q in its input schema", t.Name, clip(arg)))
				}
			}
			for j, e := range rt.Egress {
				p, err := parseEgress(e)
				if err != nil {
					continue // reported by ParseRole
				}
				if !egressWithin(p, t.Requires.Egress) {
					allowed := "none"
					if len(t.Requires.Egress) > 0 {
						allowed = strings.Join(t.Requires.Egress, ", ")
					}
					ps.add(fmt.Sprintf("%s.egress[%d]", field, j), fmt.Sprintf("%q is not within tool %s's egress (%s): a role can only narrow it", clip(e), t.Name, allowed))
				}
			}
			looser := func(name string, role, tool int64, show func(int64) string) {
				if role > 0 && tool > 0 && role > tool {
					ps.add(field+".limits."+name, fmt.Sprintf("%s is looser than tool %s's %s: a role can only tighten limits", show(role), t.Name, show(tool)))
				}
			}
			for j, m := range rt.Mounts {
				f := fmt.Sprintf("%s.mounts[%d]", field, j)
				if !slices.Contains(t.Requires.Mounts, m.Guest) {
					declared := "none"
					if len(t.Requires.Mounts) > 0 {
						declared = strings.Join(t.Requires.Mounts, ", ")
					}
					ps.add(f+".guest", fmt.Sprintf("tool %s does not declare %q in requires.mounts (it declares %s)", t.Name, clip(m.Guest), declared))
				}
				if m.HostPath() == "" {
					continue // reported by ParseRole
				}
				if st, err := os.Stat(m.HostPath()); err != nil {
					ps.add(f+".host", fmt.Sprintf("%q: %v", clip(m.Host), unwrapPath(err)))
				} else if !st.IsDir() {
					ps.add(f+".host", fmt.Sprintf("%q is not a directory", clip(m.Host)))
				}
			}
			showDuration := func(v int64) string { return time.Duration(v).String() }
			showSize := func(v int64) string { return Size(v).String() }
			looser("timeout", int64(rt.Limits.Timeout), int64(t.Limits.Timeout), showDuration)
			looser("memory", int64(rt.Limits.Memory), int64(t.Limits.Memory), showSize)
			looser("output", int64(rt.Limits.Output), int64(t.Limits.Output), showSize)
		}
	}
	return ps.list
}

// egressWithin reports whether pattern p is within one of the patterns
// in list.
func egressWithin(p egressPattern, list []string) bool {
	for _, s := range list {
		if q, err := parseEgress(s); err == nil && p.within(q) {
			return true
		}
	}
	return false
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Field < ps[j].Field
	})
}
