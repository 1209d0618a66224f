package clio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

const (
	// maxRateRetries bounds how often one call waits out a 429.
	maxRateRetries = 3
	// maxRateWait is the longest wait for the rate limit window inside one
	// call; a longer wait returns crm.ErrPaused so the scheduler retries later.
	maxRateWait = 2 * time.Minute
	// maxErrorBody bounds how much of a Clio error body goes into an error.
	maxErrorBody = 300
)

// session serializes the API calls of one connection, because Clio limits
// requests per access token, and remembers the last rate limit headers.
type session struct {
	mu        sync.Mutex
	remaining int
	resetAt   time.Time
}

func (c *Connector) sessionFor(connectionID string) *session {
	c.mu.Lock()
	defer c.mu.Unlock()

	s, ok := c.sessions[connectionID]
	if !ok {
		s = &session{remaining: -1}
		c.sessions[connectionID] = s
	}
	return s
}

func (c *Connector) dropSession(connectionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, connectionID)
}

// request is one call to Clio. path is either a path on the connection's
// host or an absolute next-page URL returned by Clio.
type request struct {
	method string
	path   string
	// query is already encoded; fields lists stay unencoded on purpose,
	// the way Clio's own examples send braces and commas.
	query string
	body  any
	form  url.Values
}

// apiError is a non-2xx response from Clio.
type apiError struct {
	Method string
	Path   string
	Status int
	Body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("clio %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// hasStatus reports whether err is an apiError with that HTTP status.
func hasStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// call sends req for a stored connection: it refreshes the access token when
// it is due or once when Clio returns 401, waits out rate limits and decodes
// a 2xx JSON body into out (when out is not nil).
func (c *Connector) call(ctx context.Context, connectionID string, req request, out any) (http.Header, error) {
	s := c.sessionFor(connectionID)
	s.mu.Lock()
	defer s.mu.Unlock()

	conn, err := c.loadConnection(connectionID)
	if err != nil {
		return nil, err
	}
	if conn.State == store.ConnectionBroken {
		return nil, fmt.Errorf("clio connection %s: %w", connectionID, crm.ErrBroken)
	}
	if tokenDue(conn, time.Now()) {
		if conn, err = c.refresh(ctx, conn); err != nil {
			return nil, err
		}
	}

	refreshed := false
	for attempt := 0; ; attempt++ {
		header, body, status, err := c.send(ctx, s, c.hostFor(conn.Region), conn.AccessToken, req)
		if err != nil {
			return nil, err
		}

		switch {
		case status == http.StatusUnauthorized && !refreshed:
			c.log.Info().Str("connection_id", connectionID).Msg("clio returned 401; refreshing the access token once")
			if conn, err = c.refresh(ctx, conn); err != nil {
				return nil, err
			}
			refreshed = true
			continue
		case status == http.StatusTooManyRequests && attempt < maxRateRetries:
			wait := retryAfter(header, time.Now())
			c.log.Warn().Str("connection_id", connectionID).Dur("retry_after", wait).Int("attempt", attempt+1).Msg("clio rate limit reached; waiting")
			if err := waitFor(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case status < 200 || status > 299:
			return header, &apiError{Method: req.method, Path: req.path, Status: status, Body: truncate(string(body), maxErrorBody)}
		}

		if out != nil && len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, out); err != nil {
				return header, fmt.Errorf("decode clio %s %s: %w", req.method, req.path, err)
			}
		}
		return header, nil
	}
}

// send performs one HTTP exchange with token. s may be nil for calls made
// before a connection exists; with a session it first waits for the rate
// limit window when the last response left no requests.
func (c *Connector) send(ctx context.Context, s *session, host, token string, req request) (http.Header, []byte, int, error) {
	if s != nil && s.remaining == 0 {
		wait := time.Until(s.resetAt)
		if wait > maxRateWait {
			return nil, nil, 0, fmt.Errorf("clio rate limit resets at %s: %w", s.resetAt.Format(time.RFC3339), crm.ErrPaused)
		}
		if err := waitFor(ctx, wait); err != nil {
			return nil, nil, 0, err
		}
	}

	target, err := requestURL(host, req)
	if err != nil {
		return nil, nil, 0, err
	}
	var body io.Reader
	contentType := ""
	switch {
	case req.form != nil:
		body = strings.NewReader(req.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	case req.body != nil:
		raw, err := json.Marshal(req.body)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("encode clio %s %s: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(raw)
		contentType = "application/json"
	}

	hr, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("build clio request %s %s: %w", req.method, req.path, err)
	}
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("X-API-VERSION", apiVersion)
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}

	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("clio %s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read clio %s %s: %w", req.method, req.path, err)
	}

	if s != nil {
		s.noteRateLimit(resp.Header)
	}
	return resp.Header, raw, resp.StatusCode, nil
}

// requestURL builds the URL of req. An absolute URL (a next-page link) must
// stay on host, so the bearer token never goes anywhere else.
func requestURL(host string, req request) (string, error) {
	if strings.HasPrefix(req.path, "http://") || strings.HasPrefix(req.path, "https://") {
		if !strings.HasPrefix(req.path, host+"/") {
			return "", fmt.Errorf("clio returned a page link %q outside %s; refusing to follow it", req.path, host)
		}
		return req.path, nil
	}
	target := host + req.path
	if req.query != "" {
		target += "?" + req.query
	}
	return target, nil
}

// noteRateLimit stores X-RateLimit-Remaining and X-RateLimit-Reset (a Unix
// time) from a response.
func (s *session) noteRateLimit(h http.Header) {
	remaining, err := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err != nil {
		return
	}
	s.remaining = remaining
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		s.resetAt = time.Unix(reset, 0)
	} else {
		s.resetAt = time.Now().Add(time.Minute)
	}
}

// retryAfter reads the wait a 429 response requests: Retry-After in seconds
// or as an HTTP date, Retry-At (the name one Clio support article uses), then
// X-RateLimit-Reset. Without any of them it waits one second.
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"Retry-After", "Retry-At"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if secs, err := strconv.Atoi(v); err == nil {
			return time.Duration(secs) * time.Second
		}
		if at, err := http.ParseTime(v); err == nil {
			return at.Sub(now)
		}
	}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		return time.Unix(reset, 0).Sub(now)
	}
	return time.Second
}

// waitFor sleeps for d, capped at maxRateWait, or until ctx ends.
func waitFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if d > maxRateWait {
		return fmt.Errorf("clio requests a wait of %s: %w", d.Round(time.Second), crm.ErrPaused)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// loadConnection reads a connection and checks that it is a Clio one.
func (c *Connector) loadConnection(id string) (store.Connection, error) {
	var conn store.Connection
	err := c.store.View(func(tx *store.Tx) error {
		var err error
		conn, err = tx.Connection(id)
		return err
	})
	if err != nil {
		return conn, fmt.Errorf("load clio connection: %w", err)
	}
	if conn.Provider != string(crm.Clio) {
		return conn, fmt.Errorf("connection %s belongs to %s, not clio: %w", id, conn.Provider, store.ErrNotFound)
	}
	return conn, nil
}

// updateConnection applies fn to the stored connection inside one
// transaction, so concurrent writers never lose each other's changes.
func (c *Connector) updateConnection(id string, fn func(conn *store.Connection) error) (store.Connection, error) {
	var conn store.Connection
	err := c.store.Update(func(tx *store.Tx) error {
		var err error
		if conn, err = tx.Connection(id); err != nil {
			return err
		}
		if err := fn(&conn); err != nil {
			return err
		}
		return tx.PutConnection(&conn)
	})
	if err != nil {
		return conn, fmt.Errorf("update clio connection %s: %w", id, err)
	}
	return conn, nil
}
