package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// maxResponseBytes caps how much of one API response is read.
const maxResponseBytes = 16 << 20

// maxRateLimitRetries bounds the retries after secondly or ten-secondly 429s.
const maxRateLimitRetries = 3

// maxRetryAfter caps the wait taken from a Retry-After header.
const maxRetryAfter = 30 * time.Second

// errNotFound is a 404 from the API, such as a deleted deal.
var errNotFound = errors.New("not found in HubSpot")

// apiError is a non-2xx API response. HubSpot error bodies carry status,
// message, category and, on 429s, policyName, and any of them may be missing.
type apiError struct {
	StatusCode int
	Status     string `json:"status"`
	Message    string `json:"message"`
	Category   string `json:"category"`
	PolicyName string `json:"policyName"`
	ErrorType  string `json:"errorType"`
	retryAfter time.Duration
}

func (e *apiError) Error() string {
	detail := e.Message
	if detail == "" {
		detail = e.Category
	}
	if detail == "" {
		detail = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("HubSpot API returned %d: %s", e.StatusCode, detail)
}

// dailyLimitError is a 429 with the DAILY policy: no request succeeds
// until the account's daily quota resets.
type dailyLimitError struct {
	until time.Time
}

func (e *dailyLimitError) Error() string {
	return fmt.Sprintf("HubSpot daily API limit reached, paused until %s", e.until.Format(time.RFC3339))
}

func (e *dailyLimitError) Unwrap() error { return crm.ErrPaused }

// request describes one API call.
type request struct {
	method string
	path   string // path and query below BaseURL
	body   any
	// search marks CRM search calls, which share a 5-per-second limit per portal.
	search bool
}

// call sends an authorized request for conn, refreshing its token when it
// is about to expire or is rejected once, waiting out short rate limits,
// and decodes a 2xx JSON body into out. conn is updated in place when the
// token changes.
func (c *Connector) call(ctx context.Context, conn *store.Connection, req request, out any) error {
	if err := c.ensureToken(ctx, conn, false); err != nil {
		return err
	}

	refreshed := false
	for attempt := 0; ; attempt++ {
		if req.search {
			if err := c.searchLimiter(conn.PortalID).Wait(ctx); err != nil {
				return fmt.Errorf("wait for the HubSpot search rate limit: %w", err)
			}
		}

		err := c.send(ctx, conn.AccessToken, req, out)
		var apiErr *apiError
		if !errors.As(err, &apiErr) {
			return err
		}

		switch {
		case apiErr.StatusCode == http.StatusUnauthorized && conn.RefreshToken != "" && !refreshed:
			refreshed = true
			c.log.Info().Str("connection_id", conn.ID).Str("category", apiErr.Category).Msg("access token rejected, refreshing it")
			if err := c.ensureToken(ctx, conn, true); err != nil {
				return err
			}
			continue

		case apiErr.StatusCode == http.StatusUnauthorized && conn.RefreshToken == "":
			if conn.ID != "" {
				c.markBroken(conn.ID, "HubSpot rejected the app access token: create a new token in the HubSpot app and connect again")
			}
			return fmt.Errorf("%s %s for connection %s: %w: %w", req.method, req.path, conn.ID, apiErr, crm.ErrBroken)

		case apiErr.StatusCode == http.StatusTooManyRequests && apiErr.PolicyName == "DAILY":
			return &dailyLimitError{until: nextUTCMidnight(c.now())}

		case apiErr.StatusCode == http.StatusTooManyRequests && attempt < maxRateLimitRetries:
			wait := c.rateLimitWait(apiErr, req.search)
			c.log.Warn().Str("connection_id", conn.ID).Str("policy", apiErr.PolicyName).Dur("wait", wait).Int("attempt", attempt+1).Msg("rate limited by HubSpot, retrying")
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
}

// rateLimitWait returns how long to wait after a secondly or ten-secondly 429.
func (c *Connector) rateLimitWait(e *apiError, search bool) time.Duration {
	if e.retryAfter > 0 {
		return e.retryAfter
	}
	if search || e.PolicyName == "SECONDLY" {
		return c.secondlyBackoff
	}
	return c.tenSecondlyBackoff
}

// send performs one HTTP request with a bearer token.
func (c *Connector) send(ctx context.Context, token string, req request, out any) error {
	var body io.Reader
	if req.body != nil {
		raw, err := json.Marshal(req.body)
		if err != nil {
			return fmt.Errorf("encode %s %s body: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(raw)
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, c.cfg.BaseURL+req.path, body)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", req.method, req.path, err)
	}
	httpReq.Header.Set("Authorization", "Bearer "+token)
	httpReq.Header.Set("Accept", "application/json")
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(httpReq)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("read %s %s response: %w", req.method, req.path, err)
	}

	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", req.method, req.path, err)
	}
	return nil
}

func parseAPIError(resp *http.Response, raw []byte) *apiError {
	e := &apiError{}
	_ = json.Unmarshal(raw, e) // an unparsable body still yields the status code
	e.StatusCode = resp.StatusCode
	e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	return e
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date,
// capped at maxRetryAfter.
//
// NOTE: HubSpot does not document whether its API sends Retry-After or in
// which unit; the workflow docs use milliseconds. Values are read as seconds
// per RFC 9110, and the cap limits the damage of a millisecond value.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = time.Until(at)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// nextUTCMidnight returns the start of the next UTC day.
//
// NOTE: HubSpot does not document the time zone of its daily limit reset;
// UTC midnight may resume a few hours early, and the next 429 pauses again.
func nextUTCMidnight(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// updateConnection applies fn to the stored connection in one transaction.
func (c *Connector) updateConnection(connectionID string, fn func(conn *store.Connection)) error {
	return c.st.Update(func(tx *store.Tx) error {
		conn, err := tx.Connection(connectionID)
		if err != nil {
			return err
		}
		fn(&conn)
		return tx.PutConnection(&conn)
	})
}

// markBroken records that the user must connect HubSpot again.
func (c *Connector) markBroken(connectionID, message string) {
	err := c.updateConnection(connectionID, func(conn *store.Connection) {
		conn.State = store.ConnectionBroken
		conn.StateMessage = message
	})
	if err != nil {
		c.log.Error().Err(err).Str("connection_id", connectionID).Msg("mark connection broken failed")
		return
	}
	c.log.Warn().Str("connection_id", connectionID).Str("reason", message).Msg("connection marked broken")
}
