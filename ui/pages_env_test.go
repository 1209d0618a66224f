package ui_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/ui"
)

// testPassword is the password of every seeded account.
const testPassword = "correct horse battery"

// pageServerOptions adjusts the server startPageServer builds.
type pageServerOptions struct {
	// Connectors replace the default fake Clio connector when set.
	Connectors []crm.Connector
	// ConnectorsFor builds connectors that need the store and the server's
	// public URL, such as a real connector pointed at a fake CRM.
	ConnectorsFor func(st *store.Store, publicURL string) []crm.Connector
	// Worker runs the inbox worker, so webhooks stored by the server are applied.
	Worker bool
	Poller ui.Poller
	Mailer app.Mailer
	// Clock replaces the app's clock when set.
	Clock func() time.Time
}

// pageEnv is one running appliance: real bbolt, real Bleve and the full
// HTTP server (pages, JSON API, event stream) on a loopback port.
type pageEnv struct {
	t    *testing.T
	app  *app.App
	base string
	// fake is the default Clio connector; nil when the options set connectors.
	fake *fakeCRM
}

// startPageServer starts the whole HTTP server on 127.0.0.1 and stops it
// when the test ends. Browser tests, including OAuth flows against a fake
// CRM, reuse it by passing their own connectors.
func startPageServer(t *testing.T, opts pageServerOptions) *pageEnv {
	t.Helper()
	st, err := store.Open(t.TempDir(), []byte("page test secret key"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ix, _, err := matcher.OpenIndex(t.TempDir())
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	a := app.New(st, ix, zerolog.Nop())
	if opts.Clock != nil {
		a.SetClock(opts.Clock)
	}
	connectors := opts.Connectors
	var fake *fakeCRM
	if connectors == nil {
		fake = &fakeCRM{provider: crm.Clio, store: st}
		connectors = []crm.Connector{fake}
	}
	for _, c := range connectors {
		a.Register(c)
	}
	if opts.Mailer != nil {
		a.Mailer = opts.Mailer
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	base := "http://" + ln.Addr().String()
	if opts.ConnectorsFor != nil {
		for _, c := range opts.ConnectorsFor(st, base) {
			a.Register(c)
		}
	}
	a.PublicURL = base
	var waker ui.Waker
	stopWorker := func() {}
	if opts.Worker {
		w := crm.NewWorker(st, a, a.Connectors(), nil, crm.WorkerConfig{}, zerolog.Nop())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		waker, stopWorker = w, func() { cancel(); <-done }
	}
	srv := ui.New(a, ui.Config{PublicURL: base}, opts.Poller, waker, zerolog.Nop())
	go srv.Serve(ln)
	t.Cleanup(func() {
		stopWorker()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ix.Close()
		st.Close()
	})
	return &pageEnv{t: t, app: a, base: base, fake: fake}
}

// fakeCRM is a connector over a fixed list of records: Search and Fetch
// read the list, Disconnect deletes the connection, and nothing touches the
// network.
type fakeCRM struct {
	provider crm.Provider
	store    *store.Store
	records  []crm.Event
}

var errFakeUnsupported = errors.New("not supported by the fake CRM")

func (f *fakeCRM) Provider() crm.Provider { return f.provider }
func (f *fakeCRM) Connect(context.Context, string, crm.ConnectRequest) (store.Connection, error) {
	return store.Connection{}, errFakeUnsupported
}
func (f *fakeCRM) StartOAuth(context.Context, string, map[string]string) (string, error) {
	return "", errFakeUnsupported
}
func (f *fakeCRM) FinishOAuth(context.Context, map[string]string) (store.Connection, error) {
	return store.Connection{}, errFakeUnsupported
}
func (f *fakeCRM) Disconnect(_ context.Context, id string) error {
	return f.store.Update(func(tx *store.Tx) error { return tx.DeleteConnection(id) })
}
func (f *fakeCRM) HandleWebhook(context.Context, crm.WebhookRequest) crm.WebhookResponse {
	return crm.WebhookResponse{Status: http.StatusNotFound}
}
func (f *fakeCRM) Resolve(context.Context, store.InboxItem) ([]crm.Event, error) { return nil, nil }
func (f *fakeCRM) Poll(context.Context, string) (crm.PollResult, error) {
	return crm.PollResult{}, nil
}
func (f *fakeCRM) Maintain(context.Context, string) error { return nil }
func (f *fakeCRM) Search(_ context.Context, connectionID, query string) ([]crm.Event, error) {
	var out []crm.Event
	for _, r := range f.records {
		if r.ConnectionID == connectionID && strings.Contains(strings.ToLower(r.EntityName+" "+r.ClientName), strings.ToLower(query)) {
			out = append(out, r)
		}
	}
	return out, nil
}
func (f *fakeCRM) Fetch(_ context.Context, connectionID, entityID string) (crm.Event, error) {
	for _, r := range f.records {
		if r.ConnectionID == connectionID && r.EntityID == entityID {
			r.Kind = crm.EntityChanged
			return r, nil
		}
	}
	return crm.Event{}, fmt.Errorf("record %s: %w", entityID, store.ErrNotFound)
}

// user creates an account that can sign in with testPassword.
func (e *pageEnv) user(email, name string) store.User {
	e.t.Helper()
	u, err := e.app.CreateUser(context.Background(), email, name, testPassword)
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

func (e *pageEnv) partner(owner store.User, name, email string) store.Partner {
	e.t.Helper()
	p, err := e.app.CreatePartner(context.Background(), owner.ID, app.PartnerInput{Name: &name, Email: &email})
	if err != nil {
		e.t.Fatalf("create partner %s: %v", email, err)
	}
	return p
}

func (e *pageEnv) referral(owner store.User, partner store.Partner, direction, client, email string) app.ReferralView {
	e.t.Helper()
	r, err := e.app.CreateReferral(context.Background(), owner.ID, app.ReferralInput{
		Direction: direction, PartnerID: partner.ID, ClientName: client, ClientEmail: email,
	})
	if err != nil {
		e.t.Fatalf("create referral %s: %v", client, err)
	}
	return r
}

// connection stores a connected Clio connection for the user.
func (e *pageEnv) connection(owner store.User, account string) store.Connection {
	e.t.Helper()
	c := store.Connection{
		UserID: owner.ID, Provider: string(crm.Clio), AccountName: account, Region: "us",
		State: store.ConnectionConnected, AccessToken: "fake-access-token",
	}
	c.Health.LastPollAt = time.Now().UTC().Add(-5 * time.Minute)
	c.Health.MissedByWebhooks = 2
	if err := e.app.Store.Update(func(tx *store.Tx) error { return tx.PutConnection(&c) }); err != nil {
		e.t.Fatalf("put connection: %v", err)
	}
	return c
}

// matter applies one Clio event for the connection through the rules engine.
func (e *pageEnv) matter(conn store.Connection, kind crm.Kind, id, name, client, email string, outcome crm.Outcome) {
	e.t.Helper()
	ev := matterEvent(conn, kind, id, name, client, email, outcome)
	if err := e.app.ApplyEvents(context.Background(), ev); err != nil {
		e.t.Fatalf("apply matter %s: %v", id, err)
	}
}

func matterEvent(conn store.Connection, kind crm.Kind, id, name, client, email string, outcome crm.Outcome) crm.Event {
	var emails []string
	if email != "" {
		emails = []string{email}
	}
	return crm.Event{
		ID: "test-" + id + "-" + string(kind), Provider: crm.Clio, ConnectionID: conn.ID, Kind: kind,
		EntityType: "matter", EntityID: id, EntityName: name, ClientName: client, ClientEmails: emails,
		Outcome: outcome, Version: time.Now().UTC(),
	}
}

func (e *pageEnv) billPaid(conn store.Connection, matterID, billID string) {
	e.t.Helper()
	ev := crm.Event{
		ID: "bill-" + billID, Provider: crm.Clio, ConnectionID: conn.ID, Kind: crm.BillPaid,
		EntityType: "matter", EntityID: matterID, BillID: billID, BillNumber: "B-" + billID, Version: time.Now().UTC(),
	}
	if err := e.app.ApplyEvents(context.Background(), ev); err != nil {
		e.t.Fatalf("apply bill %s: %v", billID, err)
	}
}

// browserClient is an HTTP client with a cookie jar that follows
// redirects, like a browser without JavaScript.
type browserClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func (e *pageEnv) client() *browserClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browserClient{t: e.t, base: e.base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get fetches a page and returns the status and body.
func (b *browserClient) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.http.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post submits a form and returns the status and body after redirects.
func (b *browserClient) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// redirect is a response whose redirect was not followed.
type redirect struct {
	status   int
	location string
}

// postNoRedirect submits a form and returns the first response's status
// and Location, to check Post/Redirect/Get.
func (b *browserClient) postNoRedirect(path string, form url.Values) redirect {
	b.t.Helper()
	client := *b.http
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return redirect{status: resp.StatusCode, location: resp.Header.Get("Location")}
}

var csrfValue = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfFrom returns the CSRF token of the first form on a page.
func csrfFrom(t *testing.T, page string) string {
	t.Helper()
	m := csrfValue.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no _csrf field:\n%s", page)
	}
	return m[1]
}

// signIn signs in through the login form and returns the session's CSRF token.
func (b *browserClient) signIn(email string) string {
	b.t.Helper()
	_, page := b.get("/login")
	status, body := b.post("/login", url.Values{"_csrf": {csrfFrom(b.t, page)}, "email": {email}, "password": {testPassword}})
	if status != http.StatusOK || !strings.Contains(body, "<h1>Dashboard</h1>") {
		b.t.Fatalf("sign in as %s: status %d, body:\n%s", email, status, body)
	}
	return csrfFrom(b.t, body)
}
