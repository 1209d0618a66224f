package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// pollHint is the payload of an inbox item written by Poll.
type pollHint struct {
	DealID   string `json:"deal_id"`
	Created  bool   `json:"created"`
	Modified string `json:"hs_lastmodifieddate"`
}

// Resolve turns an inbox item into events. Webhook events are hints: the
// deal is read again, so the event reflects HubSpot's current state rather
// than the order in which deliveries arrived. Only creations yield
// EntityCreated; a deletion yields EntityDeleted without a read.
func (c *Connector) Resolve(ctx context.Context, item store.InboxItem) ([]crm.Event, error) {
	conn, err := c.loadConnection(item.ConnectionID)
	if err != nil {
		return nil, err
	}
	if conn.State == store.ConnectionBroken {
		return nil, fmt.Errorf("resolve inbox item %d of connection %s: %w", item.Seq, conn.ID, crm.ErrBroken)
	}

	if item.Source == "poll" {
		var hint pollHint
		if err := json.Unmarshal(item.Payload, &hint); err != nil {
			return nil, fmt.Errorf("decode poll item %s: %w", item.Key, err)
		}
		kind := crm.EntityChanged
		if hint.Created {
			kind = crm.EntityCreated
		}
		return c.resolveDeal(ctx, &conn, item.Key, hint.DealID, kind)
	}

	var ev webhookEvent
	if err := json.Unmarshal(item.Payload, &ev); err != nil {
		return nil, fmt.Errorf("decode webhook item %s: %w", item.Key, err)
	}
	dealID := strconv.FormatInt(ev.dealID(), 10)

	switch ev.action() {
	case "deletion":
		return []crm.Event{deletedEvent(&conn, item.Key, dealID, ev.OccurredAt)}, nil
	case "creation":
		return c.resolveDeal(ctx, &conn, item.Key, dealID, crm.EntityCreated)
	case "merge":
		return c.resolveMerge(ctx, &conn, item.Key, ev)
	}
	return c.resolveDeal(ctx, &conn, item.Key, dealID, crm.EntityChanged)
}

// resolveDeal re-reads a deal. A deal gone from HubSpot yields no events:
// its deletion event, when subscribed, reports it.
func (c *Connector) resolveDeal(ctx context.Context, conn *store.Connection, key, dealID string, kind crm.Kind) ([]crm.Event, error) {
	ev, err := c.dealEvent(ctx, conn, dealID, kind)
	if errors.Is(err, errNotFound) {
		c.log.Info().Str("connection_id", conn.ID).Str("event_id", key).Str("deal_id", dealID).Msg("deal no longer exists, event skipped")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ev.ID = key
	return []crm.Event{ev}, nil
}

// resolveMerge reports the surviving deal as changed and every other
// merged deal as deleted.
func (c *Connector) resolveMerge(ctx context.Context, conn *store.Connection, key string, ev webhookEvent) ([]crm.Event, error) {
	survivor := ev.dealID()
	events, err := c.resolveDeal(ctx, conn, key, strconv.FormatInt(survivor, 10), crm.EntityChanged)
	if err != nil {
		return nil, err
	}
	for _, id := range ev.MergedObjectIDs {
		if id != survivor && id != 0 {
			gone := strconv.FormatInt(id, 10)
			events = append(events, deletedEvent(conn, key+":merged:"+gone, gone, ev.OccurredAt))
		}
	}
	return events, nil
}

func deletedEvent(conn *store.Connection, key, dealID string, occurredAt int64) crm.Event {
	return crm.Event{
		ID:           key,
		Provider:     crm.HubSpot,
		ConnectionID: conn.ID,
		Kind:         crm.EntityDeleted,
		EntityType:   crm.HubSpot.EntityType(),
		EntityID:     dealID,
		Version:      time.UnixMilli(occurredAt).UTC(),
	}
}

// Fetch reads one deal for a manual link.
func (c *Connector) Fetch(ctx context.Context, connectionID, entityID string) (crm.Event, error) {
	entityID = strings.TrimSpace(entityID)
	if _, err := strconv.ParseUint(entityID, 10, 64); err != nil {
		return crm.Event{}, crm.Errorf("entity_id", "%q is not a HubSpot deal id: use the number in the deal's URL", entityID)
	}
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return crm.Event{}, err
	}

	ev, err := c.dealEvent(ctx, &conn, entityID, crm.EntityChanged)
	if errors.Is(err, errNotFound) {
		return crm.Event{}, crm.Errorf("entity_id", "deal %s not found in HubSpot portal %s", entityID, conn.PortalID)
	}
	if err != nil {
		return crm.Event{}, err
	}
	ev.ID = fmt.Sprintf("hubspot:fetch:%s:deal:%s:%d", conn.ID, entityID, ev.Version.UnixMilli())
	return ev, nil
}

// searchLimit caps the deals returned to the link dialog.
const searchLimit = 20

// Search finds deals whose name contains each of the query's words, for the link
// dialog. Results carry name, stage outcome and dates but no contact, to
// keep the dialog to one search call plus cached pipelines.
func (c *Connector) Search(ctx context.Context, connectionID, query string) ([]crm.Event, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, crm.Errorf("q", "missing: type part of the deal name")
	}
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return nil, err
	}

	// Filters of one group must all match, and a group holds at most 6.
	var filters []filter
	for _, word := range strings.Fields(query) {
		if len(filters) == 6 {
			break
		}
		filters = append(filters, filter{PropertyName: "dealname", Operator: "CONTAINS_TOKEN", Value: "*" + word + "*"})
	}
	body := searchBody{
		FilterGroups: []filterGroup{{Filters: filters}},
		Sorts:        []sortSpec{{PropertyName: "hs_lastmodifieddate", Direction: "DESCENDING"}},
		Properties:   dealProperties,
		Limit:        searchLimit,
	}
	var resp searchResponse
	if err := c.call(ctx, &conn, request{method: http.MethodPost, path: "/crm/v3/objects/deals/search", body: body, search: true}, &resp); err != nil {
		return nil, fmt.Errorf("search deals for %q: %w", query, err)
	}

	events := make([]crm.Event, 0, len(resp.Results))
	for _, d := range resp.Results {
		ev := c.baseEvent(&conn, d, crm.EntityChanged)
		info, err := c.stageOutcome(ctx, &conn, d.Properties["pipeline"], d.Properties["dealstage"])
		if err != nil {
			return nil, err
		}
		ev.Outcome, ev.StatusLabel = info.Outcome, info.Label
		ev.ID = fmt.Sprintf("hubspot:search:%s:deal:%s:%d", conn.ID, ev.EntityID, ev.Version.UnixMilli())
		events = append(events, ev)
	}
	return events, nil
}

// Maintain refreshes the pipeline cache. HubSpot app webhooks are set per
// app and never expire, so there are no subscriptions to renew.
func (c *Connector) Maintain(ctx context.Context, connectionID string) error {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return err
	}
	if _, err := c.fetchPipelines(ctx, &conn); err != nil {
		return fmt.Errorf("maintain connection %s: %w", connectionID, err)
	}
	return nil
}
