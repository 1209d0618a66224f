package hubspot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

// seedClients adds two contacts and a company: Dana is labelled "Primary"
// on deals created with primaryDeal.
type seed struct {
	first, primary, company string
}

func seedClients(h *harness) seed {
	return seed{
		first:   h.fake.AddContact(hubspottest.ContactInput{Email: "lee.first@kestrel.example", FirstName: "Lee", LastName: "First"}),
		primary: h.fake.AddContact(hubspottest.ContactInput{Email: "dana.reyes@kestrel.example", FirstName: "Dana", LastName: "Reyes"}),
		company: h.fake.AddCompany("Kestrel Analytics GmbH", "kestrel.example"),
	}
}

func (s seed) deal(name, pipeline, stage string) hubspottest.DealInput {
	return hubspottest.DealInput{
		Name: name, Pipeline: pipeline, Stage: stage, CompanyID: s.company,
		Contacts: []hubspottest.ContactAssociation{{ContactID: s.first}, {ContactID: s.primary, Label: "Primary"}},
	}
}

func TestFakeCreationThenStageChange(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	conn := h.connect("user-1")
	s := seedClients(h)

	d := h.fake.CreateDeal(s.deal("Kestrel Analytics - pilot", "default", "appointmentscheduled"))
	created := h.drain()
	if len(created) != 1 {
		t.Fatalf("events after creation = %d, want 1", len(created))
	}
	ev := created[0]
	if ev.Kind != crm.EntityCreated || ev.EntityID != d.ID || ev.ConnectionID != conn.ID {
		t.Errorf("creation event = %+v", ev)
	}
	if ev.ClientName != "Dana Reyes" || len(ev.ClientEmails) != 1 || ev.ClientEmails[0] != "dana.reyes@kestrel.example" {
		t.Errorf("client = %q %v, want the contact labelled Primary", ev.ClientName, ev.ClientEmails)
	}
	if ev.ClientCompany != "Kestrel Analytics GmbH" || ev.EntityName != "Kestrel Analytics - pilot" || ev.Outcome != crm.OutcomeOpen {
		t.Errorf("company %q name %q outcome %q", ev.ClientCompany, ev.EntityName, ev.Outcome)
	}

	h.fake.SetDealStage(d.ID, "closedwon")
	changed := h.drain()
	if len(changed) != 1 || changed[0].Kind != crm.EntityChanged || changed[0].Outcome != crm.OutcomeWon {
		t.Fatalf("stage change events = %+v, want one entity_changed won", changed)
	}
	if !changed[0].Version.After(ev.Version) {
		t.Errorf("version did not advance: %s then %s", ev.Version, changed[0].Version)
	}
	if got := h.connection(conn.ID).Health.LastWebhookAt; got.IsZero() {
		t.Error("LastWebhookAt not set after deliveries")
	}
}

func TestFakePrimaryContactFallback(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)

	in := s.deal("Unlabelled deal", "default", "")
	in.Contacts = []hubspottest.ContactAssociation{{ContactID: s.first}, {ContactID: s.primary}}
	h.fake.CreateDeal(in)

	events := h.drain()
	if len(events) != 1 || events[0].ClientName != "Lee First" {
		t.Fatalf("events = %+v, want the first associated contact", events)
	}
}

func TestFakeStageOutcomes(t *testing.T) {
	cases := []struct {
		pipeline, stage string
		want            crm.Outcome
	}{
		{"default", "qualifiedtobuy", crm.OutcomeOpen},
		{"default", "closedwon", crm.OutcomeWon},
		{"default", "closedlost", crm.OutcomeLost},
		{"731905512", "1190243381", crm.OutcomeOpen},
		{"731905512", "1190243387", crm.OutcomeWon},
		{"731905512", "1190243388", crm.OutcomeLost},
	}
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)

	for _, tc := range cases {
		t.Run(tc.pipeline+"/"+tc.stage, func(t *testing.T) {
			h.fake.CreateDeal(s.deal("Deal at "+tc.stage, tc.pipeline, tc.stage))
			events := h.drain()
			if len(events) != 1 || events[0].Outcome != tc.want {
				t.Fatalf("events = %+v, want outcome %q", events, tc.want)
			}
		})
	}
	if n := countRequests(h.fake.Requests(), "GET", "/crm/v3/pipelines/deals"); n != 1 {
		t.Errorf("pipeline reads = %d, want 1 (the cache serves known stages)", n)
	}
}

func TestFakeRenamedLabelChangesNothing(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Renamed stage deal", "default", "appointmentscheduled"))
	h.drain()

	// A lost stage renamed to look won must still classify as lost.
	h.fake.RenameStageLabel("closedlost", "Closed Won")
	if err := h.c.Maintain(context.Background(), h.connection(pending0(h)).ID); err != nil {
		t.Fatalf("maintain: %v", err)
	}
	h.fake.SetDealStage(d.ID, "closedlost")
	events := h.drain()
	if len(events) != 1 || events[0].Outcome != crm.OutcomeLost {
		t.Fatalf("events = %+v, want lost", events)
	}
	if events[0].StatusLabel != "Closed Won" {
		t.Errorf("status label = %q, want the refreshed label for context", events[0].StatusLabel)
	}
}

// pending0 returns the harness's only connection id.
func pending0(h *harness) string {
	var id string
	_ = h.st.View(func(tx *store.Tx) error {
		conns, err := tx.PortalConnections(testPortal)
		if len(conns) > 0 {
			id = conns[0].ID
		}
		return err
	})
	return id
}

func TestFakeUnknownStageRefreshesCache(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Custom pipeline deal", "731905512", "1190243380"))
	h.drain()

	h.fake.AddStage("731905512", hubspottest.Stage{ID: "1190243399", Label: "Won via partner", IsClosed: true, Probability: "1.0"})
	h.fake.SetDealStage(d.ID, "1190243399")
	events := h.drain()
	if len(events) != 1 || events[0].Outcome != crm.OutcomeWon {
		t.Fatalf("events = %+v, want won from the new stage", events)
	}
	if n := countRequests(h.fake.Requests(), "GET", "/crm/v3/pipelines/deals"); n != 2 {
		t.Errorf("pipeline reads = %d, want 2 (connect, then the unknown stage)", n)
	}
}

func TestFakeGenericEvents(t *testing.T) {
	h := newHarness(t, hubspottest.Options{Generic: true})
	h.connect("user-1")
	s := seedClients(h)

	d := h.fake.CreateDeal(s.deal("Generic deal", "default", ""))
	h.fake.SetDealStage(d.ID, "closedwon")
	h.fake.AssociateContact(d.ID, s.first, "")
	events := h.drain()

	kinds := []crm.Kind{crm.EntityCreated, crm.EntityChanged, crm.EntityChanged}
	if len(events) != len(kinds) {
		t.Fatalf("events = %+v, want %d", events, len(kinds))
	}
	for i, k := range kinds {
		if events[i].Kind != k || events[i].EntityID != d.ID {
			t.Errorf("event %d = %s on %s, want %s on %s", i, events[i].Kind, events[i].EntityID, k, d.ID)
		}
	}
}

func TestFakeOutOfOrderBatch(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)

	h.fake.SetDeliveries(false)
	d := h.fake.CreateDeal(s.deal("Batch deal", "default", ""))
	h.fake.SetDealStage(d.ID, "contractsent")
	evs := h.fake.Events()
	status, err := h.fake.DeliverBatch(evs[1], evs[0])
	if err != nil || status != http.StatusOK {
		t.Fatalf("deliver batch: %d %v", status, err)
	}

	events := h.drain()
	if len(events) != 2 || events[0].Kind != crm.EntityCreated || events[1].Kind != crm.EntityChanged {
		t.Fatalf("events = %+v, want creation first, then the change", events)
	}
}

func TestFakeRetryDeduplicated(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Retried deal", "default", ""))
	h.fake.SetDealStage(d.ID, "closedwon")

	if status, err := h.fake.RetryLast(); err != nil || status != http.StatusOK {
		t.Fatalf("retry: %d %v", status, err)
	}
	if status, err := h.fake.Redeliver(h.fake.Events()[0].EventID); err != nil || status != http.StatusOK {
		t.Fatalf("redeliver: %d %v", status, err)
	}
	if n := len(pending(t, h.st)); n != 2 {
		t.Errorf("items = %d, want 2 (retries are duplicates)", n)
	}
	last := h.fake.Deliveries()[len(h.fake.Deliveries())-1]
	if last.Events[0].AttemptNumber != 1 {
		t.Errorf("redelivery attemptNumber = %d, want 1", last.Events[0].AttemptNumber)
	}
}

func TestFakeTwoConnectionsOnePortal(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	a := h.connect("user-a")
	b := h.connect("user-b")
	s := seedClients(h)
	h.fake.CreateDeal(s.deal("Shared portal deal", "default", ""))

	items := pending(t, h.st)
	if len(items) != 2 {
		t.Fatalf("items = %d, want one per connection", len(items))
	}
	got := map[string]bool{items[0].ConnectionID: true, items[1].ConnectionID: true}
	if !got[a.ID] || !got[b.ID] {
		t.Errorf("items went to %v, want %s and %s", got, a.ID, b.ID)
	}
}

func TestFakeUnknownPortalIgnored(t *testing.T) {
	h := newHarness(t, hubspottest.Options{PortalID: 11112222})
	h.connect("user-1") // connected to 48213377, the fake sends 11112222
	s := seedClients(h)
	h.fake.CreateDeal(s.deal("Other portal deal", "default", ""))

	d := h.fake.Deliveries()
	if len(d) != 1 || d[0].Status != http.StatusOK {
		t.Fatalf("deliveries = %+v, want one answered 200", d)
	}
	if n := len(pending(t, h.st)); n != 0 {
		t.Errorf("items = %d, want none for an unknown portal", n)
	}
}

func TestFakeIgnoredEventsAnswer200(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	status, err := h.fake.DeliverBatch(hubspottest.Event{EventID: 1, SubscriptionID: 9, PortalID: 48213377, AppID: 3319021,
		OccurredAt: time.Now().UnixMilli(), SubscriptionType: "contact.creation", ObjectID: 123, ChangeSource: "CRM"})
	if err != nil || status != http.StatusOK {
		t.Fatalf("contact event answered %d %v, want 200", status, err)
	}
	if n := len(pending(t, h.st)); n != 0 {
		t.Errorf("items = %d, want none", n)
	}
}

func TestFakeDeletion(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Deleted deal", "default", ""))
	h.drain()

	h.fake.SetDeliveries(false)
	h.fake.SetDealStage(d.ID, "closedwon")
	h.fake.DeleteDeal(d.ID)
	h.fake.SetDeliveries(true)
	evs := h.fake.Events()
	if _, err := h.fake.DeliverBatch(evs[1], evs[2]); err != nil {
		t.Fatalf("deliver: %v", err)
	}

	events := h.drain()
	if len(events) != 1 || events[0].Kind != crm.EntityDeleted || events[0].EntityID != d.ID {
		t.Fatalf("events = %+v, want only entity_deleted (the change cannot be read)", events)
	}
}

// TestFakePollingAlone runs with webhooks off and checks that polling finds
// the same creations and outcomes, counts them as missed, and moves the cursor.
func TestFakePollingAlone(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	conn := h.connect("user-1")
	s := seedClients(h)
	h.fake.SetDeliveries(false)
	old := h.fake.CreateDeal(s.deal("Existing deal", "default", ""))

	first, err := h.c.Poll(context.Background(), conn.ID)
	if err != nil {
		t.Fatalf("first poll: %v", err)
	}
	if first.Queued != 1 || first.Missed != 0 {
		t.Errorf("first poll = %+v, want 1 queued and none missed", first)
	}
	initial := h.drain()
	if len(initial) != 1 || initial[0].Kind != crm.EntityChanged {
		t.Errorf("first poll events = %+v, want one entity_changed (nothing is new on a first poll)", initial)
	}
	h.apply(initial)

	time.Sleep(5 * time.Millisecond)
	fresh := h.fake.CreateDeal(s.deal("New deal", "731905512", "1190243387"))
	h.fake.SetDealStage(old.ID, "closedlost")

	second, err := h.c.Poll(context.Background(), conn.ID)
	if err != nil {
		t.Fatalf("second poll: %v", err)
	}
	if second.Queued != 2 || second.Missed != 2 {
		t.Errorf("second poll = %+v, want 2 queued, 2 missed", second)
	}
	events := h.drain()
	byID := map[string]crm.Event{}
	for _, ev := range events {
		byID[ev.EntityID] = ev
	}
	if ev := byID[fresh.ID]; ev.Kind != crm.EntityCreated || ev.Outcome != crm.OutcomeWon || ev.ClientName != "Dana Reyes" {
		t.Errorf("new deal event = %+v, want entity_created, won, Dana Reyes", ev)
	}
	if ev := byID[old.ID]; ev.Kind != crm.EntityChanged || ev.Outcome != crm.OutcomeLost {
		t.Errorf("changed deal event = %+v, want entity_changed, lost", ev)
	}

	health := h.connection(conn.ID).Health
	if health.MissedByWebhooks != 2 || health.LastPollAt.IsZero() || health.LastPollError != "" {
		t.Errorf("health = %+v", health)
	}
	if d, _ := h.fake.Deal(old.ID); !health.Cursor.Equal(d.ModifiedAt) {
		t.Errorf("cursor = %s, want the newest modification %s", health.Cursor, d.ModifiedAt)
	}
}

func TestFakePollAfterWebhookNotMissed(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	conn := h.connect("user-1")
	s := seedClients(h)
	if _, err := h.c.Poll(context.Background(), conn.ID); err != nil {
		t.Fatalf("first poll: %v", err)
	}

	d := h.fake.CreateDeal(s.deal("Webhook deal", "default", ""))
	h.fake.SetDealStage(d.ID, "closedwon")
	res, err := h.c.Poll(context.Background(), conn.ID)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.Queued != 1 || res.Missed != 0 {
		t.Errorf("poll = %+v, want 1 queued, none missed (webhooks delivered it)", res)
	}
}

func TestFakePollWindowRestartsAtCap(t *testing.T) {
	cases := []struct {
		name         string
		deals        int
		sameInstant  bool
		wantRestarts bool
	}{
		{"distinct times", 900, false, true},
		{"one millisecond", 500, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, hubspottest.Options{SearchResultCap: 400})
			h.c.searchResultCap = 400
			conn := h.connect("user-1")
			h.fake.SetDeliveries(false)

			base := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
			for i := 0; i < tc.deals; i++ {
				at := base.Add(time.Duration(i) * time.Millisecond)
				if tc.sameInstant {
					at = base
				}
				h.fake.CreateDeal(hubspottest.DealInput{Name: "Bulk deal", CreatedAt: at})
			}
			h.fake.ResetRequests()

			res, err := h.c.Poll(context.Background(), conn.ID)
			if err != nil {
				t.Fatalf("poll: %v", err)
			}
			if res.Queued != tc.deals {
				t.Errorf("queued = %d, want every deal once (%d)", res.Queued, tc.deals)
			}

			var searches []hubspottest.Request
			for _, r := range h.fake.Requests() {
				if r.Path == "/crm/v3/objects/deals/search" {
					searches = append(searches, r)
				}
				if r.Status != http.StatusOK {
					t.Errorf("%s %s answered %d: %s", r.Method, r.Path, r.Status, r.Body)
				}
			}
			// At most 5 searches start within any one second.
			for i := 5; i < len(searches); i++ {
				if gap := searches[i].At.Sub(searches[i-5].At); gap < 990*time.Millisecond {
					t.Errorf("searches %d and %d are %s apart, want at least 1s for 5 requests", i-5, i, gap)
				}
			}
		})
	}
}

func TestFakePoll429(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	conn := h.connect("user-1")
	s := seedClients(h)
	h.fake.SetDeliveries(false)
	h.fake.CreateDeal(s.deal("Rate limited deal", "default", ""))

	h.fake.Force429(hubspottest.PolicyTenSecondly)
	res, err := h.c.Poll(context.Background(), conn.ID)
	if err != nil || res.Queued != 1 {
		t.Fatalf("poll after a ten-secondly 429 = %+v, %v; want it to wait and succeed", res, err)
	}

	h.fake.Force429(hubspottest.PolicyDaily)
	_, err = h.c.Poll(context.Background(), conn.ID)
	if !errors.Is(err, crm.ErrPaused) {
		t.Fatalf("poll after a daily 429 = %v, want ErrPaused", err)
	}
	health := h.connection(conn.ID).Health
	if want := nextUTCMidnight(time.Now()); !health.PausedUntil.Equal(want) {
		t.Errorf("paused until = %s, want %s", health.PausedUntil, want)
	}

	// The next day polling resumes.
	h.c.now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	if _, err := h.c.Poll(context.Background(), conn.ID); err != nil {
		t.Fatalf("poll the next day: %v", err)
	}
	if !h.connection(conn.ID).Health.PausedUntil.IsZero() {
		t.Error("pause not cleared after a successful poll")
	}
}

func TestFakeOAuthRefreshAndBroken(t *testing.T) {
	h := newHarness(t, hubspottest.Options{HubDomain: "kestrel-partners.example"})
	ctx := context.Background()

	authURL, err := h.c.StartOAuth(ctx, "user-1", nil)
	if err != nil {
		t.Fatalf("start oauth: %v", err)
	}
	u, _ := url.Parse(authURL)
	if got := u.Query().Get("scope"); got != "crm.objects.deals.read crm.objects.contacts.read crm.objects.companies.read oauth" {
		t.Errorf("scope = %q", got)
	}
	if got := u.Query().Get("redirect_uri"); got != h.hook.URL+"/oauth/hubspot/callback" {
		t.Errorf("redirect_uri = %q", got)
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	conn, err := h.c.FinishOAuth(ctx, map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")})
	if err != nil {
		t.Fatalf("finish oauth: %v", err)
	}
	if conn.PortalID != testPortal || conn.AccountName != "kestrel-partners.example" || conn.RefreshToken == "" {
		t.Errorf("connection = portal %q account %q", conn.PortalID, conn.AccountName)
	}
	if _, err := h.c.FinishOAuth(ctx, map[string]string{"code": "x", "state": back.Query().Get("state")}); err == nil {
		t.Error("a used state was accepted twice")
	}

	// An expired token is refreshed after the 401.
	h.fake.ExpireAccessTokens()
	if _, err := h.c.Poll(ctx, conn.ID); err != nil {
		t.Fatalf("poll with an expired token: %v", err)
	}
	tokenCalls := countRequests(h.fake.Requests(), "POST", "/oauth/v3/token")
	if tokenCalls != 2 {
		t.Errorf("token requests = %d, want 2 (code exchange, refresh)", tokenCalls)
	}

	// A token within five minutes of expiry is refreshed before the call.
	h.c.now = func() time.Time { return time.Now().Add(26 * time.Minute) }
	if _, err := h.c.Poll(ctx, conn.ID); err != nil {
		t.Fatalf("poll near expiry: %v", err)
	}
	if n := countRequests(h.fake.Requests(), "POST", "/oauth/v3/token"); n != tokenCalls+1 {
		t.Errorf("token requests = %d, want %d (one proactive refresh)", n, tokenCalls+1)
	}
	h.c.now = time.Now

	// An uninstalled app refuses the refresh: the connection is broken.
	h.fake.RevokeRefreshTokens()
	h.fake.ExpireAccessTokens()
	_, err = h.c.Poll(ctx, conn.ID)
	if !errors.Is(err, crm.ErrBroken) {
		t.Fatalf("poll after revocation = %v, want ErrBroken", err)
	}
	stored := h.connection(conn.ID)
	if stored.State != store.ConnectionBroken || !strings.Contains(stored.StateMessage, "connect HubSpot again") {
		t.Errorf("connection state = %q %q", stored.State, stored.StateMessage)
	}
}

func TestFakeSecondPortalRejected(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	h.connect("user-1")
	h.fake.AddStaticToken("pat-other")

	_, err := h.c.Connect(context.Background(), "user-1", crm.ConnectRequest{Provider: "hubspot", AccessToken: "pat-other", PortalID: "99887766"})
	var fe *crm.FieldError
	if !errors.As(err, &fe) || fe.Field != "portal_id" || !strings.Contains(fe.Message, "disconnect the HubSpot connection to portal 48213377 first") {
		t.Fatalf("connect to a second portal = %v, want a portal_id field error", err)
	}

	// Reconnecting the same portal updates the existing connection.
	again := h.connect("user-1")
	var conns []store.Connection
	_ = h.st.View(func(tx *store.Tx) error { conns, err = tx.UserConnections("user-1"); return err })
	if len(conns) != 1 || conns[0].ID != again.ID {
		t.Errorf("connections after reconnect = %d, want 1", len(conns))
	}
}

func TestFakeConnectRejectsBadToken(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	cases := []struct {
		name, token, portal, field string
	}{
		{"unknown token", "pat-unknown", testPortal, "access_token"},
		{"missing token", "", testPortal, "access_token"},
		{"portal not a number", "pat-x", "kestrel", "portal_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.c.Connect(context.Background(), "user-1", crm.ConnectRequest{Provider: "hubspot", AccessToken: tc.token, PortalID: tc.portal})
			var fe *crm.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error = %v, want a %s field error", err, tc.field)
			}
		})
	}
}

func TestFakeSearchFetchDisconnect(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	conn := h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Harbourline Freight - telematics", "default", "closedwon"))
	h.fake.CreateDeal(s.deal("Unrelated deal", "default", ""))

	found, err := h.c.Search(context.Background(), conn.ID, "harbourline telematics")
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(found) != 1 || found[0].EntityID != d.ID || found[0].Outcome != crm.OutcomeWon {
		t.Errorf("search results = %+v, want the Harbourline deal, won", found)
	}

	ev, err := h.c.Fetch(context.Background(), conn.ID, d.ID)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if ev.Kind != crm.EntityChanged || ev.ClientName != "Dana Reyes" || ev.ID == "" {
		t.Errorf("fetched = %+v", ev)
	}
	var fe *crm.FieldError
	if _, err := h.c.Fetch(context.Background(), conn.ID, "99999"); !errors.As(err, &fe) {
		t.Errorf("fetch of a missing deal = %v, want a field error", err)
	}

	if err := h.c.Disconnect(context.Background(), conn.ID); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if _, err := h.c.loadConnection(conn.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("connection after disconnect: %v, want not found", err)
	}
}

// TestFakeNoWriteEndpoint runs every flow and checks that each request was
// a read: GET, a search, a batch read, or an OAuth call.
func TestFakeNoWriteEndpoint(t *testing.T) {
	h := newHarness(t, hubspottest.Options{})
	ctx := context.Background()
	conn := h.connect("user-1")
	s := seedClients(h)
	d := h.fake.CreateDeal(s.deal("Read-only deal", "default", ""))
	h.fake.SetDealStage(d.ID, "closedwon")
	h.fake.AssociateContact(d.ID, s.first, "Primary")
	h.drain()
	if _, err := h.c.Poll(ctx, conn.ID); err != nil {
		t.Fatalf("poll: %v", err)
	}
	if _, err := h.c.Search(ctx, conn.ID, "read"); err != nil {
		t.Fatalf("search: %v", err)
	}
	if err := h.c.Maintain(ctx, conn.ID); err != nil {
		t.Fatalf("maintain: %v", err)
	}
	if err := h.c.Disconnect(ctx, conn.ID); err != nil {
		t.Fatalf("disconnect: %v", err)
	}

	readPosts := map[string]bool{
		"/crm/v3/objects/deals/search":        true,
		"/crm/v3/objects/contacts/batch/read": true,
		"/oauth/v3/token":                     true,
		"/oauth/v3/token/introspect":          true,
	}
	reqs := h.fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests recorded")
	}
	for _, r := range reqs {
		if r.Method == http.MethodGet || (r.Method == http.MethodPost && readPosts[r.Path]) {
			continue
		}
		t.Errorf("write request %s %s", r.Method, r.Path)
	}
}
