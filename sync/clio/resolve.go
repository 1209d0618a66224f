package clio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// pollPayload is the inbox payload of a polled record.
type pollPayload struct {
	Model string          `json:"model"`
	Kind  crm.Kind        `json:"kind,omitempty"`
	Data  json.RawMessage `json:"data"`
}

// Resolve turns an inbox item into events. Matter events map to
// EntityCreated, EntityChanged or EntityDeleted; a paid bill gives one
// BillPaid per matter it covers. Anything else returns an empty slice.
func (c *Connector) Resolve(ctx context.Context, item store.InboxItem) ([]crm.Event, error) {
	if item.Source == "poll" {
		var p pollPayload
		if err := json.Unmarshal(item.Payload, &p); err != nil {
			return nil, fmt.Errorf("decode polled clio item %s: %w", item.Key, err)
		}
		switch p.Model {
		case "matter":
			kind := p.Kind
			if kind == "" {
				kind = crm.EntityChanged
			}
			return c.resolveMatter(ctx, item, kind, p.Data)
		case "bill":
			return c.resolveBill(ctx, item, "updated", p.Data)
		}
		return []crm.Event{}, nil
	}

	var env envelope
	if err := json.Unmarshal(item.Payload, &env); err != nil {
		return nil, fmt.Errorf("decode clio webhook item %s: %w", item.Key, err)
	}
	switch c.deliveryModel(item.ConnectionID, string(env.Meta.WebhookID), env.Data) {
	case "matter":
		kind, ok := matterKind(env.Meta.Event)
		if !ok {
			return []crm.Event{}, nil
		}
		return c.resolveMatter(ctx, item, kind, env.Data)
	case "bill":
		return c.resolveBill(ctx, item, env.Meta.Event, env.Data)
	}
	return []crm.Event{}, nil
}

// matterKind maps a matter webhook event to an event kind.
func matterKind(event string) (crm.Kind, bool) {
	switch event {
	case "created":
		return crm.EntityCreated, true
	case "updated", "matter_opened", "matter_pended", "matter_closed":
		return crm.EntityChanged, true
	case "deleted":
		return crm.EntityDeleted, true
	}
	return "", false
}

// deliveryModel returns the model of a delivery from the webhook that sent
// it. A webhook recreated since then is no longer stored, so the data's
// shape decides: only bills carry state and matters[].
func (c *Connector) deliveryModel(connectionID, webhookID string, data json.RawMessage) string {
	if conn, err := c.loadConnection(connectionID); err == nil {
		if wh, ok := conn.Webhooks[webhookID]; ok {
			return wh.Model
		}
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	_, hasState := probe["state"]
	_, hasMatters := probe["matters"]
	if hasState || hasMatters {
		return "bill"
	}
	return "matter"
}

func (c *Connector) resolveMatter(ctx context.Context, item store.InboxItem, kind crm.Kind, data json.RawMessage) ([]crm.Event, error) {
	var m matter
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode clio matter in %s: %w", item.Key, err)
	}
	if m.ID == "" {
		return []crm.Event{}, nil
	}

	if kind == crm.EntityDeleted {
		ev := c.matterEvent(item.ConnectionID, m, kind)
		ev.ID = item.Key
		if ev.Version.IsZero() {
			ev.Version = item.ReceivedAt.UTC()
		}
		return []crm.Event{ev}, nil
	}

	if m.thin() {
		fetched, err := c.fetchMatter(ctx, item.ConnectionID, string(m.ID))
		if hasStatus(err, http.StatusNotFound) {
			return []crm.Event{}, nil
		}
		if err != nil {
			return nil, err
		}
		m = fetched
	}

	ev := c.matterEvent(item.ConnectionID, m, kind)
	ev.ID = item.Key
	if err := c.addContactEmails(ctx, item.ConnectionID, m, kind, &ev); err != nil {
		return nil, err
	}
	return []crm.Event{ev}, nil
}

// matterEvent maps a matter's fields to an event without contacting Clio.
func (c *Connector) matterEvent(connectionID string, m matter, kind crm.Kind) crm.Event {
	ev := crm.Event{
		Provider:     crm.Clio,
		ConnectionID: connectionID,
		Kind:         kind,
		EntityType:   "matter",
		EntityID:     string(m.ID),
		EntityName:   matterName(m),
		StatusLabel:  m.Status,
		Outcome:      matterOutcome(m.Status),
		Version:      parseTime(m.UpdatedAt),
		CreatedAt:    parseTime(m.CreatedAt),
	}
	if m.Client != nil {
		ev.ClientName = m.Client.displayName()
		if strings.EqualFold(m.Client.Type, "Company") {
			ev.ClientCompany = m.Client.displayName()
		}
		if addr := strings.TrimSpace(m.Client.PrimaryEmailAddress); addr != "" {
			ev.ClientEmails = []string{addr}
		}
	}
	if kind == crm.EntityDeleted {
		ev.Outcome = crm.OutcomeUnknown
	}
	return ev
}

// matterName is the display number followed by the description, such as
// "00217-Okafor Okafor v. Brightline Logistics ...".
// NOTE: Clio's API documents no combined label; this joins the two fields
// with one space, and the Clio UI may separate them differently.
func matterName(m matter) string {
	return strings.TrimSpace(strings.TrimSpace(m.DisplayNumber) + " " + strings.TrimSpace(m.Description))
}

// matterOutcome maps Clio's matter status: Open and Pending keep a referral
// open, Closed means won.
func matterOutcome(status string) crm.Outcome {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "open", "pending":
		return crm.OutcomeOpen
	case "closed":
		return crm.OutcomeWon
	}
	return crm.OutcomeUnknown
}

// addContactEmails adds every address of the matter's client, primary
// first. It reads the contact from Clio for a new matter, because auto-link
// compares all addresses, and when the delivery has no primary address.
// A contact that Clio no longer has leaves the event unchanged.
func (c *Connector) addContactEmails(ctx context.Context, connectionID string, m matter, kind crm.Kind, ev *crm.Event) error {
	if m.Client == nil || m.Client.ID == "" {
		return nil
	}
	if kind != crm.EntityCreated && len(ev.ClientEmails) > 0 {
		return nil
	}

	var out struct {
		Data contact `json:"data"`
	}
	req := request{
		method: http.MethodGet,
		path:   "/api/v4/contacts/" + url.PathEscape(string(m.Client.ID)) + ".json",
		query:  "fields=id,name,type,primary_email_address,secondary_email_address,email_addresses{address,name,primary}",
	}
	_, err := c.call(ctx, connectionID, req, &out)
	if hasStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read clio contact %s: %w", m.Client.ID, err)
	}

	ev.ClientEmails = mergeEmails(ev.ClientEmails, out.Data)
	if ev.ClientName == "" {
		ev.ClientName = out.Data.displayName()
	}
	return nil
}

// mergeEmails returns known followed by the contact's addresses, primary
// first, without duplicates (compared case-insensitively).
func mergeEmails(known []string, ct contact) []string {
	candidates := append([]string{}, known...)
	candidates = append(candidates, ct.PrimaryEmailAddress)
	for _, e := range ct.EmailAddresses {
		if e.Primary {
			candidates = append(candidates, e.Address)
		}
	}
	for _, e := range ct.EmailAddresses {
		if !e.Primary {
			candidates = append(candidates, e.Address)
		}
	}
	candidates = append(candidates, ct.SecondaryEmailAddress)

	seen := map[string]bool{}
	var out []string
	for _, addr := range candidates {
		addr = strings.TrimSpace(addr)
		folded := strings.ToLower(addr)
		if addr == "" || seen[folded] {
			continue
		}
		seen[folded] = true
		out = append(out, addr)
	}
	return out
}

func (c *Connector) resolveBill(ctx context.Context, item store.InboxItem, event string, data json.RawMessage) ([]crm.Event, error) {
	if event != "created" && event != "updated" {
		return []crm.Event{}, nil
	}
	var b bill
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode clio bill in %s: %w", item.Key, err)
	}
	if b.ID == "" {
		return []crm.Event{}, nil
	}

	if b.thin() {
		fetched, err := c.fetchBill(ctx, item.ConnectionID, string(b.ID))
		if hasStatus(err, http.StatusNotFound) {
			return []crm.Event{}, nil
		}
		if err != nil {
			return nil, err
		}
		b = fetched
	}
	if !b.paid() {
		return []crm.Event{}, nil
	}

	events := make([]crm.Event, 0, len(b.Matters))
	for _, m := range b.Matters {
		if m.ID == "" {
			continue
		}
		ev := crm.Event{
			ID:           item.Key,
			Provider:     crm.Clio,
			ConnectionID: item.ConnectionID,
			Kind:         crm.BillPaid,
			EntityType:   "matter",
			EntityID:     string(m.ID),
			EntityName:   matterName(m),
			Version:      parseTime(b.UpdatedAt),
			BillID:       string(b.ID),
			BillNumber:   string(b.Number),
			BillTotal:    b.Total.String(),
		}
		if b.Client != nil {
			ev.ClientName = b.Client.displayName()
		}
		events = append(events, ev)
	}
	return events, nil
}

func (c *Connector) fetchMatter(ctx context.Context, connectionID, id string) (matter, error) {
	var out struct {
		Data matter `json:"data"`
	}
	req := request{method: http.MethodGet, path: "/api/v4/matters/" + url.PathEscape(id) + ".json", query: "fields=" + matterFields}
	if _, err := c.call(ctx, connectionID, req, &out); err != nil {
		return matter{}, err
	}
	return out.Data, nil
}

func (c *Connector) fetchBill(ctx context.Context, connectionID, id string) (bill, error) {
	var out struct {
		Data bill `json:"data"`
	}
	req := request{method: http.MethodGet, path: "/api/v4/bills/" + url.PathEscape(id) + ".json", query: "fields=" + billFields}
	if _, err := c.call(ctx, connectionID, req, &out); err != nil {
		return bill{}, err
	}
	return out.Data, nil
}
