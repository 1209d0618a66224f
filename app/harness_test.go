package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// eventConnector resolves inbox items whose payload is a JSON list of
// normalized events; a payload of "fail" always fails. It lets the tests
// drive the real inbox, worker, rules engine, bbolt and Bleve with
// CRM-neutral events.
type eventConnector struct {
	provider crm.Provider
}

func (c eventConnector) Provider() crm.Provider { return c.provider }
func (c eventConnector) Resolve(ctx context.Context, it store.InboxItem) ([]crm.Event, error) {
	if string(it.Payload) == "fail" {
		return nil, errors.New("resolver failure for the test")
	}
	var evs []crm.Event
	if err := json.Unmarshal(it.Payload, &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

var errUnused = errors.New("not used by the rules tests")

func (c eventConnector) Connect(context.Context, string, crm.ConnectRequest) (store.Connection, error) {
	return store.Connection{}, errUnused
}
func (c eventConnector) StartOAuth(context.Context, string, map[string]string) (string, error) {
	return "", errUnused
}
func (c eventConnector) FinishOAuth(context.Context, map[string]string) (store.Connection, error) {
	return store.Connection{}, errUnused
}
func (c eventConnector) Disconnect(context.Context, string) error { return errUnused }
func (c eventConnector) HandleWebhook(context.Context, crm.WebhookRequest) crm.WebhookResponse {
	return crm.WebhookResponse{Status: 500}
}
func (c eventConnector) Poll(context.Context, string) (crm.PollResult, error) {
	return crm.PollResult{}, errUnused
}
func (c eventConnector) Maintain(context.Context, string) error { return nil }
func (c eventConnector) Search(context.Context, string, string) ([]crm.Event, error) {
	return nil, nil
}
func (c eventConnector) Fetch(context.Context, string, string) (crm.Event, error) {
	return crm.Event{}, errUnused
}

// env is one appliance under test: two users (Ada receives referrals, Mary
// sends them and is registered) and a Clio and a HubSpot connection for Ada.
type env struct {
	t       testing.TB
	ctx     context.Context
	app     *app.App
	worker  *crm.Worker
	ada     store.User
	mary    store.User
	clio    store.Connection
	hubspot store.Connection
	seq     int
	clock   time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := store.Open(t.TempDir(), []byte("test secret key 0123456789"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ix, _, err := matcher.OpenIndex(t.TempDir())
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { ix.Close() })

	a := app.New(st, ix, zerolog.Nop())
	e := &env{t: t, ctx: context.Background(), app: a, clock: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	a.SetClock(func() time.Time { return e.clock })
	a.Register(eventConnector{crm.Clio})
	a.Register(eventConnector{crm.HubSpot})
	e.worker = crm.NewWorker(st, a, a.Connectors(), nil, crm.WorkerConfig{MaxAttempts: 3, BaseBackoff: time.Nanosecond, MaxBackoff: time.Nanosecond}, zerolog.Nop())

	e.ada = e.user("ada@example.com", "Ada Lovelace")
	e.mary = e.user("mary@example.com", "Mary Osei")
	e.clio = e.connection(e.ada.ID, crm.Clio)
	e.hubspot = e.connection(e.ada.ID, crm.HubSpot)
	return e
}

func (e *env) user(email, name string) store.User {
	e.t.Helper()
	u, err := e.app.CreateUser(e.ctx, email, name, "")
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

func (e *env) connection(userID string, p crm.Provider) store.Connection {
	e.t.Helper()
	c := store.Connection{UserID: userID, Provider: string(p), AccountName: p.Label() + " test", State: store.ConnectionConnected, AccessToken: "secret-token"}
	if err := e.app.Store.Update(func(tx *store.Tx) error { return tx.PutConnection(&c) }); err != nil {
		e.t.Fatalf("put connection: %v", err)
	}
	return c
}

// partner creates a partner of owner; registered partners are users.
func (e *env) partner(owner store.User, name, email string) store.Partner {
	e.t.Helper()
	p, err := e.app.CreatePartner(e.ctx, owner.ID, app.PartnerInput{Name: &name, Email: &email})
	if err != nil {
		e.t.Fatalf("create partner %s: %v", email, err)
	}
	return p
}

func (e *env) referral(owner store.User, partner store.Partner, direction, client, email, company string) app.ReferralView {
	e.t.Helper()
	e.clock = e.clock.Add(time.Second)
	r, err := e.app.CreateReferral(e.ctx, owner.ID, app.ReferralInput{
		Direction: direction, PartnerID: partner.ID, ClientName: client, ClientEmail: email, ClientCompany: company,
	})
	if err != nil {
		e.t.Fatalf("create referral %s: %v", client, err)
	}
	return r
}

// matter returns a Clio event for Ada's connection.
func (e *env) matter(kind crm.Kind, id, name, client, email string, outcome crm.Outcome, version time.Time) crm.Event {
	var emails []string
	if email != "" {
		emails = []string{email}
	}
	return crm.Event{
		Provider: crm.Clio, ConnectionID: e.clio.ID, Kind: kind, EntityType: "matter", EntityID: id,
		EntityName: name, ClientName: client, ClientEmails: emails, Outcome: outcome, Version: version,
	}
}

// deal returns a HubSpot event for Ada's connection.
func (e *env) deal(kind crm.Kind, id, name, client, email string, outcome crm.Outcome, version time.Time) crm.Event {
	ev := e.matter(kind, id, name, client, email, outcome, version)
	ev.Provider, ev.ConnectionID, ev.EntityType = crm.HubSpot, e.hubspot.ID, "deal"
	return ev
}

// deliver stores one inbox item holding events under key and drains the inbox.
func (e *env) deliver(key string, events ...crm.Event) {
	e.t.Helper()
	e.enqueue(key, events...)
	e.worker.Drain(e.ctx)
}

func (e *env) enqueue(key string, events ...crm.Event) {
	e.t.Helper()
	if key == "" {
		e.seq++
		key = fmt.Sprintf("test-%d", e.seq)
	}
	for i := range events {
		events[i].ID = key
	}
	payload, err := json.Marshal(events)
	if err != nil {
		e.t.Fatal(err)
	}
	provider := string(crm.Clio)
	conn := e.clio.ID
	if len(events) > 0 {
		provider, conn = string(events[0].Provider), events[0].ConnectionID
	}
	err = e.app.Store.Update(func(tx *store.Tx) error {
		_, err := tx.Enqueue(store.InboxItem{Key: key, Provider: provider, ConnectionID: conn, Source: "webhook", Payload: payload})
		return err
	})
	if err != nil {
		e.t.Fatalf("enqueue: %v", err)
	}
}

func (e *env) get(user store.User, id string) app.ReferralView {
	e.t.Helper()
	r, err := e.app.Referral(e.ctx, user.ID, id)
	if err != nil {
		e.t.Fatalf("get referral %s: %v", id, err)
	}
	return r
}

func (e *env) notifications(user store.User) []store.Notification {
	e.t.Helper()
	ns, _, err := e.app.Notifications(e.ctx, user.ID, false, store.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return ns
}

func (e *env) timelineTexts(user store.User, referralID string) []string {
	e.t.Helper()
	entries, _, err := e.app.Timeline(e.ctx, user.ID, referralID, store.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, en.Text)
	}
	return out
}

func (e *env) drafts(user store.User) []store.Draft {
	e.t.Helper()
	ds, _, err := e.app.Drafts(e.ctx, user.ID, "", store.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func titles(ns []store.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Title)
	}
	return out
}

func count(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

func containsText(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

var v1 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
var v2 = v1.Add(time.Hour)
var v3 = v2.Add(time.Hour)
