package strictjson

import (
	"encoding/json"
	"testing"
)

// benchDoc is a 1 KiB JSON-RPC tools/call frame, the shape Check sees on
// every call.
func benchDoc() []byte {
	return []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"http_fetch",` +
		`"arguments":{"url":"https://en.wikipedia.org/wiki/JSON","method":"GET","headers":{"Accept":"text/html",` +
		`"User-Agent":"toolwarden-test/1.0","Accept-Language":"en-GB,en;q=0.9"},"timeout":5000,"follow":true,` +
		`"maxBytes":262144,"query":{"action":"parse","page":"JSON","prop":"text","format":"json","redirects":1},` +
		`"tags":["research","wiki","json","encoding","parsers","security"],"note":"Fetch the article about JSON ` +
		`and summarise the sections on syntax and security, including the parts about duplicate names and ` +
		`Unicode escapes \u00e9\u00e8 \ud83d\ude00.","weights":[0.5,1.25,-3e2,12,0,7.75],"nested":{"a":{"b":{"c":` +
		`{"d":[1,2,3,{"e":null,"f":false}]}}}},"limits":{"output":65536,"memory":67108864,"timeout":"5s"}},` +
		`"_meta":{"progressToken":"7b2d6c1e-0c8f-4d8a-9a43-5f6e1c2b3a4d","trace":"00-4bf92f3577b34da6a3ce929d0e0e4736-` +
		`00f067aa0ba902b7-01","client":{"name":"bench","version":"1.2.3"}}},"padding":"Lorem ipsum dolor sit amet, ` +
		`consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad ` +
		`minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat."}`)
}

func BenchmarkCheck(b *testing.B) {
	data := benchDoc()
	lim := Limits{RejectCaseVariants: true}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(data, lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONValid is the baseline for BenchmarkCheck: encoding/json's
// validity check on the same bytes, which checks neither duplicate keys nor
// UTF-8.
func BenchmarkJSONValid(b *testing.B) {
	data := benchDoc()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(data) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	data := benchDoc()
	lim := Limits{RejectCaseVariants: true}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, lim); err != nil {
			b.Fatal(err)
		}
	}
}
