package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// maxSearchRequestsPerPoll bounds one poll; at 5 requests a second it is
// a little over three minutes of paging (400,000 deals at 200 per page).
const maxSearchRequestsPerPoll = 2000

// webhookTolerance is how far a webhook's occurredAt may trail the deal's
// hs_lastmodifieddate and still count as having delivered that change.
//
// NOTE: an estimate. HubSpot does not document how occurredAt relates to
// hs_lastmodifieddate; they are written by the same change.
const webhookTolerance = 2 * time.Second

type searchBody struct {
	FilterGroups []filterGroup `json:"filterGroups"`
	Sorts        []sortSpec    `json:"sorts,omitempty"`
	Properties   []string      `json:"properties,omitempty"`
	Limit        int           `json:"limit"`
	After        string        `json:"after,omitempty"`
}

type filterGroup struct {
	Filters []filter `json:"filters"`
}

type filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type sortSpec struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

type searchResponse struct {
	Total   int     `json:"total"`
	Results []deal  `json:"results"`
	Paging  *paging `json:"paging"`
}

// pollRun carries the state of one poll.
type pollRun struct {
	conn     store.Connection
	previous time.Time // cursor before this poll; zero on the first poll
	maxSeen  time.Time
	requests int
	result   crm.PollResult
}

// Poll searches deals modified since the cursor minus an overlap, enqueues
// each version once, and advances the cursor. Deletions never appear in
// search results; only webhooks report them.
func (c *Connector) Poll(ctx context.Context, connectionID string) (crm.PollResult, error) {
	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return crm.PollResult{}, err
	}
	now := c.now()
	if conn.State == store.ConnectionBroken {
		return crm.PollResult{Cursor: conn.Health.Cursor}, fmt.Errorf("poll connection %s: %w", connectionID, crm.ErrBroken)
	}
	if now.Before(conn.Health.PausedUntil) {
		return crm.PollResult{Cursor: conn.Health.Cursor}, fmt.Errorf("poll connection %s: HubSpot daily limit reached, paused until %s: %w", connectionID, conn.Health.PausedUntil.Format(time.RFC3339), crm.ErrPaused)
	}

	run := &pollRun{conn: conn, previous: conn.Health.Cursor, maxSeen: conn.Health.Cursor}
	run.result.Cursor = conn.Health.Cursor
	since := time.Time{}
	if !run.previous.IsZero() {
		since = run.previous.Add(-c.pollOverlap)
	}

	err = c.searchModified(ctx, run, since)
	c.finishPoll(run, now, err)
	if err != nil {
		c.log.Warn().Err(err).Str("connection_id", connectionID).Int("fetched", run.result.Fetched).Msg("poll failed")
		return run.result, fmt.Errorf("poll connection %s: %w", connectionID, err)
	}
	c.log.Debug().Str("connection_id", connectionID).Int("fetched", run.result.Fetched).Int("queued", run.result.Queued).Int("missed", run.result.Missed).Msg("poll finished")
	return run.result, nil
}

// searchModified pages through deals with hs_lastmodifieddate >= since in
// ascending order. Search stops at a fixed number of results per query
// (10,000), so before paging past it the search restarts from the last
// modification time seen. When a whole window shares one millisecond, that
// millisecond is drained by object id instead.
func (c *Connector) searchModified(ctx context.Context, run *pollRun, since time.Time) error {
	windowStart := since
	after := ""
	var last deal
	for {
		body := c.pollSearchBody([]filter{{PropertyName: "hs_lastmodifieddate", Operator: "GTE", Value: msString(windowStart)}}, "hs_lastmodifieddate", after)
		resp, err := c.searchPage(ctx, run, body)
		if err != nil {
			return err
		}
		if err := c.enqueuePolled(run, resp.Results); err != nil {
			return err
		}
		if len(resp.Results) == 0 {
			return nil
		}
		last = resp.Results[len(resp.Results)-1]

		offset, _ := strconv.Atoi(after)
		next := nextAfter(resp)
		if next < 0 && resp.Total <= offset+len(resp.Results) {
			return nil
		}
		// A missing next page with results left over means the cap ended the
		// paging, so the window restarts like below.
		if next >= 0 && next+c.searchPageSize <= c.searchResultCap {
			after = strconv.Itoa(next)
			continue
		}

		lastModified, _ := parseHubSpotTime(last.Properties["hs_lastmodifieddate"])
		if !lastModified.After(windowStart) {
			c.log.Info().Str("connection_id", run.conn.ID).Time("modified", lastModified).Msg("search window full of one millisecond, draining it by object id")
			if err := c.drainMillisecond(ctx, run, lastModified); err != nil {
				return err
			}
			lastModified = lastModified.Add(time.Millisecond)
		}
		windowStart, after = lastModified, ""
	}
}

// drainMillisecond reads every deal modified exactly at t, in object id
// order, restarting past the result cap from the last id seen.
func (c *Connector) drainMillisecond(ctx context.Context, run *pollRun, t time.Time) error {
	lastID := "0"
	after := ""
	for {
		filters := []filter{
			{PropertyName: "hs_lastmodifieddate", Operator: "EQ", Value: msString(t)},
			{PropertyName: "hs_object_id", Operator: "GT", Value: lastID},
		}
		resp, err := c.searchPage(ctx, run, c.pollSearchBody(filters, "hs_object_id", after))
		if err != nil {
			return err
		}
		if err := c.enqueuePolled(run, resp.Results); err != nil {
			return err
		}
		if len(resp.Results) > 0 {
			lastID = resp.Results[len(resp.Results)-1].ID
		}

		next := nextAfter(resp)
		switch {
		case next < 0:
			return nil
		case next+c.searchPageSize <= c.searchResultCap:
			after = strconv.Itoa(next)
		default:
			after = ""
		}
	}
}

func (c *Connector) pollSearchBody(filters []filter, sortBy, after string) searchBody {
	return searchBody{
		FilterGroups: []filterGroup{{Filters: filters}},
		Sorts:        []sortSpec{{PropertyName: sortBy, Direction: "ASCENDING"}},
		Properties:   dealProperties,
		Limit:        c.searchPageSize,
		After:        after,
	}
}

func (c *Connector) searchPage(ctx context.Context, run *pollRun, body searchBody) (searchResponse, error) {
	var resp searchResponse
	run.requests++
	if run.requests > maxSearchRequestsPerPoll {
		return resp, fmt.Errorf("poll stopped after %d search requests; the next poll continues from the cursor", maxSearchRequestsPerPoll)
	}
	err := c.call(ctx, &run.conn, request{method: http.MethodPost, path: "/crm/v3/objects/deals/search", body: body, search: true}, &resp)
	if err != nil {
		return resp, fmt.Errorf("search deals: %w", err)
	}
	return resp, nil
}

// nextAfter returns the next page's offset, or -1 on the last page.
func nextAfter(resp searchResponse) int {
	if resp.Paging == nil || resp.Paging.Next == nil || resp.Paging.Next.After == "" {
		return -1
	}
	n, err := strconv.Atoi(resp.Paging.Next.After)
	if err != nil {
		return -1
	}
	return n
}

// enqueuePolled stores one inbox item per deal version in one transaction.
// A deal counts as created when its createdate is after the previous
// cursor, and as missed when neither the entity mirror nor a webhook had
// seen this version.
func (c *Connector) enqueuePolled(run *pollRun, deals []deal) error {
	if len(deals) == 0 {
		return nil
	}
	first := run.previous.IsZero()

	return c.st.Update(func(tx *store.Tx) error {
		queued, missed := 0, 0
		for _, d := range deals {
			modifiedRaw := d.Properties["hs_lastmodifieddate"]
			modified, ok := parseHubSpotTime(modifiedRaw)
			if !ok {
				c.log.Warn().Str("connection_id", run.conn.ID).Str("deal_id", d.ID).Msg("polled deal without hs_lastmodifieddate skipped")
				continue
			}
			created, _ := parseHubSpotTime(d.Properties["createdate"])
			payload, err := json.Marshal(pollHint{
				DealID:   d.ID,
				Created:  !first && created.After(run.previous),
				Modified: modifiedRaw,
			})
			if err != nil {
				return fmt.Errorf("encode poll item: %w", err)
			}

			n, err := tx.Enqueue(store.InboxItem{
				Key:          fmt.Sprintf("hubspot:poll:%s:deal:%s:%s", run.conn.ID, d.ID, modifiedRaw),
				Provider:     string(crm.HubSpot),
				ConnectionID: run.conn.ID,
				Source:       "poll",
				Payload:      payload,
			})
			if err != nil {
				return err
			}
			queued += n
			if n == 1 && !first && missedByWebhooks(tx, run.conn.ID, d.ID, modified) {
				missed++
			}
			if modified.After(run.maxSeen) {
				run.maxSeen = modified
			}
		}
		run.result.Fetched += len(deals)
		run.result.Queued += queued
		run.result.Missed += missed
		return nil
	})
}

func missedByWebhooks(tx *store.Tx, connectionID, dealID string, modified time.Time) bool {
	if e, err := tx.Entity(connectionID, crm.HubSpot.EntityType(), dealID); err == nil && !e.Version.Before(modified) {
		return false
	}
	raw, ok := tx.GetValue(webhookSeenKey(connectionID, dealID))
	if !ok {
		return true
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return true
	}
	return time.UnixMilli(ms).Before(modified.Add(-webhookTolerance))
}

// finishPoll records the poll's outcome on the connection's health. The
// cursor only moves after a poll that read every page.
func (c *Connector) finishPoll(run *pollRun, now time.Time, pollErr error) {
	var daily *dailyLimitError
	err := c.updateConnection(run.conn.ID, func(conn *store.Connection) {
		conn.Health.LastPollAt = now
		conn.Health.MissedByWebhooks += run.result.Missed
		if pollErr != nil {
			conn.Health.LastPollError = pollErr.Error()
			if errors.As(pollErr, &daily) {
				conn.Health.PausedUntil = daily.until
			}
			return
		}

		conn.Health.LastPollError = ""
		conn.Health.PausedUntil = time.Time{}
		cursor := run.maxSeen
		if cursor.IsZero() {
			// Nothing was ever seen: start the next poll's window here, so
			// that deals created from now on count as created.
			cursor = now.Add(-c.pollOverlap)
		}
		conn.Health.Cursor = cursor
		run.result.Cursor = cursor
	})
	if err != nil {
		c.log.Error().Err(err).Str("connection_id", run.conn.ID).Msg("store poll health failed")
	}
}

func msString(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}
