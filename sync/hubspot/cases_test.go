package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// caseServer serves the captured-shape responses in testdata, so
// these tests check the connector against HubSpot's documented payloads
// rather than against the fake.
type caseServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	requests  []string // "METHOD path?query body"
	responses map[string][]caseResponse
}

type caseResponse struct {
	status int
	body   []byte
}

func newCaseServer(t *testing.T) *caseServer {
	cs := &caseServer{t: t, responses: map[string][]caseResponse{}}
	cs.srv = httptest.NewServer(http.HandlerFunc(cs.serve))
	t.Cleanup(cs.srv.Close)

	cs.always("GET /crm/v3/objects/deals/31877240115", 200, readCase(t, "deal-with-associations.json"))
	cs.always("GET /crm/v4/objects/deals/31877240115/associations/contacts", 200, readCase(t, "deal-contacts-v4.json"))
	cs.always("POST /crm/v3/objects/contacts/batch/read", 200, readCase(t, "contacts-batch-read.json"))
	cs.always("GET /crm/v3/objects/companies/15520077341", 200, []byte(`{"id":"15520077341","properties":{"name":"Harbourline Freight Ltd","domain":"harbourline-freight.example","hs_object_id":"15520077341"},"archived":false}`))
	cs.always("GET /crm/v3/pipelines/deals", 200, readCase(t, "pipelines.json"))
	cs.always("POST /crm/v3/objects/deals/search", 200, readCase(t, "search-response.json"))
	return cs
}

// always sets the steady response of a route, and once queues one response ahead of it.
func (cs *caseServer) always(route string, status int, body []byte) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.responses[route] = []caseResponse{{status, body}}
}

func (cs *caseServer) once(route string, status int, body []byte) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.responses[route] = append([]caseResponse{{status, body}}, cs.responses[route]...)
}

func (cs *caseServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.Path

	cs.mu.Lock()
	cs.requests = append(cs.requests, route+"?"+r.URL.RawQuery+" "+string(body))
	queue := cs.responses[route]
	var resp caseResponse
	switch {
	case len(queue) == 0:
		resp = caseResponse{404, []byte(`{"status":"error","message":"Object not found.","category":"OBJECT_NOT_FOUND"}`)}
	case len(queue) == 1:
		resp = queue[0]
	default:
		resp, cs.responses[route] = queue[0], queue[1:]
	}
	cs.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (cs *caseServer) requestsTo(route string) []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []string
	for _, r := range cs.requests {
		if strings.HasPrefix(r, route+"?") {
			out = append(out, r)
		}
	}
	return out
}

// newCaseConnector returns a connector on the case server with one
// static-token connection on portal 48213377.
func newCaseConnector(t *testing.T, primaryLabel string) (*Connector, store.Connection, *caseServer) {
	t.Helper()
	cs := newCaseServer(t)
	c, err := New(Config{
		Store: openStore(t), ClientID: "id", ClientSecret: "secret", BaseURL: cs.srv.URL,
		PublicURL: "https://referrals.example.com", PrimaryLabel: primaryLabel, Logger: zerolog.New(io.Discard),
	})
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	c.secondlyBackoff = 10 * time.Millisecond
	c.tenSecondlyBackoff = 10 * time.Millisecond
	conn, err := c.Connect(context.Background(), "user-1", crm.ConnectRequest{Provider: "hubspot", AccessToken: "pat-na1-test", PortalID: testPortal})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return c, conn, cs
}

// deliverCase posts a case batch, signed with v3, and returns the items stored.
func deliverCase(t *testing.T, c *Connector, name string) []store.InboxItem {
	t.Helper()
	body := readCase(t, name)
	ts := time.Now()
	header := hdr(headerSignatureV3, signV3(c.cfg.ClientSecret, "POST", c.WebhookURL(), body, itoa(ts.UnixMilli())), headerTimestamp, itoa(ts.UnixMilli()))
	resp := c.HandleWebhook(context.Background(), crm.WebhookRequest{Method: "POST", URL: c.WebhookURL(), Header: header, Body: body})
	if resp.Status != http.StatusOK {
		t.Fatalf("deliver %s: status %d %s", name, resp.Status, resp.Body)
	}
	return pending(t, c.st)
}

func resolveItems(t *testing.T, c *Connector, items []store.InboxItem) [][]crm.Event {
	t.Helper()
	var out [][]crm.Event
	for _, it := range items {
		events, err := c.Resolve(context.Background(), it)
		if err != nil {
			t.Fatalf("resolve %s: %v", it.Key, err)
		}
		out = append(out, events)
	}
	return out
}

func TestResolveDealstageCase(t *testing.T) {
	cases := []struct {
		name         string
		primaryLabel string
		wantEmails   []string
		wantName     string
		wantContact  string
	}{
		{"labelled primary contact", "Primary referral contact", []string{"marisol.okafor@harbourline-freight.example"}, "Marisol Okafor", "90211903"},
		{"label match ignores case", "primary REFERRAL contact", []string{"marisol.okafor@harbourline-freight.example"}, "Marisol Okafor", "90211903"},
		// The batch-read case only holds 90211903, so the fallback to the
		// first contact finds no details; the request shows the choice.
		{"no label match falls back to first contact", "Primary", nil, "", "90211457"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, cs := newCaseConnector(t, tc.primaryLabel)
			items := deliverCase(t, c, "dealstage-change.json")
			if len(items) != 1 {
				t.Fatalf("stored %d items, want 1", len(items))
			}

			events := resolveItems(t, c, items)[0]
			if len(events) != 1 {
				t.Fatalf("got %d events, want 1", len(events))
			}
			ev := events[0]
			if ev.Kind != crm.EntityChanged {
				t.Errorf("kind = %s, want entity_changed", ev.Kind)
			}
			if ev.ID != items[0].Key {
				t.Errorf("event id = %q, want the inbox key %q", ev.ID, items[0].Key)
			}
			if ev.EntityID != "31877240115" || ev.EntityType != "deal" {
				t.Errorf("entity = %s %s, want deal 31877240115", ev.EntityType, ev.EntityID)
			}
			if ev.EntityName != "Harbourline Freight - fleet telematics rollout" {
				t.Errorf("entity name = %q", ev.EntityName)
			}
			if ev.Outcome != crm.OutcomeWon || ev.StatusLabel != "Won - referral paid" {
				t.Errorf("outcome = %q (%q), want won from custom stage 1190243387", ev.Outcome, ev.StatusLabel)
			}
			if ev.ClientCompany != "Harbourline Freight Ltd" {
				t.Errorf("company = %q, want the primary company's name", ev.ClientCompany)
			}
			if ev.ClientName != tc.wantName {
				t.Errorf("client name = %q, want %q", ev.ClientName, tc.wantName)
			}
			if strings.Join(ev.ClientEmails, ",") != strings.Join(tc.wantEmails, ",") {
				t.Errorf("client emails = %v, want %v", ev.ClientEmails, tc.wantEmails)
			}
			if want := time.Date(2026, 9, 30, 16, 12, 6, 447e6, time.UTC); !ev.Version.Equal(want) {
				t.Errorf("version = %s, want hs_lastmodifieddate %s", ev.Version, want)
			}
			if want := time.Date(2026, 8, 14, 9, 40, 11, 902e6, time.UTC); !ev.CreatedAt.Equal(want) {
				t.Errorf("created at = %s, want createdate %s", ev.CreatedAt, want)
			}

			reads := cs.requestsTo("POST /crm/v3/objects/contacts/batch/read")
			if len(reads) != 1 || !strings.Contains(reads[0], `"id":"`+tc.wantContact+`"`) {
				t.Errorf("contact batch reads = %v, want one for %s", reads, tc.wantContact)
			}
		})
	}
}

func TestResolveCreationBatchCase(t *testing.T) {
	c, _, _ := newCaseConnector(t, "Primary referral contact")
	items := deliverCase(t, c, "deal-creation-batch.json")
	if len(items) != 2 {
		t.Fatalf("stored %d items, want 2", len(items))
	}

	events := resolveItems(t, c, items)
	if events[0][0].Kind != crm.EntityCreated {
		t.Errorf("first item kind = %s, want entity_created", events[0][0].Kind)
	}
	if events[1][0].Kind != crm.EntityChanged {
		t.Errorf("second item kind = %s, want entity_changed", events[1][0].Kind)
	}
}

func TestResolveAssociationChangeCase(t *testing.T) {
	c, _, _ := newCaseConnector(t, "Primary referral contact")
	items := deliverCase(t, c, "association-change.json")
	if len(items) != 1 {
		t.Fatalf("stored %d items, want 1", len(items))
	}

	events := resolveItems(t, c, items)[0]
	if len(events) != 1 || events[0].Kind != crm.EntityChanged || events[0].EntityID != "31877240115" {
		t.Fatalf("events = %+v, want one entity_changed for deal 31877240115 (fromObjectId)", events)
	}
}

func TestRetryBatchCaseDeduplicated(t *testing.T) {
	c, _, _ := newCaseConnector(t, "Primary referral contact")
	first := deliverCase(t, c, "dealstage-change.json")
	all := deliverCase(t, c, "dealstage-retry-batch.json")
	if len(first) != 1 || len(all) != 2 {
		t.Fatalf("items after first delivery %d, after retry batch %d; want 1 and 2 (the retry is a duplicate)", len(first), len(all))
	}

	// Deal 31877240560 does not exist on the case server: a change to a
	// deal that cannot be read yields no events.
	events := resolveItems(t, c, all[1:])[0]
	if len(events) != 0 {
		t.Errorf("events for an unreadable deal = %+v, want none", events)
	}
}

func TestResolveDeletionWithoutRead(t *testing.T) {
	c, _, cs := newCaseConnector(t, "")
	body := `[{"eventId":4103001000,"subscriptionId":2210458,"portalId":48213377,"appId":3319021,"occurredAt":1790042700000,"subscriptionType":"deal.deletion","attemptNumber":0,"objectId":31877240560,"changeSource":"CRM_UI"}]`
	ts := itoa(time.Now().UnixMilli())
	resp := c.HandleWebhook(context.Background(), crm.WebhookRequest{Method: "POST", URL: c.WebhookURL(), Body: []byte(body),
		Header: hdr(headerSignatureV3, signV3("secret", "POST", c.WebhookURL(), []byte(body), ts), headerTimestamp, ts)})
	if resp.Stored != 1 {
		t.Fatalf("stored %d, want 1", resp.Stored)
	}

	events := resolveItems(t, c, pending(t, c.st))[0]
	if len(events) != 1 || events[0].Kind != crm.EntityDeleted || events[0].EntityID != "31877240560" {
		t.Fatalf("events = %+v, want one entity_deleted", events)
	}
	if !events[0].Version.Equal(time.UnixMilli(1790042700000)) {
		t.Errorf("version = %s, want occurredAt", events[0].Version)
	}
	if n := len(cs.requestsTo("GET /crm/v3/objects/deals/31877240560")); n != 0 {
		t.Errorf("deletion read the deal %d times, want none", n)
	}
}

func TestClassifyPipelinesCase(t *testing.T) {
	var list pipelineList
	if err := json.Unmarshal(readCase(t, "pipelines.json"), &list); err != nil {
		t.Fatalf("decode pipelines: %v", err)
	}
	cache := buildPipelineCache(list, time.Now())

	cases := []struct {
		pipeline, stage string
		want            crm.Outcome
	}{
		{"default", "appointmentscheduled", crm.OutcomeOpen},
		{"default", "contractsent", crm.OutcomeOpen},
		{"default", "closedwon", crm.OutcomeWon},
		{"default", "closedlost", crm.OutcomeLost},
		{"731905512", "1190243380", crm.OutcomeOpen},
		{"731905512", "1190243387", crm.OutcomeWon},
		{"731905512", "1190243388", crm.OutcomeLost},
	}
	for _, tc := range cases {
		t.Run(tc.pipeline+"/"+tc.stage, func(t *testing.T) {
			info, ok := lookupStage(cache, tc.pipeline, tc.stage)
			if !ok {
				t.Fatal("stage not in cache")
			}
			if info.Outcome != tc.want {
				t.Errorf("outcome = %q, want %q", info.Outcome, tc.want)
			}
		})
	}
}

func TestClassifyStageMetadata(t *testing.T) {
	cases := []struct {
		name string
		meta string
		want crm.Outcome
	}{
		{"closed probability one", `{"isClosed":"true","probability":"1.0"}`, crm.OutcomeWon},
		{"closed probability zero", `{"isClosed":"true","probability":"0.0"}`, crm.OutcomeLost},
		{"open high probability", `{"isClosed":"false","probability":"1.0"}`, crm.OutcomeOpen},
		{"closed partial probability", `{"isClosed":"true","probability":"0.5"}`, crm.OutcomeUnknown},
		{"v1 numeric metadata", `{"isClosed":true,"probability":1}`, crm.OutcomeWon},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m stageMetadata
			if err := json.Unmarshal([]byte(tc.meta), &m); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := classifyStage(m); got != tc.want {
				t.Errorf("outcome = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPollSearchCase(t *testing.T) {
	c, conn, cs := newCaseConnector(t, "Primary referral contact")

	res, err := c.Poll(context.Background(), conn.ID)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.Fetched != 2 || res.Queued != 2 || res.Missed != 0 {
		t.Errorf("first poll = %+v, want 2 fetched, 2 queued, none missed", res)
	}
	wantCursor := time.Date(2026, 9, 30, 16, 12, 6, 447e6, time.UTC)
	if !res.Cursor.Equal(wantCursor) {
		t.Errorf("cursor = %s, want the newest hs_lastmodifieddate %s", res.Cursor, wantCursor)
	}

	var sent searchBody
	reqs := cs.requestsTo("POST /crm/v3/objects/deals/search")
	if err := json.Unmarshal([]byte(reqs[0][strings.Index(reqs[0], " {")+1:]), &sent); err != nil {
		t.Fatalf("decode search request: %v", err)
	}
	var want searchBody
	if err := json.Unmarshal(readCase(t, "search-request.json"), &want); err != nil {
		t.Fatalf("decode search case: %v", err)
	}
	f := sent.FilterGroups[0].Filters[0]
	if f.PropertyName != want.FilterGroups[0].Filters[0].PropertyName || f.Operator != "GTE" || sent.Limit != want.Limit || sent.Sorts[0] != want.Sorts[0] {
		t.Errorf("search body = %+v, want the shape of %+v", sent, want)
	}

	items := pending(t, c.st)
	for _, it := range items {
		var hint pollHint
		_ = json.Unmarshal(it.Payload, &hint)
		if hint.Created {
			t.Errorf("first poll marked deal %s as created", hint.DealID)
		}
		if !strings.HasPrefix(it.Key, "hubspot:poll:"+conn.ID+":deal:"+hint.DealID+":") || it.Source != "poll" {
			t.Errorf("poll item key %q source %q", it.Key, it.Source)
		}
	}

	// The second poll starts two minutes before the cursor.
	if _, err := c.Poll(context.Background(), conn.ID); err != nil {
		t.Fatalf("second poll: %v", err)
	}
	reqs = cs.requestsTo("POST /crm/v3/objects/deals/search")
	wantValue := itoa(wantCursor.Add(-2 * time.Minute).UnixMilli())
	if !strings.Contains(reqs[1], `"value":"`+wantValue+`"`) {
		t.Errorf("second search = %s, want filter value %s", reqs[1], wantValue)
	}
	if n := len(pending(t, c.st)); n != 2 {
		t.Errorf("items after the overlapping poll = %d, want still 2", n)
	}
}

func TestRateLimitCases(t *testing.T) {
	cases := []struct {
		name     string
		file     string
		wantErr  error
		attempts int
	}{
		{"ten secondly waits and retries", "429-ten-secondly.json", nil, 2},
		{"search secondly waits and retries", "429-search-secondly.json", nil, 2},
		{"daily pauses polling", "429-daily.json", crm.ErrPaused, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, conn, cs := newCaseConnector(t, "")
			cs.once("POST /crm/v3/objects/deals/search", 429, readCase(t, tc.file))

			_, err := c.Poll(context.Background(), conn.ID)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("poll error = %v, want %v", err, tc.wantErr)
			}
			if n := len(cs.requestsTo("POST /crm/v3/objects/deals/search")); n != tc.attempts {
				t.Errorf("search requests = %d, want %d", n, tc.attempts)
			}
			if tc.wantErr == nil {
				return
			}

			health := c.loadConnectionOrFail(t, conn.ID).Health
			if health.PausedUntil.IsZero() || !health.PausedUntil.After(time.Now()) {
				t.Errorf("paused until = %s, want a time tomorrow", health.PausedUntil)
			}
			if health.LastPollError == "" {
				t.Error("last poll error is empty")
			}
			_, err = c.Poll(context.Background(), conn.ID)
			if !errors.Is(err, crm.ErrPaused) {
				t.Errorf("poll while paused = %v, want ErrPaused", err)
			}
			if n := len(cs.requestsTo("POST /crm/v3/objects/deals/search")); n != 1 {
				t.Errorf("poll while paused sent requests: %d searches in total", n)
			}
		})
	}
}

func (c *Connector) loadConnectionOrFail(t *testing.T, id string) store.Connection {
	t.Helper()
	conn, err := c.loadConnection(id)
	if err != nil {
		t.Fatalf("load connection: %v", err)
	}
	return conn
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
