package hubspot

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

const testPortal = "48213377"

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), []byte("test-secret-key"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func readCase(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read case %s: %v", name, err)
	}
	return raw
}

// harness is a connector wired to a fake HubSpot, with a loopback webhook
// endpoint that hands deliveries to HandleWebhook like the HTTP layer does.
type harness struct {
	t    *testing.T
	fake *hubspottest.Server
	st   *store.Store
	c    *Connector
	hook *httptest.Server
}

func newHarness(t *testing.T, opts hubspottest.Options, configure ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, st: openStore(t)}

	var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u := h.c.WebhookURL()
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		resp := h.c.HandleWebhook(r.Context(), crm.WebhookRequest{Method: r.Method, URL: u, Header: r.Header, Body: body, ReceivedAt: time.Now()})
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
	h.hook = httptest.NewServer(handler)
	t.Cleanup(h.hook.Close)

	opts.WebhookURL = h.hook.URL + "/webhooks/hubspot"
	h.fake = hubspottest.New(opts)
	t.Cleanup(h.fake.Close)

	cfg := Config{
		Store:        h.st,
		ClientID:     h.fake.ClientID(),
		ClientSecret: h.fake.ClientSecret(),
		BaseURL:      h.fake.URL(),
		AuthURL:      h.fake.URL(),
		PublicURL:    h.hook.URL,
		Logger:       zerolog.New(io.Discard),
	}
	for _, fn := range configure {
		fn(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	c.secondlyBackoff = 20 * time.Millisecond
	c.tenSecondlyBackoff = 50 * time.Millisecond
	h.c = c
	return h
}

// connect adds a static-token connection for userID on the fake's portal.
func (h *harness) connect(userID string) store.Connection {
	h.t.Helper()
	token := "pat-na1-" + userID
	h.fake.AddStaticToken(token)
	conn, err := h.c.Connect(context.Background(), userID, crm.ConnectRequest{Provider: "hubspot", AccessToken: token, PortalID: testPortal})
	if err != nil {
		h.t.Fatalf("connect %s: %v", userID, err)
	}
	return conn
}

// drain resolves and marks done every pending inbox item, in arrival order.
func (h *harness) drain() []crm.Event {
	h.t.Helper()
	var out []crm.Event
	for _, it := range pending(h.t, h.st) {
		events, err := h.c.Resolve(context.Background(), it)
		if err != nil {
			h.t.Fatalf("resolve %s: %v", it.Key, err)
		}
		for _, ev := range events {
			if err := ev.Validate(); err != nil {
				h.t.Fatalf("invalid event from %s: %v", it.Key, err)
			}
		}
		out = append(out, events...)
		it.State = store.InboxDone
		if err := h.st.Update(func(tx *store.Tx) error { return tx.PutInboxItem(it) }); err != nil {
			h.t.Fatalf("mark item done: %v", err)
		}
	}
	return out
}

// apply mirrors events into the entity store, as the rules engine does.
func (h *harness) apply(events []crm.Event) {
	h.t.Helper()
	err := h.st.Update(func(tx *store.Tx) error {
		for _, ev := range events {
			if err := tx.PutEntity(store.Entity{
				ConnectionID: ev.ConnectionID, Provider: string(ev.Provider), EntityType: ev.EntityType,
				EntityID: ev.EntityID, Name: ev.EntityName, Outcome: string(ev.Outcome), Version: ev.Version,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("apply events: %v", err)
	}
}

func (h *harness) connection(id string) store.Connection {
	h.t.Helper()
	conn, err := h.c.loadConnection(id)
	if err != nil {
		h.t.Fatalf("load connection %s: %v", id, err)
	}
	return conn
}

func pending(t *testing.T, st *store.Store) []store.InboxItem {
	t.Helper()
	var items []store.InboxItem
	err := st.View(func(tx *store.Tx) error {
		var err error
		items, err = tx.PendingInbox(0)
		return err
	})
	if err != nil {
		t.Fatalf("read inbox: %v", err)
	}
	return items
}

// countRequests counts fake API requests by method and path.
func countRequests(reqs []hubspottest.Request, method, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}
