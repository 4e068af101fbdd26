package wasm

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

const (
	pageBytes = 65536   // one wasm memory page
	maxPages  = 1 << 16 // 4 GiB: the most a 32-bit memory can address
)

// limitedMemory is the linear memory of one instance, capped at limit
// bytes. It is wazero's memory allocation hook (experimental.MemoryAllocator
// and LinearMemory), installed per instantiation through the context, so one
// runtime and one compiled module serve calls with any memory limit, and a
// refused memory.grow is observed here instead of guessed from the guest's
// stderr.
//
// wazero calls Allocate and Reallocate on the goroutine that instantiates or
// runs the module; the atomics make the flags safe to read from any
// goroutine after the call returns.
type limitedMemory struct {
	limit uint64 // bytes

	buf     []byte
	peak    atomic.Uint64 // largest size handed out
	refused atomic.Bool   // a growth past limit was refused
}

var (
	_ experimental.MemoryAllocator = (*limitedMemory)(nil)
	_ experimental.LinearMemory    = (*limitedMemory)(nil)
)

// Allocate implements experimental.MemoryAllocator. The module has at most
// one memory, so the allocator is its own LinearMemory. A maximum the
// module declares itself is enforced by wazero before Reallocate is asked.
func (m *limitedMemory) Allocate(capacity, _ uint64) experimental.LinearMemory {
	if capacity <= m.limit {
		// Headroom for the first growths, which every language runtime
		// makes at start-up, so they do not copy the initial memory.
		m.buf = make([]byte, 0, min(capacity+capacity/4, m.limit))
	}
	return m
}

// Reallocate implements experimental.LinearMemory: it returns the memory
// grown to size bytes, or nil (memory.grow fails with -1) past the limit.
func (m *limitedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused.Store(true)
		return nil
	}
	if size > uint64(cap(m.buf)) {
		// Grow like append does for large slices, never past the limit.
		// Bytes past len are zero: memory never shrinks, so the guest has
		// never written them.
		newCap := min(max(size, uint64(cap(m.buf))+uint64(cap(m.buf))/4), m.limit)
		grown := make([]byte, size, newCap)
		copy(grown, m.buf)
		m.buf = grown
	} else {
		m.buf = m.buf[:size]
	}
	if size > m.peak.Load() {
		m.peak.Store(size)
	}
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *limitedMemory) Free() { m.buf = nil }

// moduleLayout is what Prepare needs to know about a binary that wazero's
// CompiledModule does not expose.
type moduleLayout struct {
	minPages uint32 // initial memory size; 0 when the module has no memory
	// badImport names the first import that is not a function, "" if none.
	// This runner provides only functions (WASI preview1).
	badImport string
}

// parseLayout reads the import and memory sections of a wasm binary that
// wazero has already decoded and validated. It never panics on any input.
func parseLayout(bin []byte) (moduleLayout, error) {
	var l moduleLayout
	r := &reader{b: bin}
	if magic := r.bytes(8); magic == nil || string(magic[:4]) != "\x00asm" {
		return l, errors.New("not a wasm binary")
	}
	for r.err == nil && r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			break
		}
		s := &reader{b: body}
		switch id {
		case 2: // import section
			n := s.u32()
			for i := uint32(0); i < n && s.err == nil; i++ {
				mod, name := s.name(), s.name()
				kind := s.byte()
				switch kind {
				case 0x00: // function: type index
					s.u32()
				case 0x01: // table: reftype, limits
					s.byte()
					s.limits()
				case 0x02: // memory: limits
					s.limits()
				case 0x03: // global: valtype, mutability
					s.byte()
					s.byte()
				case 0x04: // tag: attribute, type index
					s.byte()
					s.u32()
				default:
					s.fail(fmt.Errorf("import %q.%q has unknown kind %#x", mod, name, kind))
				}
				if kind != 0x00 && l.badImport == "" {
					l.badImport = mod + "." + name
				}
			}
		case 5: // memory section
			if n := s.u32(); n > 0 {
				min, _ := s.limits()
				l.minPages = min
			}
		}
		if s.err != nil {
			return l, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	return l, r.err
}

// reader decodes the little pieces of the wasm binary format parseLayout
// needs. The first error sticks; reads after it return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(errors.New("unexpected end of binary"))
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

// u32 reads an unsigned LEB128 of at most 32 bits.
func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		b := r.byte()
		if r.err != nil {
			return 0
		}
		if shift == 28 && b > 0x0f {
			r.fail(errors.New("LEB128 overflows 32 bits"))
			return 0
		}
		v |= uint32(b&0x7f) << shift
		if b&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 too long"))
	return 0
}

// name reads a length-prefixed UTF-8 name.
func (r *reader) name() string {
	return string(r.bytes(int(r.u32())))
}

// limits reads a memory or table limits: flags, min and optional max. Only
// 32-bit limits are accepted (wazero does not support memory64).
func (r *reader) limits() (min uint32, max uint32) {
	flags := r.byte()
	if flags > 0x03 {
		r.fail(fmt.Errorf("unsupported limits flags %#x", flags))
		return 0, 0
	}
	min = r.u32()
	if flags&0x01 != 0 {
		max = r.u32()
	}
	return min, max
}
