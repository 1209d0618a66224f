package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
)

const (
	clioTestClient = "rp-clio-client"
	clioTestSecret = "rp-clio-secret"
)

// clioWorld is the appliance, a fake Clio, Ada (who connects Clio and
// receives referrals) and Mary (a registered partner who sends them).
type clioWorld struct {
	*appliance
	fake *cliotest.Server
	people
	connID   string
	webhooks bool
}

func newClioWorld(t *testing.T, webhooks bool) *clioWorld {
	t.Helper()
	fake := cliotest.New(cliotest.Options{ClientID: clioTestClient, ClientSecret: clioTestSecret, AllowHTTPWebhooks: true})
	t.Cleanup(func() {
		if writes := fake.RecordWrites(); len(writes) > 0 {
			t.Errorf("the appliance wrote to Clio records: %+v", writes)
		}
		fake.Close()
	})
	a := startAppliance(t, func(c *config) {
		c.ClioClientID, c.ClioClientSecret, c.ClioBaseURL = clioTestClient, clioTestSecret, fake.URL()
	})
	w := &clioWorld{appliance: a, fake: fake, webhooks: webhooks}
	w.people = a.seedPeople()

	tok := fake.IssueTokens()
	var conn struct {
		ID    string
		State string
	}
	a.mustCall(201, w.adaTok, "POST", "/api/v1/connections", map[string]any{
		"provider": "clio", "region": "us", "access_token": tok.AccessToken,
		"refresh_token": tok.RefreshToken, "expires_in": tok.ExpiresIn,
	}, &conn)
	w.connID = conn.ID
	if !webhooks {
		fake.SetDeliveries(false)
		// The first poll only sets the cursor; later polls see what changed after it.
		w.sync()
	}
	return w
}

// sync makes the appliance see Clio's latest changes: by the webhooks
// already delivered, or by polling when deliveries are off.
func (w *clioWorld) sync() {
	w.t.Helper()
	if !w.webhooks {
		// Clio timestamps have one-second resolution; let the second pass so
		// the poll's window is unambiguous.
		time.Sleep(1100 * time.Millisecond)
		w.mustCall(200, w.adaTok, "POST", "/api/v1/connections/"+w.connID+"/poll", nil, nil)
	}
	w.settle()
}

func TestClioStory(t *testing.T) {
	for _, mode := range []struct {
		name     string
		webhooks bool
	}{{"webhooks", true}, {"polling only", false}} {
		t.Run(mode.name, func(t *testing.T) {
			w := newClioWorld(t, mode.webhooks)
			okafor := w.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"Adaeze.Okafor@EXAMPLE.org"}})
			pryce := w.fake.AddContact(cliotest.ContactInput{Name: "Jonathan Pryce", Emails: []string{"jon.p@othermail.example"}})
			stranger := w.fake.AddContact(cliotest.ContactInput{Name: "Quentin Blackwood", Emails: []string{"q@example.com"}})
			m1 := w.fake.CreateMatter(cliotest.MatterInput{ClientID: okafor.ID, Description: "Okafor v. Brightline"})
			w.fake.CreateMatter(cliotest.MatterInput{ClientID: pryce.ID, Description: "Pryce custody"})
			w.fake.CreateMatter(cliotest.MatterInput{ClientID: stranger.ID, Description: "Blackwood zoning"})
			w.sync()

			// Email match: silent link and the confirmation banner.
			r := w.referral(w.adaTok, w.okafor.ID)
			if len(r.Links) != 1 || r.Links[0].LinkedBy != "email" {
				t.Fatalf("okafor links = %s, want one email link", describe(r.Links))
			}
			// Name match: a suggestion and its banner; no match: nothing.
			if p := w.referral(w.adaTok, w.pryce.ID); len(p.PendingSuggestions) != 1 || len(p.Links) != 0 {
				t.Errorf("pryce = %s, want one suggestion", describe(p))
			}
			titles := w.notificationTitles(w.adaTok)
			if countOf(titles, "New Clio matter linked to your referral") != 1 || countOf(titles, "New Clio matter, possible referral match") != 1 || len(titles) != 2 {
				t.Errorf("notifications = %v, want one link and one suggestion", titles)
			}

			// Pending keeps the referral open.
			if err := w.fake.SetMatterStatus(m1.ID, "Pending"); err != nil {
				t.Fatal(err)
			}
			w.sync()
			if got := w.referral(w.adaTok, w.okafor.ID).Status; got != "open" {
				t.Errorf("status after Pending = %s, want open", got)
			}

			// Closed: won here and on Mary's side.
			if err := w.fake.SetMatterStatus(m1.ID, "Closed"); err != nil {
				t.Fatal(err)
			}
			w.sync()
			if got := w.referral(w.adaTok, w.okafor.ID).Status; got != "won" {
				t.Fatalf("status after Closed = %s, want won", got)
			}
			if tl := w.timeline(w.adaTok, w.okafor.ID); countOf(tl, "Status changed to won (synced from Clio)") != 1 {
				t.Errorf("timeline = %v", tl)
			}
			theirs := w.referral(w.maryTok, w.okafor.CounterpartID)
			if theirs.Status != "won" {
				t.Errorf("Mary's copy = %s, want won", theirs.Status)
			}
			if tl := w.timeline(w.maryTok, theirs.ID); countOf(tl, "Status changed to won (synced partner update)") != 1 {
				t.Errorf("Mary's timeline = %v", tl)
			}
			if got := w.notificationTitles(w.maryTok); countOf(got, "Referral status updated to won") != 1 {
				t.Errorf("Mary's notifications = %v", got)
			}

			// A paid bill queues one draft to Mary.
			bill, err := w.fake.CreateBill(cliotest.BillInput{MatterIDs: []int64{m1.ID}, Total: 2450})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.fake.PayBill(bill.ID); err != nil {
				t.Fatal(err)
			}
			w.sync()
			var drafts struct {
				Items []struct{ To, Subject, Body, State string }
			}
			w.mustCall(200, w.adaTok, "GET", "/api/v1/action-queue", nil, &drafts)
			if len(drafts.Items) != 1 || drafts.Items[0].To != "mary@example.com" || drafts.Items[0].State != "draft" {
				t.Fatalf("action queue = %s, want one draft to Mary", describe(drafts.Items))
			}

			if mode.webhooks {
				// Every delivery again, as Clio retries: nothing changes.
				for i := range w.fake.Deliveries() {
					if err := w.fake.Redeliver(i); err != nil {
						t.Fatal(err)
					}
				}
				w.sync()
				w.mustCall(200, w.adaTok, "GET", "/api/v1/action-queue", nil, &drafts)
				if len(drafts.Items) != 1 {
					t.Errorf("drafts after redelivery = %d, want 1", len(drafts.Items))
				}
				if tl := w.timeline(w.adaTok, w.okafor.ID); countOf(tl, "Status changed to won (synced from Clio)") != 1 {
					t.Errorf("timeline after redelivery = %v", tl)
				}
				if got := w.notificationTitles(w.maryTok); countOf(got, "Referral status updated to won") != 1 {
					t.Errorf("Mary's notifications after redelivery = %v", got)
				}
			}
		})
	}
}

func TestClioBadSignatureStoresNothing(t *testing.T) {
	w := newClioWorld(t, true)
	contact := w.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"adaeze.okafor@example.org"}})
	w.fake.CreateMatter(cliotest.MatterInput{ClientID: contact.ID, Description: "Okafor"})
	w.settle()
	d := w.fake.Deliveries()[len(w.fake.Deliveries())-1]

	forged := bytes.Replace(d.Body, []byte("Okafor"), []byte("Forged"), 1)
	for name, sig := range map[string]string{"wrong": strings.Repeat("0", 64), "missing": "", "original over changed body": d.Signature} {
		req, _ := http.NewRequest("POST", w.base+"/webhooks/clio/"+w.connID, bytes.NewReader(forged))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Hook-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s signature: status %d, want 401", name, resp.StatusCode)
		}
	}
	var metrics bytes.Buffer
	resp, err := http.Get(w.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(metrics.String(), "referralpulse_webhooks_rejected_total 3") {
		t.Errorf("metrics do not count 3 rejected webhooks:\n%s", metrics.String())
	}
	if titles := w.notificationTitles(w.adaTok); len(titles) != 1 {
		t.Errorf("notifications = %v, want only the genuine link", titles)
	}
}

func TestClioRecoversFromExpiredTokenAnd429(t *testing.T) {
	w := newClioWorld(t, false)
	contact := w.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"adaeze.okafor@example.org"}})
	w.fake.CreateMatter(cliotest.MatterInput{ClientID: contact.ID, Description: "Okafor"})
	w.fake.ExpireAccessTokens()
	w.fake.Throttle(1, time.Second)
	w.sync()
	if r := w.referral(w.adaTok, w.okafor.ID); len(r.Links) != 1 {
		t.Fatalf("links = %d after an expired token and a 429, want 1", len(r.Links))
	}
	var conn struct {
		State  string
		Health struct {
			LastPollAt       string `json:"last_poll_at"`
			MissedByWebhooks int    `json:"missed_by_webhooks"`
		}
	}
	w.mustCall(200, w.adaTok, "GET", "/api/v1/connections/"+w.connID, nil, &conn)
	if conn.State != "connected" || conn.Health.LastPollAt == "" || conn.Health.MissedByWebhooks < 1 {
		t.Errorf("connection = %s, want connected with a poll that caught a missed change", describe(conn))
	}
}

func TestClioExpiredWebhookIsRecreated(t *testing.T) {
	w := newClioWorld(t, true)
	for id := range w.fake.Webhooks() {
		if err := w.fake.ExpireWebhook(id); err != nil {
			t.Fatal(err)
		}
	}
	w.srv.scheduler.MaintainAll(t.Context())

	contact := w.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"adaeze.okafor@example.org"}})
	w.fake.CreateMatter(cliotest.MatterInput{ClientID: contact.ID, Description: "Okafor"})
	w.settle()
	if r := w.referral(w.adaTok, w.okafor.ID); len(r.Links) != 1 {
		t.Errorf("links = %d; the renewed webhooks did not deliver the new matter", len(r.Links))
	}
}

func TestClioMatterDeletedThenDisconnect(t *testing.T) {
	w := newClioWorld(t, true)
	contact := w.fake.AddContact(cliotest.ContactInput{Name: "Adaeze Okafor", Emails: []string{"adaeze.okafor@example.org"}})
	m := w.fake.CreateMatter(cliotest.MatterInput{ClientID: contact.ID, Description: "Okafor"})
	w.settle()
	if err := w.fake.SetMatterStatus(m.ID, "Closed"); err != nil {
		t.Fatal(err)
	}
	if err := w.fake.DeleteMatter(m.ID); err != nil {
		t.Fatal(err)
	}
	w.settle()

	r := w.referral(w.adaTok, w.okafor.ID)
	if r.Status != "won" || len(r.Links) != 1 || !r.Links[0].EntityGone {
		t.Fatalf("after deletion = %s, want won with the link marked deleted", describe(r))
	}
	found := false
	for _, text := range w.timeline(w.adaTok, w.okafor.ID) {
		found = found || strings.Contains(text, "was deleted in Clio")
	}
	if !found {
		t.Error("timeline lacks the deletion entry")
	}

	w.mustCall(204, w.adaTok, "DELETE", "/api/v1/connections/"+w.connID, nil, nil)
	if n := len(w.fake.Webhooks()); n != 0 {
		t.Errorf("%d webhooks left in Clio after disconnect", n)
	}
	if !w.fake.Deauthorized() {
		t.Error("disconnect did not call deauthorize")
	}
	if r := w.referral(w.adaTok, w.okafor.ID); len(r.Links) != 1 || r.Status != "won" {
		t.Errorf("after disconnect = %s, want the link and status kept", describe(r))
	}
	if code := w.call(w.adaTok, "GET", "/api/v1/connections/"+w.connID, nil, nil); code != 404 {
		t.Errorf("connection after disconnect = %d, want 404", code)
	}
}
