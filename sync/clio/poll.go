package clio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

const (
	// pollOverlap is subtracted from the cursor, so records saved close to
	// the previous poll are listed again. The inbox key drops the versions
	// already queued.
	pollOverlap = 2 * time.Minute
	// pageLimit is Clio's maximum page size.
	pageLimit = 200
	// maxPages bounds one listing (200 records each).
	maxPages = 5000
	// extraBoundaryIDs is the Connection.Extra key listing the matters
	// created in the cursor's own second that a poll already saw. Clio
	// timestamps have one-second resolution, so created_at equal to the
	// cursor alone cannot tell a new matter from a seen one.
	extraBoundaryIDs = "poll_boundary_matter_ids"
)

// polled is one listed record with the fields the poller reads.
type polled struct {
	model string
	head  listHeader
	raw   json.RawMessage
}

// Poll lists matters and bills updated since the cursor (minus
// pollOverlap), queues each version once and advances the cursor. On the
// first poll nothing counts as created or missed, so connecting an account
// does not auto-link its whole history.
func (c *Connector) Poll(ctx context.Context, connectionID string) (crm.PollResult, error) {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return crm.PollResult{}, err
	}
	if conn.State == store.ConnectionBroken {
		return crm.PollResult{}, fmt.Errorf("poll clio connection %s: %w", connectionID, crm.ErrBroken)
	}

	prev := conn.Health.Cursor
	first := prev.IsZero()
	started := time.Now().UTC()

	var records []polled
	var clioNow time.Time
	for _, list := range []struct{ model, path, fields string }{
		{"matter", "/api/v4/matters.json", matterFields},
		{"bill", "/api/v4/bills.json", billFields},
	} {
		found, serverTime, err := c.listUpdated(ctx, connectionID, list.model, list.path, list.fields, prev)
		if err != nil {
			c.recordPollError(connectionID, started, err)
			return crm.PollResult{}, err
		}
		records = append(records, found...)
		if clioNow.IsZero() {
			clioNow = serverTime
		}
	}

	result := crm.PollResult{Fetched: len(records)}
	cursor := prev
	for _, r := range records {
		if t := parseTime(r.head.UpdatedAt); t.After(cursor) {
			cursor = t
		}
	}
	if cursor.IsZero() {
		// An empty account: start from Clio's clock, so the next poll can
		// tell new matters from old ones.
		cursor = clioNow
		if cursor.IsZero() {
			cursor = started
		}
	}
	result.Cursor = cursor

	err = c.store.Update(func(tx *store.Tx) error {
		cur, err := tx.Connection(connectionID)
		if err != nil {
			return err
		}
		seen := boundarySet(cur.Extra[extraBoundaryIDs])
		queued, missed, err := c.enqueuePolled(tx, cur, records, prev, first, seen)
		if err != nil {
			return err
		}
		result.Queued, result.Missed = queued, missed

		cur.Health.LastPollAt = started
		cur.Health.LastPollError = ""
		cur.Health.Cursor = cursor
		cur.Health.MissedByWebhooks += missed
		if cur.Extra == nil {
			cur.Extra = map[string]string{}
		}
		cur.Extra[extraBoundaryIDs] = boundaryIDs(records, cursor, prev, seen)
		return tx.PutConnection(&cur)
	})
	if err != nil {
		return crm.PollResult{}, fmt.Errorf("store clio poll of connection %s: %w", connectionID, err)
	}

	c.log.Info().Str("connection_id", connectionID).Int("fetched", result.Fetched).Int("queued", result.Queued).Int("missed", result.Missed).Time("cursor", cursor).Msg("clio poll finished")
	return result, nil
}

// enqueuePolled queues each record version not seen before and counts the
// ones no webhook had delivered.
func (c *Connector) enqueuePolled(tx *store.Tx, conn store.Connection, records []polled, prev time.Time, first bool, seen map[string]bool) (queued, missed int, err error) {
	for _, r := range records {
		key := fmt.Sprintf("clio:poll:%s:%s:%s:%s", conn.ID, r.model, r.head.ID, r.head.UpdatedAt)
		if tx.HasInboxKey(key) {
			continue
		}

		kind := crm.EntityChanged
		if r.model == "matter" && !first {
			createdAt := parseTime(r.head.CreatedAt)
			if createdAt.After(prev) || (createdAt.Equal(prev) && !seen[string(r.head.ID)]) {
				kind = crm.EntityCreated
			}
		}
		payload, err := json.Marshal(pollPayload{Model: r.model, Kind: kind, Data: r.raw})
		if err != nil {
			return queued, missed, fmt.Errorf("encode polled %s %s: %w", r.model, r.head.ID, err)
		}
		n, err := tx.Enqueue(store.InboxItem{
			Key:          key,
			Provider:     string(crm.Clio),
			ConnectionID: conn.ID,
			Source:       "poll",
			Payload:      payload,
		})
		if err != nil {
			return queued, missed, err
		}
		queued += n

		if !first && n > 0 && c.missedByWebhooks(tx, conn, r) {
			missed++
		}
	}
	return queued, missed, nil
}

func boundarySet(list string) map[string]bool {
	out := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		if id != "" {
			out[id] = true
		}
	}
	return out
}

// boundaryIDs lists the matters created in the new cursor's second, plus
// the earlier ones when the cursor did not move.
func boundaryIDs(records []polled, cursor, prev time.Time, seen map[string]bool) string {
	ids := map[string]bool{}
	if cursor.Equal(prev) {
		ids = seen
	}
	for _, r := range records {
		if r.model == "matter" && parseTime(r.head.CreatedAt).Equal(cursor) {
			ids[string(r.head.ID)] = true
		}
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	return strings.Join(list, ",")
}

// missedByWebhooks reports whether no webhook delivered this version: no
// delivery with its etag was ever queued and, for matters, the mirror holds
// an older version.
func (c *Connector) missedByWebhooks(tx *store.Tx, conn store.Connection, r polled) bool {
	for id, wh := range conn.Webhooks {
		if wh.Model != r.model {
			continue
		}
		for _, event := range wh.Events {
			if tx.HasInboxKey(webhookKey(conn.ID, id, string(r.head.ID), event, r.head.Etag, nil)) {
				return false
			}
		}
	}
	if r.model != "matter" {
		return true
	}
	e, err := tx.Entity(conn.ID, "matter", string(r.head.ID))
	if err != nil {
		return true
	}
	return e.Version.Before(parseTime(r.head.UpdatedAt))
}

// listUpdated pages through one list endpoint with cursor paging
// (order=id(asc), following meta.paging.next verbatim). It also returns
// Clio's clock from the first response's Date header.
func (c *Connector) listUpdated(ctx context.Context, connectionID, model, path, fields string, since time.Time) ([]polled, time.Time, error) {
	q := url.Values{"order": {"id(asc)"}, "limit": {fmt.Sprint(pageLimit)}}
	if !since.IsZero() {
		q.Set("updated_since", since.Add(-pollOverlap).UTC().Format(time.RFC3339))
	}
	req := request{method: http.MethodGet, path: path, query: q.Encode() + "&fields=" + fields}

	var out []polled
	var clioNow time.Time
	for page := 0; page < maxPages; page++ {
		var body struct {
			Data []json.RawMessage `json:"data"`
			Meta struct {
				Paging struct {
					Next string `json:"next"`
				} `json:"paging"`
			} `json:"meta"`
		}
		header, err := c.call(ctx, connectionID, req, &body)
		if err != nil {
			return nil, clioNow, fmt.Errorf("list clio %ss: %w", model, err)
		}
		if page == 0 {
			if t, err := http.ParseTime(header.Get("Date")); err == nil {
				clioNow = t.UTC()
			}
		}

		for _, raw := range body.Data {
			var head listHeader
			if err := json.Unmarshal(raw, &head); err != nil {
				return nil, clioNow, fmt.Errorf("decode listed clio %s: %w", model, err)
			}
			out = append(out, polled{model: model, head: head, raw: raw})
		}
		if body.Meta.Paging.Next == "" {
			return out, clioNow, nil
		}
		req = request{method: http.MethodGet, path: body.Meta.Paging.Next}
	}
	return nil, clioNow, fmt.Errorf("list clio %ss: more than %d pages; stopping", model, maxPages)
}

func (c *Connector) recordPollError(connectionID string, at time.Time, cause error) {
	c.log.Error().Err(cause).Str("connection_id", connectionID).Msg("clio poll failed")
	_, err := c.updateConnection(connectionID, func(cur *store.Connection) error {
		cur.Health.LastPollAt = at
		cur.Health.LastPollError = cause.Error()
		return nil
	})
	if err != nil {
		c.log.Error().Err(err).Str("connection_id", connectionID).Msg("unable to record the clio poll error")
	}
}
