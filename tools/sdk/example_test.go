package sdk_test

import (
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
	// decode arguments: unknown field "CITY"
}
