package ui_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
)

func TestBrowserConnectClioThroughOAuth(t *testing.T) {
	ctx := newBrowser(t)
	fake := cliotest.New(cliotest.Options{ClientID: "oauth-client", ClientSecret: "oauth-secret", AllowHTTPWebhooks: true, UserName: "Ada Lovelace", UserEmail: "ada@example.com"})
	t.Cleanup(fake.Close)
	e := startPageServer(t, pageServerOptions{ConnectorsFor: func(st *store.Store, publicURL string) []crm.Connector {
		c, err := clio.New(clio.Config{Store: st, ClientID: "oauth-client", ClientSecret: "oauth-secret", BaseURL: fake.URL(), PublicURL: publicURL, Logger: zerolog.New(io.Discard)})
		if err != nil {
			t.Fatal(err)
		}
		return []crm.Connector{c}
	}})
	ada := e.user("ada@example.com", "Ada Lovelace")

	browserSignIn(t, ctx, e.base, "ada@example.com")
	run(t, ctx, "connect Clio from the integrations page",
		chromedp.Navigate(e.base+"/settings/integrations"),
		chromedp.WaitVisible(chromedp.CSS(`#provider-clio form[action="/oauth/clio/start"] button`)),
		chromedp.SetValue(chromedp.CSS(`#clio-region`), "eu"),
		chromedp.Click(chromedp.CSS(`#provider-clio form[action="/oauth/clio/start"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#provider-clio .badge.connected`)),
	)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#provider-clio`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Connected") || !strings.Contains(text, "region eu") {
		t.Errorf("integrations page after OAuth = %q, want Connected in region eu", text)
	}

	conns, err := e.app.Connections(context.Background(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 || conns[0].Provider != "clio" || conns[0].Region != "eu" || conns[0].State != store.ConnectionConnected {
		t.Fatalf("connections = %+v, want one connected Clio connection in eu", conns)
	}
	if len(fake.Webhooks()) != 2 {
		t.Errorf("webhooks in Clio = %d, want the matter and bill webhooks", len(fake.Webhooks()))
	}
	if writes := fake.RecordWrites(); len(writes) != 0 {
		t.Errorf("connecting wrote to Clio records: %+v", writes)
	}
}

func TestBrowserWebhookBannerLive(t *testing.T) {
	ctx := newBrowser(t)
	fake := cliotest.New(cliotest.Options{ClientID: "hook-client", ClientSecret: "hook-secret", AllowHTTPWebhooks: true})
	t.Cleanup(fake.Close)
	e := startPageServer(t, pageServerOptions{Worker: true, ConnectorsFor: func(st *store.Store, publicURL string) []crm.Connector {
		c, err := clio.New(clio.Config{Store: st, ClientID: "hook-client", ClientSecret: "hook-secret", BaseURL: fake.URL(), PublicURL: publicURL, Logger: zerolog.New(io.Discard)})
		if err != nil {
			t.Fatal(err)
		}
		return []crm.Connector{c}
	}})
	ada := e.user("ada@example.com", "Ada Lovelace")
	tom := e.partner(ada, "Tom Hale", "tom@example.org")
	e.referral(ada, tom, store.DirectionReceived, "Nia Brooks", "nia.brooks@example.org")
	tokens := fake.IssueTokens()
	if _, err := e.app.Connect(context.Background(), ada.ID, crm.ConnectRequest{Provider: "clio", Region: "us", AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, ExpiresIn: tokens.ExpiresIn}); err != nil {
		t.Fatal(err)
	}

	browserSignIn(t, ctx, e.base, "ada@example.com")
	openLiveDashboard(t, ctx, e.base)

	// Clio sends a signed webhook for a new matter while the dashboard is open.
	client := fake.AddContact(cliotest.ContactInput{Name: "Nia Brooks", Emails: []string{"nia.brooks@example.org"}})
	fake.CreateMatter(cliotest.MatterInput{ClientID: client.ID, Description: "Brooks contract review"})

	run(t, ctx, "wait for the live banner", chromedp.WaitVisible(chromedp.CSS(`#notification-list .banner.live`)))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#notification-list .banner.live`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "New Clio matter linked to your referral") || !strings.Contains(text, "Brooks contract review") {
		t.Errorf("live banner = %q, want the link title and the matter name", text)
	}
}
