package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

// hubspotWorld is the appliance, a fake HubSpot portal, Ada (connected to
// the portal) and Mary (a registered partner).
type hubspotWorld struct {
	*appliance
	fake *hubspottest.Server
	people
	connID   string
	webhooks bool
}

func newHubSpotWorld(t *testing.T, webhooks bool) *hubspotWorld {
	t.Helper()
	fake := hubspottest.New(hubspottest.Options{})
	t.Cleanup(fake.Close)
	a := startAppliance(t, func(c *config) {
		c.HubSpotClientID, c.HubSpotClientSecret = fake.ClientID(), fake.ClientSecret()
		c.HubSpotAppID = strconv.FormatInt(fake.AppID(), 10)
		c.HubSpotBaseURL, c.HubSpotAuthURL = fake.URL(), fake.URL()
	})
	fake.SetWebhookURL(a.base + "/webhooks/hubspot")
	w := &hubspotWorld{appliance: a, fake: fake, webhooks: webhooks}
	w.people = a.seedPeople()

	fake.AddStaticToken("pat-test-token")
	var conn struct{ ID string }
	a.mustCall(201, w.adaTok, "POST", "/api/v1/connections", map[string]any{
		"provider": "hubspot", "access_token": "pat-test-token", "portal_id": strconv.FormatInt(fake.PortalID(), 10),
	}, &conn)
	w.connID = conn.ID
	if !webhooks {
		fake.SetDeliveries(false)
		w.sync()
	}
	return w
}

func (w *hubspotWorld) sync() {
	w.t.Helper()
	if !w.webhooks {
		time.Sleep(20 * time.Millisecond)
		w.mustCall(200, w.adaTok, "POST", "/api/v1/connections/"+w.connID+"/poll", nil, nil)
	}
	w.settle()
}

func (w *hubspotWorld) contact(email, first, last string) string {
	return w.fake.AddContact(hubspottest.ContactInput{Email: email, FirstName: first, LastName: last})
}

func TestHubSpotStory(t *testing.T) {
	for _, mode := range []struct {
		name     string
		webhooks bool
	}{{"webhooks", true}, {"polling only", false}} {
		t.Run(mode.name, func(t *testing.T) {
			w := newHubSpotWorld(t, mode.webhooks)
			other := w.contact("assistant@example.org", "Sam", "Helper")
			okafor := w.contact("Adaeze.Okafor@example.org", "Adaeze", "Okafor")
			pryce := w.contact("jon.p@othermail.example", "Jonathan", "Pryce")
			stranger := w.contact("q@example.com", "Quentin", "Blackwood")

			// The primary contact is the one labelled Primary, not the first one.
			d1 := w.fake.CreateDeal(hubspottest.DealInput{Name: "Okafor onboarding", Contacts: []hubspottest.ContactAssociation{{ContactID: other}, {ContactID: okafor, Label: "Primary"}}})
			d2 := w.fake.CreateDeal(hubspottest.DealInput{Name: "Pryce retainer", Contacts: []hubspottest.ContactAssociation{{ContactID: pryce}}})
			d3 := w.fake.CreateDeal(hubspottest.DealInput{Name: "Blackwood appeal", Pipeline: "731905512", Contacts: []hubspottest.ContactAssociation{{ContactID: stranger}}})
			w.sync()

			if r := w.referral(w.adaTok, w.okafor.ID); len(r.Links) != 1 || r.Links[0].EntityID != d1.ID || r.Links[0].LinkedBy != "email" {
				t.Fatalf("okafor links = %s, want deal %s by email", describe(r.Links), d1.ID)
			}
			if p := w.referral(w.adaTok, w.pryce.ID); len(p.PendingSuggestions) != 1 || p.PendingSuggestions[0].EntityID != d2.ID {
				t.Errorf("pryce = %s, want a suggestion for deal %s", describe(p), d2.ID)
			}
			titles := w.notificationTitles(w.adaTok)
			if countOf(titles, "New HubSpot deal linked to your referral") != 1 || countOf(titles, "New HubSpot deal, possible referral match") != 1 || len(titles) != 2 {
				t.Errorf("notifications = %v", titles)
			}

			// A stage change on the unlinked custom-pipeline deal never auto-links.
			w.fake.SetDealStage(d3.ID, "1190243381")
			w.sync()

			// Open stage keeps Open; closed won is Won on both sides.
			w.fake.SetDealStage(d1.ID, "contractsent")
			w.sync()
			if got := w.referral(w.adaTok, w.okafor.ID).Status; got != "open" {
				t.Errorf("status in an open stage = %s", got)
			}
			w.fake.RenameStageLabel("closedwon", "Closed lost (label only)")
			w.fake.SetDealStage(d1.ID, "closedwon")
			w.sync()
			if got := w.referral(w.adaTok, w.okafor.ID).Status; got != "won" {
				t.Fatalf("status after closedwon with a misleading label = %s, want won", got)
			}
			if tl := w.timeline(w.adaTok, w.okafor.ID); countOf(tl, "Status changed to won (synced from HubSpot)") != 1 {
				t.Errorf("timeline = %v", tl)
			}
			theirs := w.referral(w.maryTok, w.okafor.CounterpartID)
			if theirs.Status != "won" {
				t.Errorf("Mary's copy = %s", theirs.Status)
			}
			if got := w.notificationTitles(w.maryTok); countOf(got, "Referral status updated to won") != 1 {
				t.Errorf("Mary's notifications = %v", got)
			}

			// Closed lost on the suggested deal after confirming the suggestion.
			p := w.referral(w.adaTok, w.pryce.ID)
			w.mustCall(200, w.adaTok, "POST", "/api/v1/suggestions/"+p.PendingSuggestions[0].ID+"/confirm", nil, nil)
			w.fake.SetDealStage(d2.ID, "closedlost")
			w.sync()
			if got := w.referral(w.adaTok, w.pryce.ID).Status; got != "lost" {
				t.Errorf("status after closedlost = %s, want lost", got)
			}
			if got := w.notificationTitles(w.adaTok); len(got) != 4 {
				t.Errorf("notifications = %v, want link, suggestion and two status banners", got)
			}
		})
	}
}

func TestHubSpotExistingDealChangesNeverAutoLink(t *testing.T) {
	w := newHubSpotWorld(t, true)
	w.fake.SetDeliveries(false)
	okafor := w.contact("adaeze.okafor@example.org", "Adaeze", "Okafor")
	d := w.fake.CreateDeal(hubspottest.DealInput{Name: "Old Okafor deal"})
	w.fake.SetDeliveries(true)

	w.fake.AssociateContact(d.ID, okafor, "Primary")
	w.fake.SetDealStage(d.ID, "closedwon")
	w.settle()
	if r := w.referral(w.adaTok, w.okafor.ID); len(r.Links)+len(r.PendingSuggestions) != 0 || r.Status != "open" {
		t.Errorf("an edit of an existing deal auto-linked: %s", describe(r))
	}
	if got := w.notificationTitles(w.adaTok); len(got) != 0 {
		t.Errorf("notifications = %v, want none", got)
	}
}

func TestHubSpotRetriedBatchAppliesOnce(t *testing.T) {
	w := newHubSpotWorld(t, true)
	okafor := w.contact("adaeze.okafor@example.org", "Adaeze", "Okafor")
	d := w.fake.CreateDeal(hubspottest.DealInput{Name: "Okafor", Contacts: []hubspottest.ContactAssociation{{ContactID: okafor}}})
	w.fake.SetDealStage(d.ID, "closedwon")
	for i := 0; i < 2; i++ {
		if _, err := w.fake.RetryLast(); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
	if tl := w.timeline(w.adaTok, w.okafor.ID); countOf(tl, "Status changed to won (synced from HubSpot)") != 1 {
		t.Errorf("timeline = %v, want one sync entry", tl)
	}
	if got := w.notificationTitles(w.maryTok); countOf(got, "Referral status updated to won") != 1 {
		t.Errorf("Mary's notifications = %v", got)
	}
}

func TestHubSpotBadSignatureIsRejected(t *testing.T) {
	w := newHubSpotWorld(t, true)
	body := []byte(`[{"eventId":1,"subscriptionId":2,"portalId":` + strconv.FormatInt(w.fake.PortalID(), 10) + `,"appId":3,"occurredAt":1764800000000,"subscriptionType":"deal.creation","attemptNumber":0,"objectId":99}]`)
	req, _ := http.NewRequest("POST", w.base+"/webhooks/hubspot", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-HubSpot-Signature-v3", "bm90IGEgc2lnbmF0dXJl")
	req.Header.Set("X-HubSpot-Request-Timestamp", strconv.FormatInt(time.Now().UnixMilli(), 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	pending := 0
	_ = w.srv.store.View(func(tx *storeTx) error { pending, _ = tx.InboxDepth(); return nil })
	if pending != 0 {
		t.Errorf("a forged batch stored %d items", pending)
	}
	if !strings.Contains(w.metrics(), "referralpulse_webhooks_rejected_total 1") {
		t.Error("the rejection is not counted")
	}
}

func (a *appliance) metrics() string {
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}
