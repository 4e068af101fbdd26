//go:build !wasip1

package sdk

// hostRoundTrip refuses: outside a wasm sandbox there is no broker to ask.
func hostRoundTrip([]byte) ([]byte, error) {
	return nil, &EgressError{Code: CodeEgressDenied, Message: "network access goes through the toolwarden host module, which exists only under GOOS=wasip1"}
}
