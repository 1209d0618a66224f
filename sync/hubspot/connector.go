// Package hubspot connects ReferralPulse to HubSpot deals: OAuth or a static
// app token, signed app webhooks routed by portal, deal re-reads with the
// primary contact and company, stage classification from pipeline metadata,
// and a search-based poller. It only reads deals, contacts, companies and
// pipelines; it never writes to HubSpot.
package hubspot

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// Defaults for the Config fields that may be left empty.
const (
	DefaultBaseURL      = "https://api.hubapi.com"
	DefaultAuthURL      = "https://app.hubspot.com"
	DefaultPrimaryLabel = "Primary"
)

// Config wires a Connector to the store and to one HubSpot app.
type Config struct {
	Store                         *store.Store
	ClientID, ClientSecret, AppID string
	// BaseURL is the API base, DefaultBaseURL unless a test points it at a fake.
	BaseURL string
	// AuthURL is the base of the authorize page, DefaultAuthURL by default.
	AuthURL string
	// PublicURL is server.public_url. The webhook URL is
	// {PublicURL}/webhooks/hubspot and the OAuth callback
	// {PublicURL}/oauth/hubspot/callback.
	PublicURL string
	// PrimaryLabel is the association label that marks a deal's primary
	// contact, DefaultPrimaryLabel by default.
	PrimaryLabel string
	HTTPClient   *http.Client
	Logger       zerolog.Logger
}

// Connector implements crm.Connector for HubSpot.
type Connector struct {
	cfg  Config
	st   *store.Store
	http *http.Client
	log  zerolog.Logger

	// now is the clock for signature windows, token expiry and rate-limit
	// pauses. Tests replace it.
	now func() time.Time

	// searchPageSize and searchResultCap are the search API's page size and
	// its per-query result cap. Tests shrink the cap.
	searchPageSize  int
	searchResultCap int
	// pollOverlap is subtracted from the cursor so that deals the search
	// index had not caught up with at the last poll are read again.
	pollOverlap time.Duration
	// secondlyBackoff and tenSecondlyBackoff are the waits after a 429 that
	// carries no Retry-After header.
	secondlyBackoff    time.Duration
	tenSecondlyBackoff time.Duration

	mu sync.Mutex
	// searchLimiters holds one limiter per portal, because HubSpot counts
	// search requests per account.
	searchLimiters map[string]*rate.Limiter
	// refreshLocks serializes token refreshes per connection.
	refreshLocks map[string]*sync.Mutex
}

var _ crm.Connector = (*Connector)(nil)

// New checks cfg, fills in defaults and returns a Connector.
func New(cfg Config) (*Connector, error) {
	if cfg.Store == nil {
		return nil, errors.New("hubspot: Config.Store is nil: pass the open store")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = DefaultAuthURL
	}
	if cfg.PrimaryLabel == "" {
		cfg.PrimaryLabel = DefaultPrimaryLabel
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.AuthURL = strings.TrimRight(cfg.AuthURL, "/")
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")

	return &Connector{
		cfg:                cfg,
		st:                 cfg.Store,
		http:               cfg.HTTPClient,
		log:                cfg.Logger.With().Str("component", "hubspot").Str("provider", string(crm.HubSpot)).Logger(),
		now:                time.Now,
		searchPageSize:     200,
		searchResultCap:    10000,
		pollOverlap:        2 * time.Minute,
		secondlyBackoff:    time.Second,
		tenSecondlyBackoff: 10 * time.Second,
		searchLimiters:     map[string]*rate.Limiter{},
		refreshLocks:       map[string]*sync.Mutex{},
	}, nil
}

// Provider returns crm.HubSpot.
func (c *Connector) Provider() crm.Provider { return crm.HubSpot }

// WebhookURL returns the URL to enter in the HubSpot app's webhook settings.
func (c *Connector) WebhookURL() string { return c.cfg.PublicURL + "/webhooks/hubspot" }

// RedirectURL returns the OAuth callback URL to register in the HubSpot app.
func (c *Connector) RedirectURL() string { return c.cfg.PublicURL + "/oauth/hubspot/callback" }

// searchInterval spaces search requests of one portal. HubSpot allows 5
// search requests a second per account; 220 ms instead of 200 ms leaves
// room for network jitter, which can bunch requests that left evenly.
const searchInterval = 220 * time.Millisecond

// searchLimiter returns the portal's search limiter, without burst.
func (c *Connector) searchLimiter(portalID string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()

	l, ok := c.searchLimiters[portalID]
	if !ok {
		l = rate.NewLimiter(rate.Every(searchInterval), 1)
		c.searchLimiters[portalID] = l
	}
	return l
}

func (c *Connector) refreshLock(connectionID string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()

	l, ok := c.refreshLocks[connectionID]
	if !ok {
		l = &sync.Mutex{}
		c.refreshLocks[connectionID] = l
	}
	return l
}

// loadConnection reads a HubSpot connection by id.
func (c *Connector) loadConnection(connectionID string) (store.Connection, error) {
	var conn store.Connection
	err := c.st.View(func(tx *store.Tx) error {
		var err error
		conn, err = tx.Connection(connectionID)
		return err
	})
	if err != nil {
		return conn, err
	}
	if conn.Provider != string(crm.HubSpot) {
		return conn, crm.Errorf("connection_id", "connection %s belongs to %s, not HubSpot", connectionID, conn.Provider)
	}
	return conn, nil
}
