package clio

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
)

func TestConnectValidation(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	tok := h.fake.IssueTokens()
	good := crm.ConnectRequest{Provider: "clio", Region: "us", AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, ExpiresIn: tok.ExpiresIn}

	tests := []struct {
		name  string
		edit  func(r *crm.ConnectRequest)
		field string
	}{
		{"unknown region", func(r *crm.ConnectRequest) { r.Region = "uk" }, "region"},
		{"missing region", func(r *crm.ConnectRequest) { r.Region = "" }, "region"},
		{"missing access token", func(r *crm.ConnectRequest) { r.AccessToken = " " }, "access_token"},
		{"missing refresh token", func(r *crm.ConnectRequest) { r.RefreshToken = "" }, "refresh_token"},
		{"zero expires_in", func(r *crm.ConnectRequest) { r.ExpiresIn = 0 }, "expires_in"},
		{"rejected token", func(r *crm.ConnectRequest) { r.AccessToken = "at_wrong" }, "access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.edit(&req)
			_, err := h.conn.Connect(context.Background(), "user-1", req)
			var fe *crm.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *crm.FieldError", err)
			}
			if fe.Field != tt.field {
				t.Errorf("field = %q, want %q", fe.Field, tt.field)
			}
		})
	}
}

func TestConnectAPICreatesWebhooks(t *testing.T) {
	h := newHarness(t, cliotest.Options{UserName: "Mary Hartwell"})
	conn := h.connect()

	if conn.AccountName != "Mary Hartwell" {
		t.Errorf("account name = %q", conn.AccountName)
	}
	if conn.State != store.ConnectionConnected || conn.Region != "us" {
		t.Errorf("state %q region %q", conn.State, conn.Region)
	}
	if conn.PollOnlyReason != "" {
		t.Errorf("poll-only reason = %q, want none", conn.PollOnlyReason)
	}

	stored := h.connection(conn.ID)
	if stored.AccessToken == "" || stored.RefreshToken == "" || stored.TokenExpiry.IsZero() {
		t.Errorf("tokens not stored: expiry %v", stored.TokenExpiry)
	}
	if len(stored.Webhooks) != 2 {
		t.Fatalf("stored webhooks = %d, want 2", len(stored.Webhooks))
	}

	fakeHooks := h.fake.Webhooks()
	models := map[string]bool{}
	for id, wh := range stored.Webhooks {
		models[wh.Model] = true
		if wh.SharedSecret == "" {
			t.Errorf("webhook %s has no shared secret", id)
		}
		var fw cliotest.Webhook
		for _, f := range fakeHooks {
			if idString(f.ID) == id {
				fw = f
			}
		}
		// The fake only enables a webhook whose handshake was echoed, and
		// it sends the handshake before the create call returns.
		if fw.Status != cliotest.WebhookEnabled {
			t.Errorf("webhook %s status in Clio = %q, want enabled", id, fw.Status)
		}
		if fw.URL != h.app.URL+"/webhooks/clio/"+conn.ID {
			t.Errorf("webhook URL = %q", fw.URL)
		}
		if d := time.Until(fw.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
			t.Errorf("webhook expires in %v, want about 30 days", d)
		}
	}
	if !models["matter"] || !models["bill"] {
		t.Errorf("webhook models = %v, want matter and bill", models)
	}
}

func TestConnectOAuth(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	ctx := context.Background()

	authURL, err := h.conn.StartOAuth(ctx, "user-7", map[string]string{"region": "ca"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if !strings.HasPrefix(authURL, h.fake.URL()+"/oauth/authorize?") {
		t.Fatalf("authorization URL = %s", authURL)
	}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Path != "/oauth/clio/callback" {
		t.Errorf("redirect path = %q", loc.Path)
	}

	query := map[string]string{"code": loc.Query().Get("code"), "state": loc.Query().Get("state")}
	conn, err := h.conn.FinishOAuth(ctx, query)
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if conn.UserID != "user-7" || conn.Region != "ca" || len(conn.Webhooks) != 2 {
		t.Errorf("connection user %q region %q webhooks %d", conn.UserID, conn.Region, len(conn.Webhooks))
	}

	if _, err := h.conn.FinishOAuth(ctx, query); err == nil {
		t.Error("a used state was accepted twice")
	}
}

func TestTokenRefreshAheadOfExpiry(t *testing.T) {
	h := newHarness(t, cliotest.Options{TokenLifetime: 2 * time.Second})
	conn := h.connect()
	before := h.connection(conn.ID).AccessToken

	// With a 2 s lifetime the token is due after 1.6 s.
	time.Sleep(1700 * time.Millisecond)
	if _, err := h.conn.Search(context.Background(), conn.ID, "anything"); err != nil {
		t.Fatalf("search: %v", err)
	}

	after := h.connection(conn.ID)
	if after.AccessToken == before {
		t.Error("access token was not refreshed")
	}
	if after.Extra[extraTokenLifetime] != "2" {
		t.Errorf("stored lifetime = %q, want 2", after.Extra[extraTokenLifetime])
	}
	for _, r := range h.fake.Requests() {
		if r.Status == http.StatusUnauthorized {
			t.Errorf("request %s %s got 401; refresh should have come first", r.Method, r.Path)
		}
	}
}

func TestTokenRefreshOn401(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	h.fake.ExpireAccessTokens()

	if _, err := h.conn.Search(context.Background(), conn.ID, "anything"); err != nil {
		t.Fatalf("search: %v", err)
	}
	refreshes := 0
	for _, r := range h.fake.Requests() {
		if r.Grant == "refresh_token" {
			refreshes++
		}
	}
	if refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", refreshes)
	}
}

func TestInvalidGrantMarksBroken(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	h.fake.ExpireAccessTokens()
	h.fake.RevokeRefreshToken()

	_, err := h.conn.Search(context.Background(), conn.ID, "anything")
	if !errors.Is(err, crm.ErrBroken) {
		t.Fatalf("err = %v, want crm.ErrBroken", err)
	}
	stored := h.connection(conn.ID)
	if stored.State != store.ConnectionBroken {
		t.Errorf("state = %q, want broken", stored.State)
	}
	if stored.StateMessage != brokenMessage {
		t.Errorf("state message = %q", stored.StateMessage)
	}
	if _, err := h.conn.Poll(context.Background(), conn.ID); !errors.Is(err, crm.ErrBroken) {
		t.Errorf("poll on a broken connection: err = %v, want crm.ErrBroken", err)
	}
}

func TestRateLimit429IsWaitedOut(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()
	h.fake.Throttle(1, time.Second)

	start := time.Now()
	if _, err := h.conn.Search(context.Background(), conn.ID, "anything"); err != nil {
		t.Fatalf("search: %v", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("waited %v, want at least the 1 s Retry-After", waited)
	}
	if n := h.countRequests(http.MethodGet, "/api/v4/matters.json"); n != 2 {
		t.Errorf("matter list requests = %d, want 2 (429 then success)", n)
	}
}

func TestRateLimitHeadersPace(t *testing.T) {
	h := newHarness(t, cliotest.Options{RateLimit: 3, RateLimitWindow: 2 * time.Second})
	conn := h.connect()

	for i := 0; i < 4; i++ {
		if _, err := h.conn.Search(context.Background(), conn.ID, "x"); err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
	}
	for _, r := range h.fake.Requests() {
		if r.Status == http.StatusTooManyRequests {
			t.Errorf("got 429 on %s; X-RateLimit-Remaining should have paused the client", r.Path)
		}
	}
}

func TestDisconnect(t *testing.T) {
	h := newHarness(t, cliotest.Options{})
	conn := h.connect()

	if err := h.conn.Disconnect(context.Background(), conn.ID); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	if n := len(h.fake.Webhooks()); n != 0 {
		t.Errorf("webhooks left in Clio = %d", n)
	}
	if !h.fake.Deauthorized() {
		t.Error("the grant was not revoked")
	}
	err := h.store.View(func(tx *store.Tx) error {
		_, err := tx.Connection(conn.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("connection still stored: err = %v", err)
	}
}

func TestNeedsHTTPSWarning(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://rp.example.com", false},
		{"HTTPS://rp.example.com/", false},
		{"http://127.0.0.1:8080", true},
		{"rp.example.com", true},
		{"", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := NeedsHTTPSWarning(tt.url); got != tt.want {
				t.Errorf("NeedsHTTPSWarning(%q) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}
