package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzBuildMatchesStdlib: for every input Check accepts, the direct builder
// gives exactly what encoding/json gives with UseNumber.
func FuzzBuildMatchesStdlib(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1,"b":[true,false,null,"x"],"c":{"d":-1.5e+3}}`,
		`"\u00e9\ud83d\ude00\n\t\"\\\/"`, ` [ 1 , 2 ] `, `{"k":"v\u0000"}`, `0`, `"plain"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if Check(data, Limits{}) != nil {
			return
		}
		got, ok := build(data)
		if !ok {
			t.Fatalf("build(%q) refused input Check accepted", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json refused %q: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("build(%q) = %#v, encoding/json = %#v", data, got, want)
		}
	})
}
