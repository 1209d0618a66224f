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

// searchLimit bounds the matters one search returns to the link dialog.
const searchLimit = 25

// Search lists matters whose number, description or client name matches
// query, using Clio's own query filter.
func (c *Connector) Search(ctx context.Context, connectionID, query string) ([]crm.Event, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return []crm.Event{}, nil
	}

	q := url.Values{"query": {query}, "limit": {fmt.Sprint(searchLimit)}, "order": {"id(desc)"}}
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	req := request{method: http.MethodGet, path: "/api/v4/matters.json", query: q.Encode() + "&fields=" + matterFields}
	if _, err := c.call(ctx, connectionID, req, &out); err != nil {
		return nil, fmt.Errorf("search clio matters: %w", err)
	}

	events := make([]crm.Event, 0, len(out.Data))
	for _, raw := range out.Data {
		var m matter
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("decode clio matter: %w", err)
		}
		ev := c.matterEvent(connectionID, m, crm.EntityChanged)
		ev.ID = fmt.Sprintf("clio:search:%s:%s:%s", connectionID, m.ID, m.UpdatedAt)
		events = append(events, ev)
	}
	return events, nil
}

// Fetch reads one matter for a manual link. A matter Clio does not have
// returns an error wrapping store.ErrNotFound.
func (c *Connector) Fetch(ctx context.Context, connectionID, entityID string) (crm.Event, error) {
	m, err := c.fetchMatter(ctx, connectionID, strings.TrimSpace(entityID))
	if hasStatus(err, http.StatusNotFound) {
		return crm.Event{}, fmt.Errorf("clio matter %s: %w", entityID, store.ErrNotFound)
	}
	if err != nil {
		return crm.Event{}, fmt.Errorf("fetch clio matter %s: %w", entityID, err)
	}

	ev := c.matterEvent(connectionID, m, crm.EntityChanged)
	ev.ID = fmt.Sprintf("clio:fetch:%s:%s:%s", connectionID, m.ID, m.UpdatedAt)
	if err := c.addContactEmails(ctx, connectionID, m, crm.EntityCreated, &ev); err != nil {
		return crm.Event{}, err
	}
	return ev, nil
}
