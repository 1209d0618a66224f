// Package clio connects the appliance to Clio Manage (API v4): OAuth and
// token refresh, webhook subscriptions and their verification, a poller that
// catches what webhooks missed, and the mapping of matters and bills to
// crm.Event values. It only reads matters, contacts and bills; the one thing
// it writes in Clio is its own webhook subscriptions.
package clio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// DefaultBaseURL is the US host of Clio Manage.
const DefaultBaseURL = "https://app.clio.com"

// apiVersion pins the Clio API minor version the mapping was written against.
const apiVersion = "4.0.13"

// regionHosts maps the region of a Clio account to its host. A token issued
// in one region is not valid in another.
var regionHosts = map[string]string{
	"us": "https://app.clio.com",
	"ca": "https://ca.app.clio.com",
	"eu": "https://eu.app.clio.com",
	"au": "https://au.app.clio.com",
}

// Config is what New needs.
type Config struct {
	Store        *store.Store
	ClientID     string
	ClientSecret string
	// BaseURL is the Clio host. When it is not DefaultBaseURL (a fake Clio
	// in tests or demo mode), it is used for every region.
	BaseURL string
	// PublicURL is server.public_url. Webhooks go to
	// {PublicURL}/webhooks/clio/{connection_id} and the OAuth callback is
	// {PublicURL}/oauth/clio/callback.
	PublicURL string
	// HTTPClient is used for every call to Clio; nil means a client with a
	// 30-second timeout.
	HTTPClient *http.Client
	Logger     zerolog.Logger
}

// Connector implements crm.Connector for Clio Manage.
type Connector struct {
	cfg   Config
	store *store.Store
	http  *http.Client
	log   zerolog.Logger

	mu       sync.Mutex
	sessions map[string]*session
}

var _ crm.Connector = (*Connector)(nil)

// New checks cfg and returns a Connector.
func New(cfg Config) (*Connector, error) {
	if cfg.Store == nil {
		return nil, errors.New("clio: store is nil")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("clio: client id or secret is empty: set clio.client_id and clio.client_secret (RP_CLIO_CLIENT_ID, RP_CLIO_CLIENT_SECRET)")
	}
	if _, err := url.ParseRequestURI(cfg.PublicURL); err != nil || cfg.PublicURL == "" {
		return nil, errors.New("clio: public URL is missing or invalid: set server.public_url (RP_SERVER_PUBLIC_URL) to the address Clio can reach, such as https://rp.example.com")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")

	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Connector{
		cfg:      cfg,
		store:    cfg.Store,
		http:     client,
		log:      cfg.Logger.With().Str("component", "clio").Str("provider", string(crm.Clio)).Logger(),
		sessions: map[string]*session{},
	}, nil
}

// Provider returns crm.Clio.
func (c *Connector) Provider() crm.Provider { return crm.Clio }

// hostFor returns the Clio host for a region, or the configured base URL
// when it points somewhere other than the US host.
func (c *Connector) hostFor(region string) string {
	if c.cfg.BaseURL != DefaultBaseURL {
		return c.cfg.BaseURL
	}
	if host, ok := regionHosts[region]; ok {
		return host
	}
	return DefaultBaseURL
}

func (c *Connector) webhookURL(connectionID string) string {
	return c.cfg.PublicURL + "/webhooks/clio/" + url.PathEscape(connectionID)
}

func (c *Connector) callbackURL() string {
	return c.cfg.PublicURL + "/oauth/clio/callback"
}

// NeedsHTTPSWarning reports whether publicURL is not an https URL. Clio
// rejects webhook URLs of any other scheme, so such an appliance only polls.
func NeedsHTTPSWarning(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil {
		return true
	}
	return !strings.EqualFold(u.Scheme, "https") || u.Host == ""
}
