package query

// Fields is what the fast field scan of Query read from a line.
type Fields struct {
	Seq                                                             uint64
	Time, Tenant, Subject, Session, Tool, Decision, Reason, Outcome string
}

// ParseFields runs the fast field scan of Query on one line.
func ParseFields(line []byte) (Fields, bool) {
	var lf lineFields
	if !parseFields(line, &lf) {
		return Fields{}, false
	}
	return Fields{
		Seq: lf.seq, Time: jsonString(lf.time), Tenant: jsonString(lf.tenant), Subject: jsonString(lf.subject),
		Session: jsonString(lf.session), Tool: jsonString(lf.tool), Decision: jsonString(lf.decision),
		Reason: jsonString(lf.reason), Outcome: jsonString(lf.outcome),
	}, true
}
