package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// dealProperties are the deal properties read on every re-read and search.
var dealProperties = []string{
	"dealname", "dealstage", "pipeline", "amount", "closedate", "createdate",
	"hs_lastmodifieddate", "hs_is_closed", "hs_is_closed_won", "hs_object_id",
}

// deal is a v3 deal object with inline v3 associations.
type deal struct {
	ID           string            `json:"id"`
	Properties   map[string]string `json:"properties"`
	CreatedAt    string            `json:"createdAt"`
	UpdatedAt    string            `json:"updatedAt"`
	Archived     bool              `json:"archived"`
	Associations map[string]struct {
		Results []inlineAssociation `json:"results"`
	} `json:"associations"`
}

type inlineAssociation struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// v4Associations is GET /crm/v4/objects/deals/{id}/associations/{type}.
type v4Associations struct {
	Results []struct {
		ToObjectID       flexString `json:"toObjectId"`
		AssociationTypes []struct {
			Category string `json:"category"`
			TypeID   int    `json:"typeId"`
			Label    string `json:"label"`
		} `json:"associationTypes"`
	} `json:"results"`
	Paging *paging `json:"paging"`
}

type paging struct {
	Next *struct {
		After string `json:"after"`
	} `json:"next"`
}

// objectBatch is a batch read response; only results are relied on.
type objectBatch struct {
	Results []struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	} `json:"results"`
}

type object struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// readDeal fetches one deal with its contact and company associations.
// A deal that does not exist returns an error wrapping errNotFound.
func (c *Connector) readDeal(ctx context.Context, conn *store.Connection, dealID string) (deal, error) {
	q := url.Values{}
	q.Set("properties", strings.Join(dealProperties, ","))
	q.Set("associations", "contacts,companies")
	path := "/crm/v3/objects/deals/" + url.PathEscape(dealID) + "?" + q.Encode()

	var d deal
	if err := c.call(ctx, conn, request{method: http.MethodGet, path: path}, &d); err != nil {
		return d, fmt.Errorf("read deal %s: %w", dealID, err)
	}
	return d, nil
}

// dealEvent re-reads a deal and builds the normalized event: stage
// outcome, primary contact and primary company.
func (c *Connector) dealEvent(ctx context.Context, conn *store.Connection, dealID string, kind crm.Kind) (crm.Event, error) {
	d, err := c.readDeal(ctx, conn, dealID)
	if err != nil {
		return crm.Event{}, err
	}
	ev := c.baseEvent(conn, d, kind)

	info, err := c.stageOutcome(ctx, conn, d.Properties["pipeline"], d.Properties["dealstage"])
	if err != nil {
		return crm.Event{}, err
	}
	ev.Outcome, ev.StatusLabel = info.Outcome, info.Label

	contactID, err := c.primaryContactID(ctx, conn, d)
	if err != nil {
		return crm.Event{}, err
	}
	if contactID != "" {
		if err := c.fillContact(ctx, conn, contactID, &ev); err != nil {
			return crm.Event{}, err
		}
	}

	if companyID := primaryCompanyID(d); companyID != "" {
		name, err := c.companyName(ctx, conn, companyID)
		if err != nil {
			return crm.Event{}, err
		}
		ev.ClientCompany = name
	}
	return ev, nil
}

// baseEvent fills the fields that come from the deal's own properties.
func (c *Connector) baseEvent(conn *store.Connection, d deal, kind crm.Kind) crm.Event {
	id := d.ID
	if id == "" {
		id = d.Properties["hs_object_id"]
	}
	return crm.Event{
		Provider:     crm.HubSpot,
		ConnectionID: conn.ID,
		Kind:         kind,
		EntityType:   crm.HubSpot.EntityType(),
		EntityID:     id,
		EntityName:   d.Properties["dealname"],
		Version:      firstTime(d.Properties["hs_lastmodifieddate"], d.UpdatedAt),
		CreatedAt:    firstTime(d.Properties["createdate"], d.CreatedAt),
	}
}

// primaryContactID picks the contact whose v4 association label equals
// PrimaryLabel (case-insensitive), else the first associated contact.
// HubSpot has no built-in primary contact for deals.
func (c *Connector) primaryContactID(ctx context.Context, conn *store.Connection, d deal) (string, error) {
	var ordered []string
	after := ""
	for page := 0; page < 20; page++ {
		path := "/crm/v4/objects/deals/" + url.PathEscape(d.ID) + "/associations/contacts?limit=500"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		var assoc v4Associations
		if err := c.call(ctx, conn, request{method: http.MethodGet, path: path}, &assoc); err != nil {
			if errors.Is(err, errNotFound) {
				break
			}
			return "", fmt.Errorf("read contacts of deal %s: %w", d.ID, err)
		}
		for _, r := range assoc.Results {
			id := string(r.ToObjectID)
			ordered = append(ordered, id)
			for _, t := range r.AssociationTypes {
				if strings.EqualFold(strings.TrimSpace(t.Label), c.cfg.PrimaryLabel) {
					return id, nil
				}
			}
		}
		if assoc.Paging == nil || assoc.Paging.Next == nil || assoc.Paging.Next.After == "" {
			break
		}
		after = assoc.Paging.Next.After
	}

	if len(ordered) > 0 {
		return ordered[0], nil
	}
	if inline := d.Associations["contacts"].Results; len(inline) > 0 {
		return inline[0].ID, nil
	}
	return "", nil
}

// fillContact batch-reads the contact and sets the client name and email.
func (c *Connector) fillContact(ctx context.Context, conn *store.Connection, contactID string, ev *crm.Event) error {
	body := map[string]any{
		"properties": []string{"email", "firstname", "lastname", "company"},
		"inputs":     []map[string]string{{"id": contactID}},
	}
	var batch objectBatch
	err := c.call(ctx, conn, request{method: http.MethodPost, path: "/crm/v3/objects/contacts/batch/read", body: body}, &batch)
	if err != nil {
		return fmt.Errorf("read contact %s: %w", contactID, err)
	}
	for _, r := range batch.Results {
		if r.ID != contactID {
			continue
		}
		p := r.Properties
		ev.ClientName = strings.TrimSpace(p["firstname"] + " " + p["lastname"])
		if email := strings.TrimSpace(p["email"]); email != "" {
			ev.ClientEmails = []string{email}
		}
	}
	return nil
}

// primaryCompanyID returns the company associated with type 5, which the
// v3 inline list calls deal_to_company, else the first company.
func primaryCompanyID(d deal) string {
	companies := d.Associations["companies"].Results
	for _, a := range companies {
		if a.Type == "deal_to_company" || a.Type == "5" {
			return a.ID
		}
	}
	if len(companies) > 0 {
		return companies[0].ID
	}
	return ""
}

func (c *Connector) companyName(ctx context.Context, conn *store.Connection, companyID string) (string, error) {
	var co object
	path := "/crm/v3/objects/companies/" + url.PathEscape(companyID) + "?properties=name,domain"
	err := c.call(ctx, conn, request{method: http.MethodGet, path: path}, &co)
	if errors.Is(err, errNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read company %s: %w", companyID, err)
	}
	return co.Properties["name"], nil
}

// parseHubSpotTime reads an ISO-8601 timestamp or epoch milliseconds.
func parseHubSpotTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

func firstTime(values ...string) time.Time {
	for _, v := range values {
		if t, ok := parseHubSpotTime(v); ok {
			return t
		}
	}
	return time.Time{}
}
