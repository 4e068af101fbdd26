package query

import (
	"bytes"
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/toolwarden/toolwarden/broker/audit"
)

// OCSF identifiers of the events [OCSF] writes: API Activity (class
// 6003) in the Application Activity category, activity Other, with the
// security_control profile for the allow/deny decision.
const (
	OCSFVersion        = "1.3.0"
	OCSFClassUID       = 6003
	ocsfCategoryUID    = 6
	ocsfActivityID     = 99 // Other: a tool call is none of create, read, update, delete
	ocsfTypeUID        = OCSFClassUID*100 + ocsfActivityID
	ocsfOperation      = "tools/call"
	ocsfProductName    = "toolwarden"
	ocsfVendorName     = "toolwarden"
	ocsfSeverityInfo   = 1
	ocsfSeverityLow    = 2
	ocsfSeverityMedium = 3
	ocsfSeverityHigh   = 4
)

// ocsfEvent is an OCSF API Activity event. Field names are OCSF's.
type ocsfEvent struct {
	ActivityID    int            `json:"activity_id"`
	ActivityName  string         `json:"activity_name"`
	CategoryUID   int            `json:"category_uid"`
	CategoryName  string         `json:"category_name"`
	ClassUID      int            `json:"class_uid"`
	ClassName     string         `json:"class_name"`
	TypeUID       int            `json:"type_uid"`
	TypeName      string         `json:"type_name"`
	SeverityID    int            `json:"severity_id"`
	Severity      string         `json:"severity"`
	Time          int64          `json:"time"` // ms since the epoch
	Duration      int64          `json:"duration,omitempty"`
	StatusID      int            `json:"status_id"`
	Status        string         `json:"status"`
	StatusCode    string         `json:"status_code,omitempty"`
	StatusDetail  string         `json:"status_detail,omitempty"`
	ActionID      int            `json:"action_id"`
	Action        string         `json:"action"`
	DispositionID int            `json:"disposition_id"`
	Disposition   string         `json:"disposition"`
	Message       string         `json:"message"`
	Metadata      ocsfMetadata   `json:"metadata"`
	Actor         ocsfActor      `json:"actor"`
	API           ocsfAPI        `json:"api"`
	SrcEndpoint   ocsfEndpoint   `json:"src_endpoint"`
	HTTPRequest   *ocsfHTTP      `json:"http_request,omitempty"`
	Resources     []ocsfResource `json:"resources"`
	Unmapped      map[string]any `json:"unmapped,omitempty"`
}

type ocsfMetadata struct {
	Version       string      `json:"version"`
	Product       ocsfProduct `json:"product"`
	Profiles      []string    `json:"profiles"`
	UID           string      `json:"uid"`
	CorrelationID string      `json:"correlation_uid,omitempty"`
	TenantUID     string      `json:"tenant_uid,omitempty"`
	OriginalTime  string      `json:"original_time"`
	LogName       string      `json:"log_name"`
}

type ocsfProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

type ocsfActor struct {
	User    ocsfUser     `json:"user"`
	Session *ocsfSession `json:"session,omitempty"`
	AppName string       `json:"app_name,omitempty"`
}

type ocsfUser struct {
	UID    string      `json:"uid"`
	Name   string      `json:"name,omitempty"`
	Groups []ocsfGroup `json:"groups,omitempty"`
}

type ocsfGroup struct {
	Name string `json:"name"`
}

type ocsfSession struct {
	UID string `json:"uid"`
}

type ocsfAPI struct {
	Operation string        `json:"operation"`
	Service   ocsfService   `json:"service"`
	Version   string        `json:"version,omitempty"` // MCP protocol version
	Request   *ocsfRequest  `json:"request,omitempty"`
	Response  *ocsfResponse `json:"response,omitempty"`
}

type ocsfService struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	UID     string `json:"uid,omitempty"`
}

type ocsfRequest struct {
	UID string `json:"uid"`
}

type ocsfResponse struct {
	Error        string `json:"error,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

type ocsfEndpoint struct {
	IP   string `json:"ip,omitempty"`
	Port int    `json:"port,omitempty"`
	Name string `json:"name,omitempty"`
}

type ocsfHTTP struct {
	UserAgent string `json:"user_agent"`
}

type ocsfResource struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	UID     string `json:"uid,omitempty"`
	Version string `json:"version,omitempty"`
}

// OCSF returns r as one OCSF API Activity event (class 6003,
// activity Other, operation "tools/call"), as one line of JSON without a
// newline, for SIEM ingestion. origin names the log (metadata.log_name);
// metadata.uid is origin + ":" + seq, so an event is traceable to its
// record and re-exports are idempotent. The allow/deny decision is the
// security_control profile's action and disposition; the run's outcome is
// status; what OCSF has no attribute for (digests, hashes, the granting
// role, egress, the declared model) is under unmapped with the log's own
// field names. The strings are the record's, already redacted.
func OCSF(r *audit.Record, origin string) ([]byte, error) {
	e := ocsfEvent{
		ActivityID:   ocsfActivityID,
		ActivityName: "Other",
		CategoryUID:  ocsfCategoryUID,
		CategoryName: "Application Activity",
		ClassUID:     OCSFClassUID,
		ClassName:    "API Activity",
		TypeUID:      ocsfTypeUID,
		TypeName:     "API Activity: Other",
		SeverityID:   ocsfSeverityInfo,
		Severity:     "Informational",
		Time:         r.Time.UnixMilli(),
		Duration:     r.Duration.Milliseconds(),
		Metadata: ocsfMetadata{
			Version:       OCSFVersion,
			Product:       ocsfProduct{Name: ocsfProductName, VendorName: ocsfVendorName},
			Profiles:      []string{"security_control"},
			UID:           origin + ":" + strconv.FormatUint(r.Seq, 10),
			CorrelationID: r.Session,
			TenantUID:     r.Tenant,
			OriginalTime:  r.Time.Format("2006-01-02T15:04:05.999999999Z07:00"),
			LogName:       origin,
		},
		Actor: ocsfActor{
			User:    ocsfUser{UID: r.Subject, Name: r.Subject},
			AppName: strings.TrimSpace(r.ClientName + " " + r.ClientVersion),
		},
		API: ocsfAPI{
			Operation: ocsfOperation,
			Service:   ocsfService{Name: r.Tool, Version: r.ToolVersion, UID: r.ToolDigest},
			Version:   r.Protocol,
		},
		Resources: []ocsfResource{{Name: r.Tool, Type: "mcp_tool", UID: r.ToolDigest, Version: r.ToolVersion}},
	}
	for _, role := range r.Roles {
		e.Actor.User.Groups = append(e.Actor.User.Groups, ocsfGroup{Name: role})
	}
	if r.Session != "" {
		e.Actor.Session = &ocsfSession{UID: r.Session}
	}
	if r.RequestID != "" {
		e.API.Request = &ocsfRequest{UID: r.RequestID}
	}
	if r.Reason != "" || r.Error != "" {
		e.API.Response = &ocsfResponse{Error: r.Reason, ErrorMessage: r.Error}
	}
	e.SrcEndpoint = endpoint(r.RemoteAddr, r.Transport)
	if r.UserAgent != "" {
		e.HTTPRequest = &ocsfHTTP{UserAgent: r.UserAgent}
	}
	switch r.Decision {
	case audit.DecisionAllow:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 1, "Allowed", 1, "Allowed"
	default:
		e.ActionID, e.Action, e.DispositionID, e.Disposition = 2, "Denied", 2, "Blocked"
		e.SeverityID, e.Severity = ocsfSeverityLow, "Low"
	}
	switch {
	case r.Decision == audit.DecisionAllow && r.Outcome != audit.OutcomeError:
		e.StatusID, e.Status = 1, "Success"
		e.StatusCode = r.Reason
	default:
		e.StatusID, e.Status = 2, "Failure"
		e.StatusCode, e.StatusDetail = r.Reason, r.Error
	}
	// What the sandbox refused, or output screening caught, during a call
	// the policy allowed is a security event of its own: the disposition
	// says what was done about it, the severity is raised.
	switch {
	case slices.Contains(r.Flags, "sandbox_refused") || r.Reason == "sandbox.contained" || r.Reason == "sandbox.egress_denied" || r.Reason == "output.blocked":
		e.DispositionID, e.Disposition = 2, "Blocked"
		e.SeverityID, e.Severity = ocsfSeverityMedium, "Medium"
	case r.Reason == "output.redacted":
		e.DispositionID, e.Disposition = 11, "Corrected"
		e.SeverityID, e.Severity = ocsfSeverityMedium, "Medium"
	case r.Reason == "output.flagged":
		e.DispositionID, e.Disposition = 15, "Detected"
		e.SeverityID, e.Severity = ocsfSeverityMedium, "Medium"
	}
	switch r.Event {
	case audit.EventRecovered:
		e.SeverityID, e.Severity = ocsfSeverityHigh, "High"
		e.API.Operation = r.Event
	case audit.EventRefusals:
		e.SeverityID, e.Severity = ocsfSeverityMedium, "Medium"
		e.API.Operation = r.Event
	case "":
		if r.Method != "" {
			e.API.Operation = r.Method
		}
	default:
		e.API.Operation = r.Event
	}
	e.Message = messageOf(r)
	u := map[string]any{"seq": r.Seq, "decision": r.Decision}
	add := func(k string, v any, present bool) {
		if present {
			u[k] = v
		}
	}
	add("transport", r.Transport, r.Transport != "")
	add("auth", r.AuthKind, r.AuthKind != "")
	add("key_id", r.KeyID, r.KeyID != "")
	add("audience", r.Audience, r.Audience != "")
	add("model", r.Model, r.Model != "")
	add("granted_by", r.GrantedBy, r.GrantedBy != "")
	add("manifest_hash", r.ManifestHash, r.ManifestHash != "")
	add("arguments", r.Arguments, len(r.Arguments) > 0)
	add("args_sha256", r.ArgsSHA256, r.ArgsSHA256 != "")
	add("outcome", r.Outcome, r.Outcome != "")
	add("result_sha256", r.ResultSHA256, r.ResultSHA256 != "")
	add("result_bytes", r.ResultBytes, r.ResultBytes != 0)
	add("truncated", r.Truncated, r.Truncated)
	add("event", r.Event, r.Event != "")
	add("repeats", r.Repeats, r.Repeats != 0)
	add("payload_sha256", r.PayloadSHA256, r.PayloadSHA256 != "")
	add("excerpt", r.Excerpt, r.Excerpt != "")
	add("sandbox", r.Sandbox, r.Sandbox != "")
	add("peak_memory_bytes", r.PeakMemoryBytes, r.PeakMemoryBytes != 0)
	add("egress", r.Egress, len(r.Egress) > 0)
	add("flags", r.Flags, len(r.Flags) > 0)
	add("hash", r.Hash, r.Hash != "")
	e.Unmapped = u
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&e); err != nil {
		return nil, err
	}
	// One event is one line, whatever the strings hold.
	return audit.EscapeLine(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// endpoint splits a remote address into OCSF's ip and port; a transport
// without an address (stdio, cli) becomes the endpoint's name.
func endpoint(addr, transport string) ocsfEndpoint {
	if addr == "" {
		return ocsfEndpoint{Name: transport}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ocsfEndpoint{Name: addr}
	}
	p, _ := strconv.Atoi(port)
	return ocsfEndpoint{IP: host, Port: p}
}

func messageOf(r *audit.Record) string {
	who := r.Subject
	if r.Tenant != "" {
		who = r.Tenant + "/" + r.Subject
	}
	switch {
	case r.Decision != audit.DecisionAllow:
		return "tools/call " + r.Tool + " by " + who + " denied: " + r.Reason
	case r.Outcome == audit.OutcomeError:
		return "tools/call " + r.Tool + " by " + who + " failed: " + r.Reason
	}
	return "tools/call " + r.Tool + " by " + who + " succeeded"
}
