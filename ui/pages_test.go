package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// seededPages is an appliance with one of everything the pages show.
type seededPages struct {
	*pageEnv
	ada, mary      store.User
	tom, maryP     store.Partner
	conn           store.Connection
	suggested      app.ReferralView
	linked         app.ReferralView
	given          app.ReferralView
	inviteToken    string
	suggestionID   string
	linkedLinkID   string
	linkedEntityID string
}

func seedPages(t *testing.T, opts pageServerOptions) *seededPages {
	t.Helper()
	e := startPageServer(t, opts)
	s := &seededPages{pageEnv: e}
	ctx := context.Background()

	s.ada = e.user("ada@example.com", "Ada Lovelace")
	s.mary = e.user("mary@example.com", "Mary Osei")
	s.tom = e.partner(s.ada, "Tom Hale", "tom@example.org")
	s.maryP = e.partner(s.ada, "Mary Osei", "mary@example.com")
	inv, err := e.app.InvitePartner(ctx, s.ada.ID, s.tom.ID)
	if err != nil {
		t.Fatalf("invite tom: %v", err)
	}
	s.inviteToken = inv.Partner.InviteToken

	s.conn = e.connection(s.ada, "Ada Law LLP")
	if e.fake != nil {
		e.fake.records = []crm.Event{matterEvent(s.conn, crm.EntityChanged, "301", "Blackwood appeal", "Quentin Blackwood", "", crm.OutcomeOpen)}
	}

	s.suggested = e.referral(s.ada, s.maryP, store.DirectionReceived, "Adaeze Okafor", "adaeze.okafor@example.org")
	s.linked = e.referral(s.ada, s.tom, store.DirectionReceived, "Kwame Mensah", "kwame@example.org")
	s.given = e.referral(s.ada, s.tom, store.DirectionGiven, "Quentin Blackwood", "q@example.com")

	e.matter(s.conn, crm.EntityCreated, "101", "Okafor estate", "Okafor, Adaeze", "other@example.net", crm.OutcomeOpen)
	e.matter(s.conn, crm.EntityCreated, "102", "00217-Mensah v. Brightline", "Kwame Mensah", "kwame@example.org", crm.OutcomeOpen)
	e.billPaid(s.conn, "102", "9001")

	r, err := e.app.Referral(ctx, s.ada.ID, s.suggested.ID)
	if err != nil || len(r.PendingSuggestions) != 1 {
		t.Fatalf("seed: referral %s has suggestions %+v (err %v), want one", s.suggested.ClientName, r.PendingSuggestions, err)
	}
	s.suggestionID = r.PendingSuggestions[0].ID
	r, err = e.app.Referral(ctx, s.ada.ID, s.linked.ID)
	if err != nil || len(r.Links) != 1 {
		t.Fatalf("seed: referral %s has links %+v (err %v), want one", s.linked.ClientName, r.Links, err)
	}
	s.linkedLinkID, s.linkedEntityID = r.Links[0].ID, r.Links[0].EntityID
	return s
}

func TestPagesRenderWithData(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("ada@example.com")

	cases := []struct {
		name   string
		path   string
		want   []string
		absent []string
	}{
		{"dashboard", "/dashboard", []string{"<h1>Dashboard</h1>", "New Clio matter, possible referral match", "Bill paid: commission note ready to send", "?suggested=101#link-dialog", "Recent activity", "Linked to Clio matter"}, nil},
		{"referral list", "/referrals", []string{"Adaeze Okafor", "Kwame Mensah", "Quentin Blackwood", "Received from Tom Hale", "1 possible match"}, nil},
		{"referral list given", "/referrals?direction=given", []string{"Quentin Blackwood"}, []string{"Kwame Mensah"}},
		{"referral search", "/referrals?q=Mensah", []string{"Kwame Mensah"}, []string{"Quentin Blackwood"}},
		{"referral list bad filter", "/referrals?status=pending", []string{"is not a status"}, nil},
		{"new referral form", "/referrals/new", []string{"New referral", "Tom Hale", `name="new_partner_email"`}, nil},
		{"referral with pinned suggestion", "/referrals/" + s.suggested.ID + "?suggested=101", []string{"Okafor estate", "From your notification", `class="suggestion pinned"`, "Confirm link", "Why:"}, nil},
		{"referral with link pill", "/referrals/" + s.linked.ID, []string{"00217-Mensah v. Brightline", `aria-label="Unlink Clio matter 00217-Mensah v. Brightline"`, "Timeline", "Received from"}, []string{`id="link-dialog"`}},
		{"referral crm search", "/referrals/" + s.given.ID + "?link=1&q=Blackwood", []string{`id="link-dialog"`, "Blackwood appeal", "live from Clio", `name="entity_id" value="301"`}, nil},
		{"referral stale suggestion", "/referrals/" + s.given.ID + "?suggested=999", []string{"no longer waiting"}, nil},
		{"partner list", "/partners", []string{"Tom Hale", "Invited", "Registered", "Add a partner"}, nil},
		{"partner detail", "/partners/" + s.tom.ID, []string{"Invite again", "Quentin Blackwood", "Kwame Mensah"}, nil},
		{"action queue", "/action-queue", []string{"Work for Kwame Mensah has paid out", "smtp.host", "RP_SMTP_HOST", `value="send"`}, nil},
		{"integrations", "/settings/integrations", []string{"Ada Law LLP", "Connected", "HubSpot is not configured", "hubspot.client_id", "Poll now", "Caught by polling, missed by webhooks", "Disconnect", `name="region"`, "/oauth/clio/start"}, nil},
		{"integrations error", "/settings/integrations?error=" + url.QueryEscape("Clio connection failed: access denied"), []string{"Clio connection failed: access denied"}, nil},
		{"assistant", "/assistant", []string{"What changed on my referrals today?"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := b.get(tc.path)
			wantStatus := http.StatusOK
			if tc.name == "referral list bad filter" {
				wantStatus = http.StatusBadRequest
			}
			if status != wantStatus {
				t.Fatalf("GET %s: status %d, want %d; body:\n%s", tc.path, status, wantStatus, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", tc.path, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(body, a) {
					t.Errorf("GET %s: body contains %q", tc.path, a)
				}
			}
			if !strings.Contains(body, `href="/dashboard"`) {
				t.Errorf("GET %s: page has no navigation back to the dashboard", tc.path)
			}
		})
	}
}

func TestPagesWithoutSession(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()

	cases := []struct {
		name       string
		path       string
		wantStatus int
		want       string
	}{
		{"dashboard sends to sign-in", "/dashboard", http.StatusOK, "<h1>Sign in</h1>"},
		{"home sends to sign-in", "/", http.StatusOK, "<h1>Sign in</h1>"},
		{"invitation page", "/invite/" + s.inviteToken, http.StatusOK, "Create your account"},
		{"dead invitation", "/invite/not-a-token", http.StatusNotFound, "not valid any more"},
		{"unknown page is HTML 404", "/no/such/page", http.StatusNotFound, "There is no page at /no/such/page"},
		{"static htmx", "/static/htmx.min.js", http.StatusOK, "htmx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := b.get(tc.path)
			if status != tc.wantStatus {
				t.Fatalf("GET %s: status %d, want %d", tc.path, status, tc.wantStatus)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("GET %s: body lacks %q:\n%s", tc.path, tc.want, body)
			}
		})
	}

	t.Run("api errors stay JSON", func(t *testing.T) {
		resp, err := http.Get(s.base + "/api/v1/no-such-route")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("API 404 content type = %q, want JSON", ct)
		}
	})
}

func TestPagePostWithoutCSRFRejected(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	cases := []struct {
		name string
		form url.Values
	}{
		{"missing token", url.Values{"name": {"Eve Stone"}, "email": {"eve@example.org"}}},
		{"wrong token", url.Values{"_csrf": {"forged"}, "name": {"Eve Stone"}, "email": {"eve@example.org"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := b.post("/partners", tc.form)
			if status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body:\n%s", status, body)
			}
			if !strings.Contains(body, "did not come from this site") {
				t.Errorf("403 page lacks the explanation:\n%s", body)
			}
		})
	}
	if err := s.app.Store.View(func(tx *store.Tx) error {
		_, err := tx.PartnerByEmail(s.ada.ID, "eve@example.org")
		return err
	}); err == nil {
		t.Fatal("a partner was created by a request without a valid CSRF token")
	}

	t.Run("valid token accepted", func(t *testing.T) {
		status, body := b.post("/partners", url.Values{"_csrf": {token}, "name": {"Eve Stone"}, "email": {"eve@example.org"}})
		if status != http.StatusOK || !strings.Contains(body, "Eve Stone") {
			t.Fatalf("status %d, body:\n%s", status, body)
		}
	})

	t.Run("sign-in without token", func(t *testing.T) {
		fresh := s.client()
		status, _ := fresh.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}})
		if status != http.StatusForbidden {
			t.Errorf("status %d, want 403", status)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	_, page := b.get("/login")
	token := csrfFrom(t, page)

	for i := 1; i <= 5; i++ {
		status, body := b.post("/login", url.Values{"_csrf": {token}, "email": {"ada@example.com"}, "password": {"wrong password"}})
		if status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i, status)
		}
		if !strings.Contains(body, "Wrong email or password") {
			t.Fatalf("attempt %d: the error is not next to the field:\n%s", i, body)
		}
	}
	status, body := b.post("/login", url.Values{"_csrf": {token}, "email": {"ada@example.com"}, "password": {testPassword}})
	if status != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: status %d, want 429", status)
	}
	if !strings.Contains(body, "Too many failed sign-in attempts") {
		t.Errorf("429 body = %q", body)
	}
}

func TestSessionCookieRenewedAtLogin(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("ada@example.com")
	base, _ := url.Parse(s.base)
	first := sessionCookie(b, base)

	_, page := b.get("/login")
	status, _ := b.post("/login", url.Values{"_csrf": {csrfFrom(t, page)}, "email": {"ada@example.com"}, "password": {testPassword}})
	if status != http.StatusOK {
		t.Fatalf("second sign-in: status %d", status)
	}
	second := sessionCookie(b, base)
	if first == "" || second == "" || first == second {
		t.Fatalf("session cookie before %q and after %q: want two different values", first, second)
	}
	if _, _, err := s.app.Session(context.Background(), first); err == nil {
		t.Error("the session from before the second sign-in is still valid")
	}

	req, _ := http.NewRequest(http.MethodGet, s.base+"/login", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form := url.Values{"_csrf": {}, "email": {"ada@example.com"}, "password": {testPassword}}
	for _, c := range resp.Cookies() {
		if c.Name == "rp_csrf" {
			form.Set("_csrf", c.Value)
			req, _ = http.NewRequest(http.MethodPost, s.base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(c)
		}
	}
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name != "rp_session" {
			continue
		}
		found = true
		if !c.HttpOnly {
			t.Error("session cookie is not HttpOnly")
		}
		if c.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie SameSite = %v, want Lax", c.SameSite)
		}
	}
	if !found {
		t.Errorf("sign-in response (status %d) set no rp_session cookie", resp.StatusCode)
	}
}

func sessionCookie(b *browserClient, base *url.URL) string {
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == "rp_session" {
			return c.Value
		}
	}
	return ""
}

func TestFirstRunSetupForm(t *testing.T) {
	e := startPageServer(t, pageServerOptions{})
	b := e.client()
	status, page := b.get("/")
	if status != http.StatusOK || !strings.Contains(page, "Set up ReferralPulse") {
		t.Fatalf("GET / on an empty server: status %d, want the setup page:\n%s", status, page)
	}
	token := csrfFrom(t, page)

	status, page = b.post("/setup", url.Values{"_csrf": {token}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {"short"}, "password_confirm": {"short"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "use at least 10") {
		t.Fatalf("short password: status %d, want 400 with the rule next to the field:\n%s", status, page)
	}
	status, page = b.post("/setup", url.Values{"_csrf": {token}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {testPassword}, "password_confirm": {testPassword}})
	if status != http.StatusOK || !strings.Contains(page, "<h1>Dashboard</h1>") {
		t.Fatalf("setup: status %d, want the dashboard:\n%s", status, page)
	}

	other := e.client()
	status, page = other.get("/setup")
	if status != http.StatusOK || !strings.Contains(page, "<h1>Sign in</h1>") {
		t.Errorf("setup after the first account: status %d, want the sign-in page", status)
	}
}

func TestReferralFormCreatesPartnerInline(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	status, page := b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"given"}, "new_partner_name": {"Rosa Diaz"}, "new_partner_email": {"rosa@example.org"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "is required") || !strings.Contains(page, " selected>Rosa Diaz") {
		t.Fatalf("missing client name: status %d, want 400 with the error and the typed values kept:\n%s", status, page)
	}
	status, page = b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"given"}, "new_partner_email": {"not-an-email"}, "new_partner_name": {"Rosa"}, "client_name": {"Lena Park"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "is not a valid email address") {
		t.Fatalf("bad partner email: status %d, want 400 with the error:\n%s", status, page)
	}

	// The first attempt already created Rosa, so pick her from the list now.
	_, form := b.get("/referrals/new")
	if !strings.Contains(form, "Rosa Diaz") {
		t.Fatalf("new partner missing from the picker:\n%s", form)
	}
	var rosaID string
	if err := s.app.Store.View(func(tx *store.Tx) error {
		p, err := tx.PartnerByEmail(s.ada.ID, "rosa@example.org")
		rosaID = p.ID
		return err
	}); err != nil {
		t.Fatalf("partner Rosa was not created inline: %v", err)
	}
	status, page = b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"received"}, "partner_id": {rosaID}, "client_name": {"Lena Park"}, "client_email": {"lena@example.org"}})
	if status != http.StatusOK || !strings.Contains(page, "<h1>Lena Park</h1>") || !strings.Contains(page, "Rosa Diaz") {
		t.Fatalf("create referral: status %d, want the detail page:\n%s", status, page)
	}
}

func TestLinkDialogWithoutJavaScript(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	status, page := b.post("/suggestions/"+s.suggestionID+"/confirm", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, `aria-label="Unlink Clio matter Okafor estate"`) {
		t.Fatalf("confirm: status %d, want the referral with the new pill:\n%s", status, page)
	}

	status, page = b.post("/referrals/"+s.linked.ID+"/links/"+s.linkedLinkID+"/delete", url.Values{"_csrf": {token}})
	if status != http.StatusOK || strings.Contains(page, `aria-label="Unlink Clio matter 00217-Mensah v. Brightline"`) {
		t.Fatalf("unlink: status %d, the pill is still there:\n%s", status, page)
	}

	status, page = b.post("/referrals/"+s.given.ID+"/links", url.Values{"_csrf": {token}, "connection_id": {s.conn.ID}, "entity_id": {"301"}})
	if status != http.StatusOK || !strings.Contains(page, `aria-label="Unlink Clio matter Blackwood appeal"`) {
		t.Fatalf("manual link from the live CRM: status %d:\n%s", status, page)
	}

	status, page = b.post("/referrals/"+s.suggested.ID+"/links", url.Values{"_csrf": {token}, "connection_id": {s.conn.ID}, "entity_id": {"301"}})
	if status != http.StatusConflict || !strings.Contains(page, "already linked") || !strings.Contains(page, `id="link-dialog"`) {
		t.Fatalf("linking a taken record: status %d, want 409 with the reason in the dialog:\n%s", status, page)
	}
}

func TestInvitationPages(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	owner := s.client()
	token := owner.signIn("ada@example.com")

	status, page := owner.post("/partners/"+s.tom.ID+"/invite", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "Mail is not configured") || !strings.Contains(page, s.base+"/invite/") {
		t.Fatalf("re-invite: status %d, want the sign-up link shown:\n%s", status, page)
	}
	tom, err := s.app.Partner(context.Background(), s.ada.ID, s.tom.ID)
	if err != nil {
		t.Fatal(err)
	}

	guest := s.client()
	_, page = guest.get("/invite/" + tom.InviteToken)
	guestToken := csrfFrom(t, page)
	status, page = guest.post("/invite/"+tom.InviteToken+"/profile", url.Values{"_csrf": {guestToken}, "name": {"Tom Hale"}, "company": {"Hale & Co"}})
	if status != http.StatusOK || !strings.Contains(page, "Profile saved") {
		t.Fatalf("profile: status %d:\n%s", status, page)
	}
	if p, _ := s.app.Partner(context.Background(), s.ada.ID, s.tom.ID); p.State != store.PartnerProfileUpdated || p.Company != "Hale & Co" {
		t.Errorf("after the profile form: state %q company %q, want profile_updated and Hale & Co", p.State, p.Company)
	}

	status, page = guest.post("/invite/"+tom.InviteToken+"/register", url.Values{"_csrf": {guestToken}, "name": {"Tom Hale"}, "password": {testPassword}, "password_confirm": {testPassword}})
	if status != http.StatusOK || !strings.Contains(page, "<h1>Dashboard</h1>") {
		t.Fatalf("register: status %d, want the dashboard:\n%s", status, page)
	}
	if p, _ := s.app.Partner(context.Background(), s.ada.ID, s.tom.ID); p.State != store.PartnerRegistered {
		t.Errorf("after registering: partner state %q, want registered", p.State)
	}
	_, page = guest.get("/referrals")
	if !strings.Contains(page, "Quentin Blackwood") {
		t.Errorf("Tom's referral list lacks the referral Ada gave him:\n%s", page)
	}
}

func TestActionQueueWithoutMail(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")
	drafts, _, err := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10})
	if err != nil || len(drafts) != 1 {
		t.Fatalf("drafts %v (err %v), want one", drafts, err)
	}
	d := drafts[0]

	status, page := b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"send"}, "subject": {"Edited subject"}, "body": {d.Body}})
	if status != http.StatusConflict || !strings.Contains(page, "mail is not configured") || !strings.Contains(page, `value="Edited subject"`) {
		t.Fatalf("send without SMTP: status %d, want 409 with the draft kept:\n%s", status, page)
	}
	kept, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10})
	if len(kept) != 1 || kept[0].Subject != "Edited subject" {
		t.Errorf("draft after the failed send = %+v, want open with the edited subject", kept)
	}

	status, page = b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"save"}, "subject": {""}, "body": {"x"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "must not be empty") {
		t.Fatalf("empty subject: status %d, want 400 with the error next to the field:\n%s", status, page)
	}

	status, page = b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"dismiss"}, "subject": {"x"}, "body": {"x"}})
	if status != http.StatusOK || !strings.Contains(page, "Draft dismissed") {
		t.Fatalf("dismiss: status %d:\n%s", status, page)
	}
}

func TestTokensAndIntegrationActions(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	status, page := b.post("/settings/tokens", url.Values{"_csrf": {token}, "name": {"reporting script"}})
	if status != http.StatusOK || !strings.Contains(page, "shown only once") || !strings.Contains(page, `value="rp_`) {
		t.Fatalf("create token: status %d:\n%s", status, page)
	}
	_, page = b.get("/settings/integrations")
	if strings.Contains(page, `value="rp_`) {
		t.Error("the token secret is shown again after a reload")
	}

	status, page = b.post("/settings/integrations/"+s.conn.ID+"/poll", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "Polling is not running") {
		t.Errorf("poll without a poller: status %d:\n%s", status, page)
	}
	status, page = b.post("/settings/integrations/"+s.conn.ID+"/disconnect", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "Disconnected") || strings.Contains(page, "Ada Law LLP") {
		t.Errorf("disconnect: status %d:\n%s", status, page)
	}
}
