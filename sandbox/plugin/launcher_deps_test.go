package plugin

// The launcher of every plugin started in these tests is this test binary
// (/proc/self/exe), as it is the broker's binary in production. This
// import links the broker's heaviest dependency, whose package
// initialization (about 10 ms: the mcp-go server's schema compiler builds
// its metaschemas) a broker's launcher would pay if it ran after package
// initialization, so BenchmarkColdStartIsolated measures a launch as it
// costs in the broker, and shows that package confine's init runs the
// launcher before it.
import _ "github.com/mark3labs/mcp-go/server"
