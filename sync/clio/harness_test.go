package clio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
)

const (
	testClientID     = "test-client"
	testClientSecret = "test-secret"
)

// harness is a fake Clio, a real store and an appliance HTTP server that
// forwards /webhooks/clio/{id} to the connector, all on loopback.
type harness struct {
	t     *testing.T
	fake  *cliotest.Server
	store *store.Store
	conn  *Connector
	app   *httptest.Server
}

func newHarness(t *testing.T, opts cliotest.Options) *harness {
	t.Helper()
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	if !opts.AllowHTTPWebhooks {
		opts.AllowHTTPWebhooks = true
	}
	return newHarnessExact(t, opts)
}

// newHarnessExact keeps opts.AllowHTTPWebhooks as given.
func newHarnessExact(t *testing.T, opts cliotest.Options) *harness {
	t.Helper()
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret

	st, err := store.Open(t.TempDir(), []byte("test secret key"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h := &harness{t: t, store: st}

	h.app = httptest.NewServer(http.HandlerFunc(h.serveWebhook))
	h.fake = cliotest.New(opts)
	h.conn, err = New(Config{
		Store:        st,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		BaseURL:      h.fake.URL(),
		PublicURL:    h.app.URL,
		Logger:       zerolog.New(io.Discard),
	})
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}

	t.Cleanup(func() {
		if writes := h.fake.RecordWrites(); len(writes) > 0 {
			t.Errorf("connector wrote to Clio records: %+v", writes)
		}
		h.fake.Close()
		h.app.Close()
		st.Close()
	})
	return h
}

func (h *harness) serveWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/webhooks/clio/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	resp := h.conn.HandleWebhook(r.Context(), crm.WebhookRequest{
		ConnectionID: id,
		Method:       r.Method,
		URL:          h.app.URL + r.URL.RequestURI(),
		Header:       r.Header,
		Body:         body,
		ReceivedAt:   time.Now().UTC(),
	})
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// connect creates a connection through the API path with fresh fake tokens.
func (h *harness) connect() store.Connection {
	h.t.Helper()
	tok := h.fake.IssueTokens()
	conn, err := h.conn.Connect(context.Background(), "user-1", crm.ConnectRequest{
		Provider: "clio", Region: "us", AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresIn: tok.ExpiresIn,
	})
	if err != nil {
		h.t.Fatalf("connect: %v", err)
	}
	return conn
}

func (h *harness) connection(id string) store.Connection {
	h.t.Helper()
	var c store.Connection
	err := h.store.View(func(tx *store.Tx) error {
		var err error
		c, err = tx.Connection(id)
		return err
	})
	if err != nil {
		h.t.Fatalf("load connection: %v", err)
	}
	return c
}

// pending returns every pending inbox item.
func (h *harness) pending() []store.InboxItem {
	h.t.Helper()
	var items []store.InboxItem
	err := h.store.View(func(tx *store.Tx) error {
		var err error
		items, err = tx.PendingInbox(0)
		return err
	})
	if err != nil {
		h.t.Fatalf("read inbox: %v", err)
	}
	return items
}

// drain resolves and marks done every pending item, returning the events.
func (h *harness) drain() []crm.Event {
	h.t.Helper()
	var events []crm.Event
	for _, it := range h.pending() {
		evs, err := h.conn.Resolve(context.Background(), it)
		if err != nil {
			h.t.Fatalf("resolve %s: %v", it.Key, err)
		}
		for _, ev := range evs {
			if err := ev.Validate(); err != nil {
				h.t.Errorf("invalid event: %v", err)
			}
		}
		events = append(events, evs...)
		it.State = store.InboxDone
		if err := h.store.Update(func(tx *store.Tx) error { return tx.PutInboxItem(it) }); err != nil {
			h.t.Fatalf("mark done: %v", err)
		}
	}
	return events
}

// countRequests counts fake requests with method and a path prefix.
func (h *harness) countRequests(method, prefix string) int {
	n := 0
	for _, r := range h.fake.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}
