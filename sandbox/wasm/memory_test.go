package wasm

import (
	"testing"
)

func TestParseLayout(t *testing.T) {
	for _, tc := range []struct {
		name          string
		bin           []byte
		wantMin       uint32
		wantBadImport string
		wantErr       bool
	}{
		{name: "no memory", bin: spinModule.bytes()},
		{name: "one page", bin: nopModule.bytes(), wantMin: 1},
		{name: "declared max", bin: cappedGrowModule.bytes(), wantMin: 1},
		{name: "large", bin: bigModule.bytes(), wantMin: 2048},
		{name: "function imports", bin: exitModule.bytes()},
		{name: "memory import", bin: withImport(0x02, 0x00, 0x01), wantBadImport: "env.thing"},
		{name: "global import", bin: withImport(0x03, 0x7f, 0x00), wantBadImport: "env.thing"},
		{name: "table import", bin: withImport(0x01, 0x70, 0x00, 0x01), wantBadImport: "env.thing"},
		{name: "not wasm", bin: []byte("hello, world"), wantErr: true},
		{name: "truncated", bin: nopModule.bytes()[:20], wantErr: true},
		{name: "unknown import kind", bin: withImport(0x09), wantErr: true},
		{name: "memory64 limits", bin: append([]byte("\x00asm\x01\x00\x00\x00"), 5, 3, 1, 0x04, 1), wantErr: true},
		{name: "overlong LEB", bin: append([]byte("\x00asm\x01\x00\x00\x00"), 5, 0xff, 0xff, 0xff, 0xff, 0x7f), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseLayout(tc.bin)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseLayout error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if l.minPages != tc.wantMin || l.badImport != tc.wantBadImport {
				t.Errorf("parseLayout = %+v, want minPages %d, badImport %q", l, tc.wantMin, tc.wantBadImport)
			}
		})
	}
}

// withImport is a binary with one import section holding env.thing of the
// given kind and descriptor bytes.
func withImport(desc ...byte) []byte {
	body := cat(uleb(1), vec([]byte("env")), vec([]byte("thing")), desc)
	return cat([]byte("\x00asm\x01\x00\x00\x00"), []byte{2}, uleb(uint32(len(body))), body)
}

func TestLimitedMemory(t *testing.T) {
	m := &limitedMemory{limit: 4 * pageBytes}
	lm := m.Allocate(pageBytes, maxPages*pageBytes)
	if b := lm.Reallocate(pageBytes); len(b) != pageBytes {
		t.Fatalf("Reallocate(1 page) len = %d", len(b))
	}
	b := lm.Reallocate(3 * pageBytes)
	if len(b) != 3*pageBytes {
		t.Fatalf("Reallocate(3 pages) len = %d", len(b))
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("grown memory byte %d = %d, want 0", i, c)
		}
	}
	if m.refused.Load() {
		t.Errorf("refused after growth within the limit")
	}
	if b := lm.Reallocate(5 * pageBytes); b != nil {
		t.Errorf("Reallocate past the limit = %d bytes, want nil", len(b))
	}
	if !m.refused.Load() {
		t.Errorf("refused = false after growth past the limit")
	}
	if got := m.peak.Load(); got != 3*pageBytes {
		t.Errorf("peak = %d, want %d", got, 3*pageBytes)
	}
	lm.Free()
}

// FuzzParseLayout checks that reading a module's layout never panics and
// that a module assembled here parses to what it declares.
func FuzzParseLayout(f *testing.F) {
	f.Add(nopModule.bytes())
	f.Add(exitModule.bytes())
	f.Add(withImport(0x02, 0x00, 0x01))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, bin []byte) {
		_, _ = parseLayout(bin)
		if len(bin) < 2 {
			return
		}
		pages := uint32(bin[0]) | uint32(bin[1])<<8
		if pages == 0 {
			return
		}
		m := testModule{memPages: pages}
		l, err := parseLayout(m.bytes())
		if err != nil || l.minPages != pages {
			t.Fatalf("parseLayout(module with %d pages) = %+v, %v", pages, l, err)
		}
	})
}
