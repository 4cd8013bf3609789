// Package spec defines the partner spec: one YAML file per ad partner that
// says which events it wants, the request each one becomes, and where every
// {macro} of that request takes its value from. The package loads, validates
// and lints these files; it does not execute them (see engine/render).
//
// It also owns the readings of a spec that the renderer, the gateway and
// the lint must agree on: which postbacks an event triggers
// (Partner.Selection) and which hosts a partner's postbacks may reach
// (Partner.Hosts).
package spec

import "strings"

// Status is a partner's integration status at the measurement platform.
type Status string

// The integration statuses Branch documents.
const (
	StatusActive     Status = "active"
	StatusInReview   Status = "in-review"
	StatusSubmitted  Status = "submitted"
	StatusDeprecated Status = "deprecated"
)

// Partner is one ad partner's integration, as written in partners/<id>.yaml.
type Partner struct {
	// ID names the partner in adgate: the file is <id>.yaml.
	ID string `yaml:"id" json:"id"`
	// MachineName is the value Branch puts in $3p for this partner.
	// Empty means "a_" + ID; use MachineNameOrDefault to read it.
	MachineName string `yaml:"machine_name,omitempty" json:"machine_name,omitempty"`
	Name        string `yaml:"name" json:"name"`
	Logo        string `yaml:"logo,omitempty" json:"logo,omitempty"`
	Website     string `yaml:"website,omitempty" json:"website,omitempty"`
	Status      Status `yaml:"status,omitempty" json:"status,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	// Postbacks are the requests sent for events; one postback may serve
	// several events that share a URL, and one event may trigger several
	// postbacks (see Partner.Selection for the rule that names them).
	Postbacks []Postback `yaml:"postbacks,omitempty" json:"postbacks,omitempty"`
	// Parameters define every {macro} the postbacks use.
	Parameters []Parameter `yaml:"parameters,omitempty" json:"parameters,omitempty"`
	// LinkOnly are click parameters carried on the tracking link only.
	LinkOnly []LinkParam `yaml:"link_only,omitempty" json:"link_only,omitempty"`
	// AllowedHosts lists extra hosts a rendered URL may point to, for URL
	// templates whose host is itself templated (Criteo's widget.*.criteo.com).
	// Entries are host names or "*." wildcards.
	AllowedHosts []string `yaml:"allowed_hosts,omitempty" json:"allowed_hosts,omitempty"`
	// Unmapped keeps, verbatim, what an importer could not map to a field.
	Unmapped []Unmapped `yaml:"unmapped,omitempty" json:"unmapped,omitempty"`
	// Delivery declares what the partner's endpoint treats as success and
	// which failures are worth retrying; the gateway config's per-app
	// delivery block overrides it field by field.
	Delivery *Delivery `yaml:"delivery,omitempty" json:"delivery,omitempty"`
}

// MachineNameOrDefault returns the partner's Branch machine name.
func (p *Partner) MachineNameOrDefault() string {
	if p.MachineName != "" {
		return p.MachineName
	}
	return "a_" + p.ID
}

// Parameter returns the parameter defining macro, or nil.
func (p *Partner) Parameter(macro string) *Parameter {
	for i := range p.Parameters {
		if p.Parameters[i].Macro == macro {
			return &p.Parameters[i]
		}
	}
	return nil
}

// CustomEvent is the event key of the postback sent for events that are not
// lifecycle events and have no postback of their own.
const CustomEvent = "custom_event"

// Postback is one request template and the events that trigger it.
type Postback struct {
	// Name tells this postback apart from the other postbacks of an event
	// it shares with them; empty for the event's one unnamed postback.
	// Unique within the partner (see Partner.Selection).
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Events trigger this postback: Branch event names such as INSTALL,
	// OPEN, PURCHASE, or custom_event. The event name is the postback's
	// key; an event listed by several postbacks triggers each of them.
	Events []string `yaml:"events" json:"events"`
	// Method is the HTTP method; empty means GET.
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// URL is the request URL: a template in which {macro} is replaced by a
	// parameter's value and FreeMarker syntax is evaluated.
	URL string `yaml:"url" json:"url"`
	// Headers are request headers; values are templates like URL.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Body is the request body template, if any.
	Body string `yaml:"body,omitempty" json:"body,omitempty"`
	// ContentType is the body's media type. When it is JSON, macro values
	// are JSON-escaped in the body; it is also sent as Content-Type.
	ContentType string `yaml:"content_type,omitempty" json:"content_type,omitempty"`
	// BodyCheck is BodyCheckOff to send a JSON or form body that does not
	// parse as it is; by default such a body is skipped with the reason.
	BodyCheck string `yaml:"body_check,omitempty" json:"body_check,omitempty"`
}

// The values of Postback.BodyCheck.
const (
	BodyCheckOn  = "on"
	BodyCheckOff = "off"
)

// NameSyntax is the pattern a postback name matches (the schema's): a
// lower-case letter, then lower-case letters, digits, _ and -, up to 64
// characters. Names go into gateway ids, logs and URLs' query strings
// (the test endpoint's postback=), so they are kept plain.
const NameSyntax = `^[a-z][a-z0-9_-]{0,63}$`

// MethodOrDefault returns the HTTP method, GET when unset.
func (pb *Postback) MethodOrDefault() string {
	if pb.Method == "" {
		return "GET"
	}
	return strings.ToUpper(pb.Method)
}

// Parameter defines one {macro}: which Branch parameter supplies its value.
type Parameter struct {
	// Macro is the name inside the braces: "os" for {os}.
	Macro string `yaml:"macro" json:"macro"`
	// Branch names the Branch parameter (AAID, OS, ACCOUNT_CREDENTIAL, ...);
	// schemas/branch-parameters.yaml defines each.
	Branch string `yaml:"branch" json:"branch"`
	// LinkMacro is the partner's macro that fills this value on the
	// tracking link, e.g. "{utm_campaign}".
	LinkMacro string `yaml:"link_macro,omitempty" json:"link_macro,omitempty"`
	// Label is the dashboard label an advertiser sees for a credential.
	Label string `yaml:"label,omitempty" json:"label,omitempty"`
	// Template, when set, computes the value (FreeMarker dialect), e.g.
	// ${(custom_data.identity)!}.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	// Required means a postback whose value for this macro is empty is skipped.
	Required    bool   `yaml:"required,omitempty" json:"required,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// LinkParam is a click parameter carried on the tracking link only
// (CLICK_AAID -> {google_advertising_id}), or a link setting (S2S: true).
type LinkParam struct {
	Branch    string `yaml:"branch" json:"branch"`
	LinkMacro string `yaml:"link_macro,omitempty" json:"link_macro,omitempty"`
	// Value is a fixed value for settings such as S2S.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
}

// Unmapped is content an importer could not map to a field, kept verbatim
// so that nothing is silently dropped.
type Unmapped struct {
	// Section is the doc section it came from ("postbacks", "parameters", ...).
	Section string `yaml:"section" json:"section"`
	// Line is the line in the source doc.
	Line   int    `yaml:"line,omitempty" json:"line,omitempty"`
	Text   string `yaml:"text" json:"text"`
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
}
