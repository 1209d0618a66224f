// Package app holds the use cases of the appliance: the rules engine that
// applies CRM events, referrals and their partner copies, links and
// suggestions, notifications, the Action Queue and the assistant digest.
// Every rule runs inside one store transaction; side effects outside the
// database (search index, live events, mail) happen after the commit.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// MaxCandidates is how many of a user's newest Open unlinked received
// referrals the auto-link decision considers.
const MaxCandidates = 50

// Mailer sends one plain-text message. A nil Mailer means SMTP is not configured.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// App is the set of use cases, shared by the HTTP layer, the CLI and the inbox worker.
type App struct {
	Store      *store.Store
	Index      *matcher.Index
	Hub        *Hub
	Metrics    *Metrics
	Mailer     Mailer
	Log        zerolog.Logger
	PublicURL  string
	connectors map[crm.Provider]crm.Connector
	now        func() time.Time
}

// New returns an App over an open store and index. index may be nil, in
// which case search falls back to a scan.
func New(st *store.Store, index *matcher.Index, log zerolog.Logger) *App {
	return &App{
		Store:      st,
		Index:      index,
		Hub:        NewHub(),
		Metrics:    NewMetrics(),
		Log:        log.With().Str("component", "app").Logger(),
		connectors: map[crm.Provider]crm.Connector{},
		now:        func() time.Time { return time.Now().UTC() },
	}
}

// SetClock replaces the clock, for tests of time windows.
func (a *App) SetClock(now func() time.Time) { a.now = now }

// Register makes a connector available for connections of its provider.
func (a *App) Register(c crm.Connector) { a.connectors[c.Provider()] = c }

// Connector returns the registered connector of a provider.
func (a *App) Connector(p crm.Provider) (crm.Connector, error) {
	c, ok := a.connectors[p]
	if !ok {
		return nil, fmt.Errorf("%s is not configured on this server: set %s.client_id and %s.client_secret", p.Label(), p, p)
	}
	return c, nil
}

// Connectors returns the registered connectors by provider.
func (a *App) Connectors() map[crm.Provider]crm.Connector { return a.connectors }

// Errors the HTTP layer maps to statuses.
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = store.ErrConflict
)

// InputError is invalid input on one named field.
type InputError = crm.FieldError

func invalid(field, format string, args ...any) error {
	return crm.Errorf(field, format, args...)
}

// IsInputError reports whether err is invalid input, and returns it.
func IsInputError(err error) (*InputError, bool) {
	var fe *crm.FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
