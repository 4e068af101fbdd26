package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/toolwarden/toolwarden/tools/sdk"
)

func ExampleDecode() {
	var args struct {
		City string `json:"city"`
	}
	err := sdk.Decode(json.RawMessage(`{"city": "Lyon"}`), &args)
	fmt.Println(args.City, err)

	// A key that matches only case-insensitively is refused, although
	// encoding/json alone would accept it.
	err = sdk.Decode(json.RawMessage(`{"CITY": "Paris"}`), &args)
	fmt.Println(err)
	// Output:
	// Lyon <nil>
	// decode arguments: member "CITY" differs from "city" only in case; names are case-sensitive at /CITY (offset 1)
}

func ExampleFetch() {
	// Inside a tool built with GOOS=wasip1 the broker makes the request under
	// the call's egress grant; anywhere else there is no broker to ask.
	res, err := sdk.Fetch(context.Background(), sdk.HTTPRequest{URL: "https://en.wikipedia.org/wiki/Go_(programming_language)"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, res.Header("Content-Type"))
	// Output: sandbox.egress_denied: network access goes through the toolwarden host module, which exists only under GOOS=wasip1
}
