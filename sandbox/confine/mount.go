package confine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// devices are the device nodes bind-mounted into /dev; the first two are
// writable.
var devices = []string{"null", "zero", "random", "urandom"}

const rootBytes = 1 << 20 // the root tmpfs only holds mount points

// buildRoot assembles the plugin's file system view and pivots into it.
func buildRoot(spec *Spec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := spec.Root
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+strconv.Itoa(rootBytes)+",mode=0755"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	for _, lib := range spec.Libraries {
		if err := bindLibrary(root, lib); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(root, "dev"), 0o755); err != nil {
		return err
	}
	for i, d := range devices {
		host := "/dev/" + d
		flags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC)
		if i >= 2 {
			flags |= unix.MS_RDONLY
		}
		if err := bind(host, filepath.Join(root, host), false, flags); err != nil {
			return err
		}
	}
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	opts := fmt.Sprintf("size=%d,mode=0700,uid=%d,gid=%d", spec.TmpBytes, spec.UID, spec.GID)
	if err := unix.Mount("tmpfs", tmp, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("mount /tmp: %w", err)
	}
	if err := bind(spec.SocketDir, filepath.Join(root, SocketDir), true, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		fi, err := os.Stat(m.Host)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Host, err)
		}
		if err := bind(m.Host, filepath.Join(root, m.Guest), fi.IsDir(), unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC); err != nil {
			return err
		}
	}
	old := filepath.Join(root, ".old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	if err := unix.PivotRoot(root, old); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/.old", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := os.Remove("/.old"); err != nil {
		return err
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("remount root read-only: %w", err)
	}
	return nil
}

// bindLibrary binds a library path read-only at the same place. A path
// that does not exist is skipped; a symbolic link is recreated and its
// target bound instead.
func bindLibrary(root, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		return bindLibrary(root, filepath.Clean(target))
	}
	dst := filepath.Join(root, path)
	if _, err := os.Lstat(dst); err == nil {
		return nil // already bound through another entry
	}
	return bind(path, dst, fi.IsDir(), unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV)
}

// bind creates the mount point dst (a directory or an empty file) and
// bind-mounts src on it with flags.
func bind(src, dst string, dir bool, flags uintptr) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if dir {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
	} else if err := os.WriteFile(dst, nil, 0o644); err != nil {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		return fmt.Errorf("remount %s (%s): %w", src, strings.TrimSpace(flagNames(flags)), err)
	}
	return nil
}

func flagNames(f uintptr) string {
	var s string
	for _, n := range []struct {
		f    uintptr
		name string
	}{{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"}} {
		if f&n.f != 0 {
			s += " " + n.name
		}
	}
	return s
}
