package crm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/referralpulse/referralpulse/store"
)

// Connector is the interface a CRM integration offers the rest of the appliance.
// Implementations live in sync/clio and sync/hubspot. Every method is safe
// for concurrent use. No method writes matters, deals, stages, contacts or
// bills in the CRM: the only CRM writes are webhook subscription management.
type Connector interface {
	Provider() Provider

	// Connect creates a connection for userID from tokens supplied through
	// the API, for setups without the browser flow. Bad input returns a
	// *FieldError.
	Connect(ctx context.Context, userID string, req ConnectRequest) (store.Connection, error)
	// StartOAuth returns the CRM authorization URL to redirect the user to.
	// params carries options from the start request, such as "region".
	StartOAuth(ctx context.Context, userID string, params map[string]string) (string, error)
	// FinishOAuth completes the flow from the callback's query parameters
	// (state, code, error) and returns the new connection.
	FinishOAuth(ctx context.Context, query map[string]string) (store.Connection, error)
	// Disconnect removes the CRM-side webhooks, revokes the grant where the
	// CRM supports it and deletes the connection. Links on referrals stay.
	Disconnect(ctx context.Context, connectionID string) error

	// HandleWebhook verifies a delivery and stores it in the inbox before the
	// response is sent. It never applies it, and a bad signature stores nothing.
	HandleWebhook(ctx context.Context, req WebhookRequest) WebhookResponse
	// Resolve turns one inbox item into normalized events, reading the
	// record from the CRM when the payload is thin. An empty slice means the
	// item needs no action.
	Resolve(ctx context.Context, item store.InboxItem) ([]Event, error)
	// Poll lists records changed since the connection's cursor, enqueues
	// them and advances the cursor.
	Poll(ctx context.Context, connectionID string) (PollResult, error)
	// Maintain keeps webhook subscriptions alive; the scheduler calls it daily.
	Maintain(ctx context.Context, connectionID string) error

	// Search finds matters or deals in the live CRM for the link dialog.
	Search(ctx context.Context, connectionID, query string) ([]Event, error)
	// Fetch reads one matter or deal for a manual link; the result has Kind EntityChanged.
	Fetch(ctx context.Context, connectionID, entityID string) (Event, error)
}

// ConnectRequest is the body of POST /api/v1/connections.
type ConnectRequest struct {
	Provider     string `json:"provider"`
	Region       string `json:"region"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	PortalID     string `json:"portal_id"`
}

// WebhookRequest is one webhook delivery as the HTTP layer received it.
type WebhookRequest struct {
	// ConnectionID comes from the URL path; empty for HubSpot, which routes by portal.
	ConnectionID string
	Method       string
	// URL is the configured public URL of the endpoint plus the request's
	// query string, which is what HubSpot signs.
	URL        string
	Header     http.Header
	Body       []byte
	ReceivedAt time.Time
}

// WebhookResponse is the HTTP response to a webhook delivery.
type WebhookResponse struct {
	Status int
	Header map[string]string
	Body   []byte
	// Rejected is set for deliveries refused for a bad signature or body, for metrics.
	Rejected bool
	// Stored counts inbox items newly written.
	Stored int
}

// PollResult sums up one poll.
type PollResult struct {
	Fetched int `json:"fetched"`
	Queued  int `json:"queued"`
	// Missed counts changes that no webhook had delivered before the poll found them.
	Missed int       `json:"missed"`
	Cursor time.Time `json:"cursor"`
}

// FieldError is invalid input on one named field. The API returns it as a 400.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// Errorf returns a *FieldError for field.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrBroken marks a connection whose grant the CRM revoked or refused to
// refresh; the user must connect again.
var ErrBroken = errors.New("connection needs to be reconnected")

// ErrPaused means the CRM's rate limit stops work until a stated time.
var ErrPaused = errors.New("paused by the CRM rate limit")
