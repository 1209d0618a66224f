// Package cliotest runs a fake Clio Manage (API v4) on loopback for tests
// and demo mode. It speaks Clio's wire format: OAuth with authorization
// codes and refresh tokens, who_am_i, webhooks with the X-Hook-Secret
// handshake and signed deliveries, matters, contacts and bills with
// `fields`, cursor paging, updated_since, and X-RateLimit-* headers with 429.
// Helpers change records the way a user in Clio would and fire the
// matching webhook deliveries.
package cliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure the fake.
type Options struct {
	// ClientID and ClientSecret, when set, are checked by /oauth/authorize
	// and /oauth/token.
	ClientID     string
	ClientSecret string
	// TokenLifetime is the access token lifetime; 0 means 7 days, the
	// lifetime seen in production token responses.
	TokenLifetime time.Duration
	// RateLimit is the number of API requests per access token allowed in
	// each RateLimitWindow; 0 means no limit.
	RateLimit int
	// RateLimitWindow is the rate limit window; 0 means one minute, as in Clio.
	RateLimitWindow time.Duration
	// AllowHTTPWebhooks accepts http:// webhook URLs. Real Clio rejects
	// them with 422; tests and demo mode use loopback http.
	AllowHTTPWebhooks bool
	// AsyncDeliveries sends webhook deliveries in the background. By
	// default a helper returns only after its deliveries completed.
	AsyncDeliveries bool
	// UserName and UserEmail describe the user behind every token.
	UserName  string
	UserEmail string
	// HTTPClient sends handshakes and deliveries; nil means a client with a
	// 10-second timeout.
	HTTPClient *http.Client
}

// Request is one request the fake received; tokens are not recorded.
type Request struct {
	Method string
	Path   string
	Query  string
	// Grant is the grant_type of an /oauth/token request.
	Grant  string
	Status int
	At     time.Time
}

// Server is a running fake Clio.
type Server struct {
	opts   Options
	ts     *httptest.Server
	client *http.Client
	zone   *time.Location

	mu            sync.Mutex
	nextID        int64
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	codes         map[string]authCode
	contacts      map[int64]*Contact
	matters       map[int64]*Matter
	bills         map[int64]*Bill
	webhooks      map[int64]*webhook
	deliveries    []Delivery
	requests      []Request
	deliveriesOff bool
	windows       map[string]*rateWindow
	throttle      int
	throttleWait  time.Duration
	wg            sync.WaitGroup
}

type rateWindow struct {
	start time.Time
	count int
}

// New starts a fake Clio on 127.0.0.1.
func New(opts Options) *Server {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 7 * 24 * time.Hour
	}
	if opts.RateLimitWindow <= 0 {
		opts.RateLimitWindow = time.Minute
	}
	if opts.UserName == "" {
		opts.UserName = "Dana Whitfield"
	}
	if opts.UserEmail == "" {
		opts.UserEmail = "dana.whitfield@example.com"
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}

	s := &Server{
		opts:          opts,
		client:        client,
		zone:          time.FixedZone("EDT", -4*3600),
		nextID:        1000,
		accessTokens:  map[string]*accessToken{},
		refreshTokens: map[string]*refreshToken{},
		codes:         map[string]authCode{},
		contacts:      map[int64]*Contact{},
		matters:       map[int64]*Matter{},
		bills:         map[int64]*Bill{},
		webhooks:      map[int64]*webhook{},
		windows:       map[string]*rateWindow{},
	}
	s.ts = httptest.NewServer(s.routes())
	return s
}

// URL returns the base URL, such as http://127.0.0.1:41234.
func (s *Server) URL() string { return s.ts.URL }

// Close waits for background deliveries and stops the server.
func (s *Server) Close() {
	s.wg.Wait()
	s.ts.Close()
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// OAuth
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.HandleFunc("POST /oauth/deauthorize", s.api(s.deauthorize))

	// API v4
	mux.HandleFunc("GET /api/v4/users/who_am_i.json", s.api(s.whoAmI))
	mux.HandleFunc("GET /api/v4/matters.json", s.api(s.listMatters))
	mux.HandleFunc("GET /api/v4/matters/{id}", s.api(s.showMatter))
	mux.HandleFunc("GET /api/v4/contacts/{id}", s.api(s.showContact))
	mux.HandleFunc("GET /api/v4/bills.json", s.api(s.listBills))
	mux.HandleFunc("GET /api/v4/bills/{id}", s.api(s.showBill))
	mux.HandleFunc("GET /api/v4/webhooks.json", s.api(s.listWebhooks))
	mux.HandleFunc("POST /api/v4/webhooks.json", s.api(s.createWebhook))
	mux.HandleFunc("GET /api/v4/webhooks/{id}", s.api(s.showWebhook))
	mux.HandleFunc("PATCH /api/v4/webhooks/{id}", s.api(s.updateWebhook))
	mux.HandleFunc("DELETE /api/v4/webhooks/{id}", s.api(s.deleteWebhook))
	mux.HandleFunc("PUT /api/v4/webhooks/{id}/activate", s.api(s.activateWebhook))

	return s.logRequests(mux)
}

// statusRecorder keeps the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant := ""
		if r.URL.Path == "/oauth/token" {
			_ = r.ParseForm()
			grant = r.PostForm.Get("grant_type")
		}
		if v := r.Header.Get("X-API-VERSION"); v != "" {
			w.Header().Set("X-API-VERSION", v)
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Grant: grant, Status: rec.status, At: time.Now()})
		s.mu.Unlock()
	})
}

// api wraps an API handler with bearer token checks and the rate limit.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))

		s.mu.Lock()
		at, ok := s.accessTokens[token]
		valid := ok && !at.revoked && time.Now().Before(at.expiresAt)
		var limited bool
		var retry time.Duration
		if valid {
			limited, retry = s.countRequest(w, token)
		}
		s.mu.Unlock()

		if !valid {
			writeJSON(w, http.StatusUnauthorized, map[string]string{
				"error":             "invalid_token",
				"error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
			})
			return
		}
		if limited {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "RateLimited", "Too many requests; retry later")
			return
		}
		h(w, r)
	}
}

// countRequest applies the rate limit to token and sets the X-RateLimit-*
// headers. It returns whether to respond 429 and after how long to retry.
// The caller holds s.mu.
func (s *Server) countRequest(w http.ResponseWriter, token string) (bool, time.Duration) {
	if s.throttle > 0 {
		s.throttle--
		return true, s.throttleWait
	}
	if s.opts.RateLimit <= 0 {
		return false, 0
	}

	now := time.Now()
	win, ok := s.windows[token]
	if !ok || now.Sub(win.start) >= s.opts.RateLimitWindow {
		win = &rateWindow{start: now}
		s.windows[token] = win
	}
	reset := win.start.Add(s.opts.RateLimitWindow)
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(reset.UnixNano())/1e9)), 10))
	if win.count >= s.opts.RateLimit {
		w.Header().Set("X-RateLimit-Remaining", "0")
		return true, reset.Sub(now)
	}
	win.count++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.RateLimit-win.count))
	return false, 0
}

// Throttle makes the next n API requests fail with 429 and a Retry-After of
// wait (rounded up to whole seconds), regardless of the rate limit.
func (s *Server) Throttle(n int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
	s.throttleWait = wait
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RecordWrites returns the requests that tried to create, change or delete
// a matter, contact or bill. A read-only client never makes one.
func (s *Server) RecordWrites() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			continue
		}
		for _, prefix := range []string{"/api/v4/matters", "/api/v4/contacts", "/api/v4/bills"} {
			if strings.HasPrefix(r.Path, prefix) {
				out = append(out, r)
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Clio's generic error body {"error": {"type", "message"}}.
func writeError(w http.ResponseWriter, status int, kind, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"type": kind, "message": message}})
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("cliotest: read random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// newETag returns a quoted etag, as Clio sends it.
func newETag() string { return `"` + randomHex(16) + `"` }

// id allocates the next record id. The caller holds s.mu.
func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// pathID reads the {id} path value, with or without ".json".
func pathID(r *http.Request) (int64, bool) {
	v := strings.TrimSuffix(r.PathValue("id"), ".json")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
