// Package crm holds the CRM-neutral event types that the Clio and HubSpot
// connectors produce, the contract every connector implements, and the
// durable inbox worker that feeds events to the rules engine.
package crm

import (
	"fmt"
	"time"
)

// Provider names a CRM. The values are part of the API and of stored keys.
type Provider string

const (
	Clio    Provider = "clio"
	HubSpot Provider = "hubspot"
)

// Label returns the product name shown to users ("Clio", "HubSpot").
func (p Provider) Label() string {
	switch p {
	case Clio:
		return "Clio"
	case HubSpot:
		return "HubSpot"
	}
	return string(p)
}

// EntityType returns what the provider calls its linked record: "matter" or "deal".
func (p Provider) EntityType() string {
	if p == HubSpot {
		return "deal"
	}
	return "matter"
}

// ParseProvider checks a provider name from a request or a stored record.
func ParseProvider(s string) (Provider, error) {
	switch Provider(s) {
	case Clio, HubSpot:
		return Provider(s), nil
	}
	return "", fmt.Errorf("%q is not a provider: use \"clio\" or \"hubspot\"", s)
}

// Kind is the type of change to a CRM record.
type Kind string

const (
	// EntityCreated is a new matter or deal; it is the only kind that runs auto-link.
	EntityCreated Kind = "entity_created"
	// EntityChanged carries the record's current state after an edit.
	EntityChanged Kind = "entity_changed"
	// EntityDeleted marks the record gone in the CRM; linked referrals keep their status.
	EntityDeleted Kind = "entity_deleted"
	// BillPaid is a Clio bill that reached the paid state, once per matter it covers.
	BillPaid Kind = "bill_paid"
)

// Outcome is the referral status a CRM status or stage maps to.
type Outcome string

const (
	OutcomeUnknown Outcome = ""
	OutcomeOpen    Outcome = "open"
	OutcomeWon     Outcome = "won"
	OutcomeLost    Outcome = "lost"
)

// Event is one normalized CRM change, ready for the rules engine.
type Event struct {
	// ID is the source event id used for deduplication and logs.
	ID           string   `json:"id"`
	Provider     Provider `json:"provider"`
	ConnectionID string   `json:"connection_id"`
	Kind         Kind     `json:"kind"`

	// EntityType is "matter" (Clio) or "deal" (HubSpot); EntityID is the CRM's own id.
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
	EntityName string `json:"entity_name"`

	ClientName string `json:"client_name"`
	// ClientEmails lists the client's addresses, primary first.
	ClientEmails  []string `json:"client_emails,omitempty"`
	ClientCompany string   `json:"client_company,omitempty"`

	// Outcome is OutcomeUnknown when the event carries no status (a bill, a deletion).
	Outcome Outcome `json:"outcome,omitempty"`
	// StatusLabel is the CRM's own wording, such as "Pending" or "Closed Won", for context only.
	StatusLabel string `json:"status_label,omitempty"`

	// Version is the CRM's updated_at (Clio) or hs_lastmodifieddate (HubSpot).
	// An event older than the version already applied never rolls status back.
	Version time.Time `json:"version"`
	// CreatedAt is the record's creation time in the CRM, when known.
	CreatedAt time.Time `json:"created_at,omitempty"`

	// BillID and BillNumber describe the paid bill of a BillPaid event.
	BillID     string `json:"bill_id,omitempty"`
	BillNumber string `json:"bill_number,omitempty"`
	BillTotal  string `json:"bill_total,omitempty"`
}

// Validate reports the first missing field an engine needs.
func (e Event) Validate() error {
	switch {
	case e.Provider == "":
		return fmt.Errorf("event %q: missing provider", e.ID)
	case e.ConnectionID == "":
		return fmt.Errorf("event %q: missing connection id", e.ID)
	case e.EntityID == "":
		return fmt.Errorf("event %q: missing entity id", e.ID)
	}
	switch e.Kind {
	case EntityCreated, EntityChanged, EntityDeleted:
	case BillPaid:
		if e.BillID == "" {
			return fmt.Errorf("event %q: bill_paid without a bill id", e.ID)
		}
	default:
		return fmt.Errorf("event %q: unknown kind %q", e.ID, e.Kind)
	}
	switch e.Outcome {
	case OutcomeUnknown, OutcomeOpen, OutcomeWon, OutcomeLost:
	default:
		return fmt.Errorf("event %q: outcome %q is not open, won or lost", e.ID, e.Outcome)
	}
	return nil
}
