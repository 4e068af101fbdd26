package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/toolwarden/toolwarden/sandbox"
	"github.com/toolwarden/toolwarden/sandbox/abi"
	"github.com/toolwarden/toolwarden/sandbox/egress"
)

const (
	// maxRequestJSONBytes caps one request as read from guest memory; the
	// egress client caps the request bytes of a call far lower by default.
	maxRequestJSONBytes = 16 << 20
	// maxReplyBytes keeps a reply's length a positive int32.
	maxReplyBytes = math.MaxInt32
)

// instantiateHost instantiates the toolwarden host module in rt.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	i32 := api.ValueTypeI32
	_, err := rt.NewHostModuleBuilder(abi.HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(httpRequest), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("req_ptr", "req_len", "out_ptr", "out_cap").
		WithResultNames("len").
		Export(abi.FuncRequest).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(httpReply), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("out_ptr", "out_cap").
		WithResultNames("len").
		Export(abi.FuncReply).
		Instantiate(ctx)
	return err
}

// httpRequest is toolwarden.http_request_v1: it reads a request from guest
// memory, makes it through the call's egress client and writes the reply
// to the guest's buffer if it fits, else keeps it for http_reply_v1.
func httpRequest(ctx context.Context, mod api.Module, stack []uint64) {
	reqPtr, reqLen := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	outPtr, outCap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	st := stateFrom(ctx)
	mem := mod.Memory()
	if st == nil || mem == nil {
		stack[0] = api.EncodeI32(abi.HostFault)
		return
	}
	st.setPending(nil)
	if _, ok := mem.Read(outPtr, outCap); !ok {
		stack[0] = api.EncodeI32(abi.HostFault)
		return
	}
	var reply []byte
	if reqLen > maxRequestJSONBytes {
		reply = errorReply(&sandbox.Error{Code: egress.CodeRequestTooLarge, Public: fmt.Sprintf("the request is larger than %d bytes", maxRequestJSONBytes)})
	} else {
		data, ok := mem.Read(reqPtr, reqLen)
		if !ok {
			stack[0] = api.EncodeI32(abi.HostFault)
			return
		}
		reply = st.do(ctx, data)
	}
	if len(reply) <= int(outCap) {
		mem.Write(outPtr, reply) // in range: checked above, and memory never shrinks
	} else {
		st.setPending(reply)
	}
	stack[0] = api.EncodeI32(int32(len(reply)))
}

// httpReply is toolwarden.http_reply_v1: it hands over the reply that did
// not fit the buffer given to http_request_v1.
func httpReply(ctx context.Context, mod api.Module, stack []uint64) {
	outPtr, outCap := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	st := stateFrom(ctx)
	mem := mod.Memory()
	if st == nil || mem == nil {
		stack[0] = api.EncodeI32(abi.HostFault)
		return
	}
	if _, ok := mem.Read(outPtr, outCap); !ok {
		stack[0] = api.EncodeI32(abi.HostFault)
		return
	}
	reply := st.takePending()
	switch {
	case reply == nil:
		stack[0] = api.EncodeI32(abi.HostNoReply)
	case len(reply) > int(outCap):
		st.setPending(reply)
		stack[0] = api.EncodeI32(abi.HostTooSmall)
	default:
		mem.Write(outPtr, reply)
		stack[0] = api.EncodeI32(int32(len(reply)))
	}
}

// do decodes and makes one request and returns the encoded reply.
func (st *callState) do(ctx context.Context, data []byte) []byte {
	client, err := st.egressClient()
	if err != nil {
		return errorReply(err)
	}
	req, err := abi.DecodeRequest(data)
	if err != nil {
		err = client.Unreadable(err)
		st.syncAttempts()
		return errorReply(err)
	}
	res, err := client.Do(ctx, req)
	st.syncAttempts()
	rep := abi.Reply{Response: res}
	if err != nil {
		rep.Error = replyError(err)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		return errorReply(fmt.Errorf("encode reply: %w", err))
	}
	if len(out) > maxReplyBytes {
		return errorReply(&sandbox.Error{Code: egress.CodeResponseTooLarge, Public: "the reply does not fit in 2 GiB"})
	}
	return out
}

func replyError(err error) *abi.Error {
	if se, ok := errors.AsType[*sandbox.Error](err); ok {
		return &abi.Error{Code: se.Code, Message: se.Public}
	}
	return &abi.Error{Code: "internal", Message: "internal error"}
}

func errorReply(err error) []byte {
	out, _ := json.Marshal(abi.Reply{Error: replyError(err)}) // strings always encode
	return out
}
