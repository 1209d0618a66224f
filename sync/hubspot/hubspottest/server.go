// Package hubspottest runs a fake HubSpot on 127.0.0.1 for tests and demo
// mode: OAuth with expiring tokens, deals, contacts, companies, v3 and v4
// associations with labels, pipelines, CRM search with its result cap and
// rate limits, and signed webhook deliveries to a configured URL. Its wire
// shapes follow HubSpot's documented and captured responses.
package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Rate-limit policies that Force429 can simulate.
const (
	PolicyTenSecondly = "TEN_SECONDLY_ROLLING"
	PolicySecondly    = "SECONDLY"
	PolicyDaily       = "DAILY"
)

// Options configure a Server. Zero values take the defaults noted per field.
type Options struct {
	// PortalID is the account id in tokens and webhook events. Default 48213377.
	PortalID int64
	// AppID is the app id in webhook events. Default 3319021.
	AppID int64
	// ClientID and ClientSecret are the app credentials; the secret also
	// signs deliveries. Defaults "fake-client-id" and "fake-client-secret".
	ClientID, ClientSecret string
	// HubDomain is the account domain returned by token introspection;
	// default "fake-portal.hubspot.example".
	HubDomain string
	// WebhookURL receives deliveries. Empty means no delivery until
	// SetWebhookURL is called.
	WebhookURL string
	// Generic sends object.* events with objectTypeId "0-3" instead of deal.* events.
	Generic bool
	// TokenLifetime is the access token lifetime. Default 30 minutes, as HubSpot.
	TokenLifetime time.Duration
	// SearchResultCap is the number of results one search query can page
	// through. Default 10,000, as HubSpot.
	SearchResultCap int
	// SearchPerSecond is the search requests allowed per second before a
	// 429. Default 5, as HubSpot. A negative value disables the limit.
	SearchPerSecond int
	// Now is the clock for tokens, events and modification dates. Default time.Now.
	Now func() time.Time
	// Client sends the deliveries. Default a client with a 10 s timeout.
	Client *http.Client
}

// Request is one API request the server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Body   string
	Status int
	At     time.Time
}

// Delivery is one webhook POST the server made.
type Delivery struct {
	Events    []Event
	Status    int
	Err       error
	Timestamp string
}

// Server is a running fake HubSpot.
type Server struct {
	opts Options
	http *httptest.Server

	mu        sync.Mutex
	deals     map[string]*deal
	contacts  map[string]*contact
	companies map[string]*company
	pipelines []*pipeline
	labels    map[string]int // USER_DEFINED typeId per association label
	nextID    int64
	nextEvent int64
	lastMod   time.Time

	codes         map[string]bool
	accessTokens  map[string]time.Time
	refreshTokens map[string]bool
	staticTokens  map[string]bool

	webhookURL   string
	deliveriesOn bool
	history      []Event
	lastBatch    []Event
	deliveries   []Delivery
	deliverMu    sync.Mutex

	requests    []Request
	forced      []string
	searchTimes []time.Time
}

// New starts a fake HubSpot on 127.0.0.1 with the default and a custom
// pipeline and no deals.
func New(opts Options) *Server {
	if opts.PortalID == 0 {
		opts.PortalID = 48213377
	}
	if opts.AppID == 0 {
		opts.AppID = 3319021
	}
	if opts.ClientID == "" {
		opts.ClientID = "fake-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.HubDomain == "" {
		opts.HubDomain = "fake-portal.hubspot.example"
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = 30 * time.Minute
	}
	if opts.SearchResultCap == 0 {
		opts.SearchResultCap = 10000
	}
	if opts.SearchPerSecond == 0 {
		opts.SearchPerSecond = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}

	s := &Server{
		opts:          opts,
		deals:         map[string]*deal{},
		contacts:      map[string]*contact{},
		companies:     map[string]*company{},
		pipelines:     defaultPipelines(),
		labels:        map[string]int{},
		nextID:        31877240000,
		nextEvent:     4102938000,
		codes:         map[string]bool{},
		accessTokens:  map[string]time.Time{},
		refreshTokens: map[string]bool{},
		staticTokens:  map[string]bool{},
		webhookURL:    opts.WebhookURL,
		deliveriesOn:  true,
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL returns the base URL, for both the API and the authorize page.
func (s *Server) URL() string { return s.http.URL }

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// PortalID returns the portal id in tokens and events.
func (s *Server) PortalID() int64 { return s.opts.PortalID }

// ClientID returns the app's client id.
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret returns the app's client secret, which signs deliveries.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// AppID returns the app id in events.
func (s *Server) AppID() int64 { return s.opts.AppID }

// Requests returns a copy of the API request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Force429 makes the next API request (OAuth excluded) fail with a 429 of
// the given policy: PolicyTenSecondly, PolicySecondly or PolicyDaily.
// Calls queue up, one failure per call.
func (s *Server) Force429(policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced = append(s.forced, policy)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}

	s.route(rec, r, body)

	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body),
		Status: rec.status, At: s.opts.Now(),
	})
	s.mu.Unlock()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == "/oauth/authorize":
		s.handleAuthorize(w, r)
		return
	case r.Method == http.MethodPost && path == "/oauth/v3/token":
		s.handleToken(w, r)
		return
	case r.Method == http.MethodPost && path == "/oauth/v3/token/introspect":
		s.handleIntrospect(w, r)
		return
	}

	if !s.authorize(w, r) {
		return
	}
	search := r.Method == http.MethodPost && strings.HasSuffix(path, "/search")
	if s.rateLimited(w, search) {
		return
	}

	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && path == "/crm/v3/pipelines/deals":
		s.handlePipelines(w)
	case r.Method == http.MethodPost && path == "/crm/v3/objects/deals/search":
		s.handleSearch(w, body)
	case r.Method == http.MethodPost && path == "/crm/v3/objects/contacts/batch/read":
		s.handleContactsBatch(w, body)
	case r.Method == http.MethodGet && len(parts) == 5 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "objects":
		s.handleObject(w, r, parts[3], parts[4])
	case r.Method == http.MethodGet && len(parts) == 7 && parts[1] == "v4" && parts[3] == "deals" && parts[5] == "associations":
		s.handleV4Associations(w, parts[4], parts[6])
	default:
		writeError(w, http.StatusNotFound, "error", fmt.Sprintf("no fake HubSpot route for %s %s", r.Method, path), "OBJECT_NOT_FOUND")
	}
}

// authorize checks the bearer token: a static app token, or an OAuth
// access token that has not expired.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	expiry, isOAuth := s.accessTokens[token]
	static := s.staticTokens[token]
	now := s.opts.Now()
	s.mu.Unlock()

	switch {
	case static:
		return true
	case isOAuth && now.Before(expiry):
		return true
	case isOAuth:
		writeError(w, http.StatusUnauthorized, "error", "The OAuth token used to make this call expired 0 second(s) ago.", "EXPIRED_AUTHENTICATION")
	default:
		writeError(w, http.StatusUnauthorized, "error", "Authentication credentials not found.", "INVALID_AUTHENTICATION")
	}
	return false
}

// rateLimited answers a forced 429, or a search 429 past SearchPerSecond
// requests in the last second.
func (s *Server) rateLimited(w http.ResponseWriter, search bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()

	if len(s.forced) > 0 {
		policy := s.forced[0]
		s.forced = s.forced[1:]
		writeRateLimit(w, policy)
		return true
	}
	if !search || s.opts.SearchPerSecond < 0 {
		return false
	}

	now := s.opts.Now()
	recent := s.searchTimes[:0]
	for _, t := range s.searchTimes {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	s.searchTimes = recent
	if len(recent) >= s.opts.SearchPerSecond {
		writeRateLimit(w, PolicySecondly)
		return true
	}
	s.searchTimes = append(s.searchTimes, now)
	return false
}

func writeRateLimit(w http.ResponseWriter, policy string) {
	var body map[string]string
	switch policy {
	case PolicyDaily:
		body = map[string]string{"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
			"correlationId": newCorrelationID(), "policyName": "DAILY", "requestId": newCorrelationID()}
	case PolicyTenSecondly:
		body = map[string]string{"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
			"errorType": "RATE_LIMIT", "correlationId": newCorrelationID(), "policyName": "TEN_SECONDLY_ROLLING",
			"groupName": "publicapi:private_app-api-calls-ten-secondly:3319021"}
	default:
		body = map[string]string{"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT"}
	}
	writeJSON(w, http.StatusTooManyRequests, body)
}

func writeError(w http.ResponseWriter, status int, statusField, message, category string) {
	writeJSON(w, status, map[string]string{
		"status": statusField, "message": message, "category": category, "correlationId": newCorrelationID(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
