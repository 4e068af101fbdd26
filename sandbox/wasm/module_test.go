package wasm

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
)

// This file assembles tiny WebAssembly modules with no language runtime:
// the baseline for benchmarks and the sharpest fixtures for limits.

// Value types and opcodes used below.
const (
	i32 = 0x7f

	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opBr          = 0x0c
	opBrIf        = 0x0d
	opEnd         = 0x0b
	opCall        = 0x10
	opDrop        = 0x1a
	opI32Load     = 0x28
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI32Eqz      = 0x45
	opI32Eq       = 0x46
	blockVoid     = 0x40
)

// wasiImport is an imported WASI function with its signature.
type wasiImport struct {
	name    string
	params  []byte
	results []byte
}

var (
	fdRead   = wasiImport{"fd_read", []byte{i32, i32, i32, i32}, []byte{i32}}
	fdWrite  = wasiImport{"fd_write", []byte{i32, i32, i32, i32}, []byte{i32}}
	procExit = wasiImport{"proc_exit", []byte{i32}, nil}
)

// testModule describes a module: its imports (function indexes 0..n-1), one
// memory exported as "memory" when memPages > 0, data segments at fixed
// offsets, and the body of the exported _start (index n, no locals).
type testModule struct {
	imports  []wasiImport
	importAs string // module name of the imports; "" is wasi_snapshot_preview1
	memPages uint32
	memMax   uint32 // 0: no declared maximum
	data     map[uint32][]byte
	start    []byte // instructions, without the final end
	noStart  bool   // export the function as "main" instead of "_start"
}

func (m testModule) bytes() []byte {
	var out bytes.Buffer
	out.WriteString("\x00asm\x01\x00\x00\x00")
	section := func(id byte, body []byte) {
		out.WriteByte(id)
		out.Write(uleb(uint32(len(body))))
		out.Write(body)
	}
	// Types: one per import, then () -> ().
	var types bytes.Buffer
	types.Write(uleb(uint32(len(m.imports) + 1)))
	for _, im := range m.imports {
		types.WriteByte(0x60)
		types.Write(vec(im.params))
		types.Write(vec(im.results))
	}
	types.Write([]byte{0x60, 0, 0})
	section(1, types.Bytes())
	if len(m.imports) > 0 {
		mod := m.importAs
		if mod == "" {
			mod = "wasi_snapshot_preview1"
		}
		var imps bytes.Buffer
		imps.Write(uleb(uint32(len(m.imports))))
		for i, im := range m.imports {
			imps.Write(vec([]byte(mod)))
			imps.Write(vec([]byte(im.name)))
			imps.WriteByte(0x00)
			imps.Write(uleb(uint32(i)))
		}
		section(2, imps.Bytes())
	}
	section(3, append(uleb(1), uleb(uint32(len(m.imports)))...)) // _start's type
	if m.memPages > 0 {
		mem := []byte{1, 0}
		if m.memMax > 0 {
			mem[1] = 1
		}
		mem = append(mem, uleb(m.memPages)...)
		if m.memMax > 0 {
			mem = append(mem, uleb(m.memMax)...)
		}
		section(5, mem)
	}
	var exports bytes.Buffer
	name := "_start"
	if m.noStart {
		name = "main"
	}
	n := uint32(1)
	if m.memPages > 0 {
		n = 2
	}
	exports.Write(uleb(n))
	exports.Write(vec([]byte(name)))
	exports.WriteByte(0x00)
	exports.Write(uleb(uint32(len(m.imports))))
	if m.memPages > 0 {
		exports.Write(vec([]byte("memory")))
		exports.Write([]byte{0x02, 0x00})
	}
	section(7, exports.Bytes())
	body := append([]byte{0}, m.start...) // no locals
	body = append(body, opEnd)
	section(10, append(uleb(1), vec(body)...))
	if len(m.data) > 0 {
		var data bytes.Buffer
		data.Write(uleb(uint32(len(m.data))))
		for _, off := range slices.Sorted(maps.Keys(m.data)) {
			seg := m.data[off]
			data.WriteByte(0x00) // active, memory 0
			data.WriteByte(opI32Const)
			data.Write(sleb(int32(off)))
			data.WriteByte(opEnd)
			data.Write(vec(seg))
		}
		section(11, data.Bytes())
	}
	return out.Bytes()
}

func uleb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func vec(b []byte) []byte { return append(uleb(uint32(len(b))), b...) }

func i32c(v int32) []byte { return append([]byte{opI32Const}, sleb(v)...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func le32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

// Memory layout of the I/O modules: iovec for reads at 0 (buffer 1024,
// 4096 bytes), nread at 16, iovec for the reply at 32, nwritten at 48, the
// reply at 64.
const (
	readIOV   = 0
	nread     = 16
	writeIOV  = 32
	nwritten  = 48
	replyAt   = 64
	readBuf   = 1024
	readBufSz = 4096
)

// drainStdin reads stdin until end of file or an error (fd_read is import 0).
var drainStdin = cat(
	[]byte{opBlock, blockVoid, opLoop, blockVoid},
	i32c(0), i32c(readIOV), i32c(1), i32c(nread), []byte{opCall, 0},
	[]byte{opBrIf, 1},                                         // errno != 0
	i32c(nread), []byte{opI32Load, 2, 0, opI32Eqz, opBrIf, 1}, // nread == 0
	[]byte{opBr, 0, opEnd, opEnd},
)

// writeReply writes the reply to stdout (fd_write is import 1).
var writeReply = cat(i32c(1), i32c(writeIOV), i32c(1), i32c(nwritten), []byte{opCall, 1, opDrop})

// replyModule reads all of stdin and writes reply: the no-runtime baseline.
func replyModule(reply string) testModule {
	return testModule{
		imports:  []wasiImport{fdRead, fdWrite},
		memPages: 1,
		data: map[uint32][]byte{
			readIOV:  le32(readBuf, readBufSz),
			writeIOV: le32(replyAt, uint32(len(reply))),
			replyAt:  []byte(reply),
		},
		start: cat(drainStdin, writeReply),
	}
}

// Hand-assembled hostile modules.
var (
	nopModule         = replyModule(`{"result":"nop"}`)
	unreachableModule = testModule{memPages: 1, start: []byte{opUnreachable}}
	spinModule        = testModule{start: []byte{opLoop, blockVoid, opBr, 0, opEnd}}
	exitModule        = testModule{imports: []wasiImport{procExit}, start: cat(i32c(3), []byte{opCall, 0})}
	// growModule grows memory 16 pages at a time until refused, then traps.
	growModule = testModule{memPages: 1, start: cat(
		[]byte{opBlock, blockVoid, opLoop, blockVoid},
		i32c(16), []byte{opMemoryGrow, 0}, i32c(-1), []byte{opI32Eq, opBrIf, 1},
		[]byte{opBr, 0, opEnd, opEnd, opUnreachable},
	)}
	// cappedGrowModule declares its own maximum of 8 pages.
	cappedGrowModule = testModule{memPages: 1, memMax: 8, start: growModule.start}
	bigModule        = testModule{memPages: 2048, start: nil} // 128 MiB to start
	noStartModule    = testModule{noStart: true}
	foreignModule    = testModule{imports: []wasiImport{procExit}, importAs: "env", start: nil}
)
