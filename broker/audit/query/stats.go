package query

import (
	"context"
	"sort"
	"time"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// Stats summarises the records of a log that match a [Filter].
type Summary struct {
	Records int `json:"records"`
	Allowed int `json:"allowed"` // decision allow
	Denied  int `json:"denied"`  // decision deny
	Failed  int `json:"failed"`  // allowed, but the run ended in an error

	// First and Last are the times of the first and last matching records
	// in log order.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`

	// DenialsByReason counts denied calls by reason code.
	DenialsByReason map[string]int `json:"denials_by_reason"`
	// FailuresByReason counts failed runs by reason code.
	FailuresByReason map[string]int `json:"failures_by_reason"`
	// Tools counts calls by tool name.
	Tools map[string]int `json:"tools"`
	// Subjects counts calls by "tenant/subject".
	Subjects map[string]int `json:"subjects"`
}

// Count is one entry of a ranking.
type Count struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// Top returns the n largest entries of counts, largest first, ties by key.
// n < 1 means all.
func Top(counts map[string]int, n int) []Count {
	out := make([]Count, 0, len(counts))
	for k, v := range counts {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Summarize reads the log at path as [Records] does and counts the
// records that match f. Like Query, it decodes only the fields it counts.
func Summarize(ctx context.Context, path string, f Filter) (*Summary, error) {
	s := &Summary{
		DenialsByReason:  map[string]int{},
		FailuresByReason: map[string]int{},
		Tools:            map[string]int{},
		Subjects:         map[string]int{},
	}
	var lastTime []byte
	var lastRec time.Time
	err := scanLog(ctx, path, newMatcher(&f).all(), func(_ []byte, lf *lineFields, rec *audit.Record) error {
		var t time.Time
		var tenant, subject, tool, decision, reason, outcome string
		if rec != nil {
			if !f.Match(rec) {
				return nil
			}
			t = rec.Time
			tenant, subject, tool, decision, reason, outcome = rec.Tenant, rec.Subject, rec.Tool, rec.Decision, rec.Reason, rec.Outcome
			lastTime, lastRec = nil, rec.Time
		} else {
			tenant, subject, tool = internString(lf.tenant), internString(lf.subject), internString(lf.tool)
			decision, reason, outcome = internString(lf.decision), internString(lf.reason), internString(lf.outcome)
			lastTime = append(lastTime[:0], lf.time...)
			if s.Records == 0 {
				t, _ = time.Parse(time.RFC3339Nano, jsonString(lf.time))
			}
		}
		if s.Records == 0 {
			s.First = t
		}
		s.Records++
		s.Tools[tool]++
		s.Subjects[tenant+"/"+subject]++
		switch decision {
		case audit.DecisionAllow:
			s.Allowed++
			if outcome == audit.OutcomeError {
				s.Failed++
				s.FailuresByReason[reason]++
			}
		case audit.DecisionDeny:
			s.Denied++
			s.DenialsByReason[reason]++
		}
		return nil
	})
	if lastTime != nil {
		s.Last, _ = time.Parse(time.RFC3339Nano, jsonString(lastTime))
	} else {
		s.Last = lastRec
	}
	return s, err
}

// internString decodes raw JSON string contents, reusing a few constant
// strings so that counting a million records does not allocate a million
// copies of "allow".
func internString(raw []byte) string {
	switch string(raw) {
	case "":
		return ""
	case audit.DecisionAllow:
		return audit.DecisionAllow
	case audit.DecisionDeny:
		return audit.DecisionDeny
	case audit.OutcomeOK:
		return audit.OutcomeOK
	case audit.OutcomeError:
		return audit.OutcomeError
	}
	return jsonString(raw)
}
