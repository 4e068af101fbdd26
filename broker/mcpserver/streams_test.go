package mcpserver

import "testing"

func TestStreamGate(t *testing.T) {
	g := newStreamGate()
	alice, bob := owner{tenant: "acme", subject: "alice"}, owner{tenant: "acme", subject: "bob"}
	var leaves []func()
	for i := range MaxStreamsPerPrincipal {
		l := g.enter(alice, true)
		if l == nil {
			t.Fatalf("stream %d refused below the cap", i+1)
		}
		leaves = append(leaves, l)
	}
	if g.enter(alice, true) != nil {
		t.Fatalf("stream past the cap of %d admitted", MaxStreamsPerPrincipal)
	}
	if l := g.enter(bob, true); l == nil {
		t.Fatalf("another principal held back by alice's streams")
	} else {
		l()
	}
	for range MaxRequestsPerPrincipal - MaxStreamsPerPrincipal {
		if l := g.enter(alice, false); l == nil {
			t.Fatalf("request refused below the cap")
		} else {
			leaves = append(leaves, l)
		}
	}
	if g.enter(alice, false) != nil {
		t.Fatalf("request past the cap of %d admitted", MaxRequestsPerPrincipal)
	}
	leaves[0]()
	leaves[0]() // twice is harmless
	if l := g.enter(alice, true); l == nil {
		t.Errorf("stream refused after one ended")
	}
	for _, l := range leaves[1:] {
		l()
	}
	if len(g.requests) != 1 || len(g.streams) != 1 {
		t.Errorf("gate holds %d/%d principals after all ended but one", len(g.requests), len(g.streams))
	}
}
