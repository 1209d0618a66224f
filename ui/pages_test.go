package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
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
		{"dashboard", "/dashboard", []string{"<h1>Dashboard</h1>", "New Clio matter, possible referral match", "Bill paid: commission note ready to send", `aria-label="Open: Bill paid: commission note ready to send"`, `aria-label="Mark read: Bill paid: commission note ready to send"`, "Mark all read", "Recent activity", "Linked to Clio matter", `id="dashboard-summary"`}, nil},
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
		{"integrations oauth error", "/settings/integrations?error=" + url.QueryEscape("Clio connection failed: access denied"), []string{"Connecting Clio failed. Try Connect Clio again", "not checked by ReferralPulse): <q>access denied</q>"}, []string{`role="alert">Clio connection failed`}},
		{"integrations notice from url", "/settings/integrations?notice=" + url.QueryEscape("Your session expired. Email your password to help@example.net"), []string{"<h1>Integrations</h1>"}, []string{"Email your password", `class="notice" role="status"`}},
		{"integrations error from url", "/settings/integrations?failed=" + url.QueryEscape("Call 555-0100 now"), []string{"<h1>Integrations</h1>"}, []string{"555-0100", `class="alert"`}},
		{"integrations known notice", "/settings/integrations?notice=polled&fetched=3&queued=2&missed=1", []string{"Poll finished: 3 records fetched, 2 queued, 1 that webhooks had missed."}, nil},
		{"integrations poll counts not numbers", "/settings/integrations?notice=polled&fetched=lots&queued=2&missed=1", []string{"<h1>Integrations</h1>"}, []string{"Poll finished", "lots"}},
		{"queue notice from url", "/action-queue?notice=" + url.QueryEscape("Your account is locked"), []string{"<h1>Action Queue</h1>"}, []string{"account is locked"}},
		{"dashboard notice from url", "/dashboard?notice=" + url.QueryEscape("Visit evil.example"), []string{"<h1>Dashboard</h1>"}, []string{"evil.example"}},
		{"assistant", "/assistant", []string{`placeholder="What changed on my referrals today?"`, `rows="2" placeholder`}, []string{"today?</textarea>"}},
		{"referral with queued draft", "/referrals/" + s.linked.ID, []string{"Notes waiting in your Action Queue", "Work for Kwame Mensah has paid out", `href="/action-queue#draft-`}, nil},
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

	// A signed-in browser that opens /login lands on the dashboard, but a
	// sign-in form posted from an older tab still signs in again.
	_, page := b.get("/login")
	if !strings.Contains(page, "<h1>Dashboard</h1>") {
		t.Fatalf("GET /login while signed in did not go to the dashboard:\n%s", page)
	}
	status, _ := b.post("/login", url.Values{"_csrf": {jarCookie(b, base, "rp_csrf")}, "email": {"ada@example.com"}, "password": {testPassword}})
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
	return jarCookie(b, base, "rp_session")
}

func jarCookie(b *browserClient, base *url.URL, name string) string {
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == name {
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
	rosaExists := func() bool {
		return s.app.Store.View(func(tx *store.Tx) error {
			_, err := tx.PartnerByEmail(s.ada.ID, "rosa@example.org")
			return err
		}) == nil
	}

	status, page := b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"given"}, "new_partner_name": {"Rosa Diaz"}, "new_partner_email": {"rosa@example.org"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "Client name is required.") || !strings.Contains(page, `value="Rosa Diaz"`) {
		t.Fatalf("missing client name: status %d, want 400 with the error and the typed values kept:\n%s", status, page)
	}
	if rosaExists() {
		t.Fatal("a rejected referral form created the inline partner")
	}

	status, page = b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"given"}, "new_partner_name": {"Rosa Diaz"}, "new_partner_email": {"rosa@example.org"}, "client_name": {"Lena Park"}})
	if status != http.StatusOK || !strings.Contains(page, "<h1>Lena Park</h1>") || !strings.Contains(page, "Rosa Diaz") {
		t.Fatalf("create referral with a new partner: status %d, want the detail page:\n%s", status, page)
	}
	if !rosaExists() {
		t.Error("the inline partner was not created with the referral")
	}
}

func TestReferralFormShowsAllErrors(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	status, page := b.post("/referrals", url.Values{"_csrf": {token}, "direction": {"given"}, "new_partner_name": {"Lena Park"}, "new_partner_email": {"not-an-email"}, "client_email": {"also wrong"}})
	if status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
	cases := []struct {
		name string
		want string
	}{
		{"partner email error", "Partner email is not a valid email address"},
		{"client name error", "Client name is required."},
		{"client email error", "Client email is not a valid email address"},
		{"summary heading", "There are 3 problems"},
		{"summary link to field", `<a href="#client_name">Client name is required.</a>`},
		{"input marked invalid", `id="client_name" name="client_name" aria-invalid="true" aria-describedby="client_name-error"`},
		{"message id", `<span class="field-error" id="client_email-error">`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(page, tc.want) {
				t.Errorf("page lacks %q:\n%s", tc.want, page)
			}
		})
	}
	if strings.Contains(page, `id="client_company" name="client_company" aria-invalid`) {
		t.Error("a valid field is marked invalid")
	}
	if err := s.app.Store.View(func(tx *store.Tx) error {
		list, _, err := tx.UserPartners(s.ada.ID, store.Page{Limit: 50})
		for _, p := range list {
			if p.Name == "Lena Park" {
				t.Errorf("the rejected form created partner %+v", p)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSetupFormShowsAllErrors(t *testing.T) {
	e := startPageServer(t, pageServerOptions{})
	b := e.client()
	_, page := b.get("/setup")
	token := csrfFrom(t, page)

	status, page := b.post("/setup", url.Values{"_csrf": {token}, "name": {""}, "email": {""}, "password": {""}, "password_confirm": {""}})
	if status != http.StatusBadRequest {
		t.Fatalf("empty setup: status %d, want 400", status)
	}
	for _, want := range []string{"Name is required.", "Email is required.", "Password is required.", "There are 3 problems", `id="email" name="email" aria-invalid="true"`} {
		if !strings.Contains(page, want) {
			t.Errorf("empty setup page lacks %q", want)
		}
	}

	status, page = b.post("/setup", url.Values{"_csrf": {token}, "name": {"Ada"}, "email": {"ada@example.com"}, "password": {testPassword}, "password_confirm": {"something else"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "Repeated password does not match the password.") {
		t.Errorf("mismatch: status %d, want the labelled error:\n%s", status, page)
	}
}

func TestSignedInSkipsLoginAndSetup(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("ada@example.com")
	for _, path := range []string{"/login", "/setup"} {
		t.Run(path, func(t *testing.T) {
			status, page := b.get(path)
			if status != http.StatusOK || !strings.Contains(page, "<h1>Dashboard</h1>") {
				t.Errorf("GET %s while signed in: status %d, want the dashboard", path, status)
			}
		})
	}
}

func TestEmptySignInNamesFields(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	_, page := b.get("/login")
	token := csrfFrom(t, page)

	cases := []struct {
		name    string
		form    url.Values
		want    []string
		without string
	}{
		{"both empty", url.Values{"email": {""}, "password": {""}}, []string{"Email is required.", "Password is required."}, "Wrong email or password"},
		{"password empty", url.Values{"email": {"ada@example.com"}, "password": {""}}, []string{"Password is required.", `value="ada@example.com"`}, "Email is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("_csrf", token)
			status, page := b.post("/login", tc.form)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", status)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(page, tc.without) {
				t.Errorf("page contains %q", tc.without)
			}
		})
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

	unlinkPath := "/referrals/" + s.linked.ID + "/links/" + s.linkedLinkID + "/delete"
	status, page = b.post(unlinkPath, url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "Unlink the Clio matter “00217-Mensah v. Brightline” from Kwame Mensah?") || !strings.Contains(page, `name="confirmed" value="1"`) {
		t.Fatalf("unlink without confirmation: status %d, want the confirmation page:\n%s", status, page)
	}
	if r, _ := s.app.Referral(context.Background(), s.ada.ID, s.linked.ID); len(r.Links) != 1 {
		t.Fatalf("the link was removed before the confirmation: %+v", r.Links)
	}
	status, page = b.post(unlinkPath, url.Values{"_csrf": {token}, "confirmed": {"1"}})
	if status != http.StatusOK || strings.Contains(page, `aria-label="Unlink Clio matter 00217-Mensah v. Brightline"`) || !strings.Contains(page, "Not linked yet") || !strings.Contains(page, "Link removed.") {
		t.Fatalf("unlink: status %d, want the referral without the pill and with the notice:\n%s", status, page)
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

	resp := owner.postNoRedirect("/partners/"+s.tom.ID+"/invite", url.Values{"_csrf": {token}})
	if resp.status != http.StatusSeeOther || resp.location != "/partners/"+s.tom.ID+"?notice=invite_link" {
		t.Fatalf("re-invite: status %d location %q, want 303 to the partner page", resp.status, resp.location)
	}
	status, page := owner.get(resp.location)
	if status != http.StatusOK || !strings.Contains(page, "Mail is not configured") || !strings.Contains(page, s.base+"/invite/") {
		t.Fatalf("re-invite: status %d, want the sign-up link shown:\n%s", status, page)
	}
	if status, page = owner.get("/partners/" + s.tom.ID + "/invite"); status != http.StatusOK || !strings.Contains(page, "<h1>Tom Hale</h1>") || strings.Contains(page, s.base+"/invite/") {
		t.Errorf("reload of the invite address: status %d, want the partner page without a new link:\n%s", status, page)
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
	filled := strings.ReplaceAll(d.Body, "[add the details]", "10% as agreed")

	status, page := b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"send"}, "subject": {"Edited subject"}, "body": {filled}})
	if status != http.StatusConflict || !strings.Contains(page, "mail is not configured") || !strings.Contains(page, `value="Edited subject"`) {
		t.Fatalf("send without SMTP: status %d, want 409 with the draft kept:\n%s", status, page)
	}
	kept, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10})
	if len(kept) != 1 || kept[0].Subject != "Edited subject" {
		t.Errorf("draft after the failed send = %+v, want open with the edited subject", kept)
	}

	status, page = b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"save"}, "subject": {""}, "body": {"x"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "Subject must not be empty") {
		t.Fatalf("empty subject: status %d, want 400 with the labelled error next to the field:\n%s", status, page)
	}

	resp := b.postNoRedirect("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"save"}, "subject": {"Saved subject"}, "body": {filled}})
	if resp.status != http.StatusSeeOther || resp.location != "/action-queue?notice=draft_saved" {
		t.Fatalf("save: status %d location %q, want 303 to the queue", resp.status, resp.location)
	}
	if status, page = b.get(resp.location); !strings.Contains(page, "Draft saved.") {
		t.Errorf("queue after save lacks the notice:\n%s", page)
	}
	if status, page = b.get("/action-queue/" + d.ID); status != http.StatusOK || !strings.Contains(page, "<h1>Action Queue</h1>") {
		t.Errorf("reload of the draft address: status %d, want the queue", status)
	}

	status, page = b.post("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"dismiss"}, "subject": {"x"}, "body": {"x"}})
	if status != http.StatusOK || !strings.Contains(page, "Dismiss the note “Saved subject”?") {
		t.Fatalf("dismiss without confirmation: status %d, want the confirmation page:\n%s", status, page)
	}
	if open, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10}); len(open) != 1 {
		t.Fatal("the draft was dismissed before the confirmation")
	}
	resp = b.postNoRedirect("/action-queue/"+d.ID, url.Values{"_csrf": {token}, "action": {"dismiss"}, "confirmed": {"1"}})
	if resp.status != http.StatusSeeOther || resp.location != "/action-queue?notice=draft_dismissed" {
		t.Fatalf("dismiss: status %d location %q, want 303 to the queue", resp.status, resp.location)
	}
}

func TestActionQueueDeliversInApp(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	// Mary has an account, so a note to her is delivered without mail.
	maryRef := s.referral(s.ada, s.maryP, store.DirectionReceived, "Ines Duarte", "ines@example.org")
	s.matter(s.conn, crm.EntityCreated, "777", "Duarte estate", "Ines Duarte", "ines@example.org", crm.OutcomeOpen)
	s.billPaid(s.conn, "777", "7001")
	var draft store.Draft
	open, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10})
	for _, d := range open {
		if d.ReferralID == maryRef.ID {
			draft = d
		}
	}
	if draft.ID == "" {
		t.Fatalf("no draft for Mary's referral among %+v", open)
	}

	status, page := b.post("/action-queue/"+draft.ID, url.Values{"_csrf": {token}, "action": {"send"}, "subject": {draft.Subject}, "body": {draft.Body}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, "still contains “[add the details]”") || !strings.Contains(page, `value="send_confirmed"`) {
		t.Fatalf("send with the placeholder: status %d, want 422 with the warning and a confirm button:\n%s", status, page)
	}
	if open, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10}); len(open) != 2 {
		t.Fatalf("a draft with the placeholder was sent without confirmation: %d open", len(open))
	}

	resp := b.postNoRedirect("/action-queue/"+draft.ID, url.Values{"_csrf": {token}, "action": {"send_confirmed"}, "subject": {draft.Subject}, "body": {draft.Body}})
	if resp.status != http.StatusSeeOther || !strings.HasPrefix(resp.location, "/action-queue?") || !strings.Contains(resp.location, "notice=sent_app") {
		t.Fatalf("confirmed send: status %d location %q, want 303 with notice sent_app", resp.status, resp.location)
	}
	_, page = b.get(resp.location)
	if !strings.Contains(page, "Delivered to Mary Osei in ReferralPulse.") {
		t.Errorf("queue after the send lacks the in-app wording:\n%s", page)
	}
	if strings.Contains(page, "Emailed to") || strings.Contains(page, "Sent to mary@") {
		t.Errorf("queue after an in-app send speaks of mail:\n%s", page)
	}
	if !strings.Contains(page, draft.Subject+", to Mary Osei") {
		t.Errorf("recently sent list lacks the partner's name:\n%s", page)
	}

	// A forged draft id in the address gives a plain text, not another draft's recipient.
	_, page = b.get("/action-queue?notice=sent_mail&draft=" + url.QueryEscape("nope"))
	if !strings.Contains(page, "Note sent.") {
		t.Errorf("unknown draft id: want the plain notice:\n%s", page)
	}
}

func TestNotificationsOpenAndMarkAllRead(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")
	unread, _, err := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50})
	if err != nil || len(unread) < 2 {
		t.Fatalf("seed notifications %d (err %v), want at least 2", len(unread), err)
	}

	var bill, suggestion store.Notification
	for _, n := range unread {
		switch n.Kind {
		case "draft_queued":
			bill = n
		case "link_suggested":
			suggestion = n
		}
	}
	drafts, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftOpen, store.Page{Limit: 10})
	cases := []struct {
		name string
		n    store.Notification
		want string
	}{
		{"bill paid opens the queue", bill, "/action-queue#draft-" + drafts[0].ID},
		{"suggestion opens the dialog", suggestion, "/referrals/" + s.suggested.ID + "?suggested=101#link-dialog"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.postNoRedirect("/notifications/"+tc.n.ID+"/open", url.Values{"_csrf": {token}})
			if resp.status != http.StatusSeeOther || resp.location != tc.want {
				t.Fatalf("open: status %d location %q, want 303 to %q", resp.status, resp.location, tc.want)
			}
			still, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50})
			for _, n := range still {
				if n.ID == tc.n.ID {
					t.Error("the notification is still unread after Open")
				}
			}
		})
	}

	status, page := b.post("/notifications/read-all", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "All notifications are marked read.") || !strings.Contains(page, "No unread notifications.") {
		t.Fatalf("mark all read: status %d:\n%s", status, page)
	}
	if left, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50}); len(left) != 0 {
		t.Errorf("%d notifications still unread after Mark all read", len(left))
	}
}

func TestDashboardCapsBanners(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("ada@example.com")
	for i := 0; i < 8; i++ {
		id := strconv.Itoa(900 + i)
		s.referral(s.ada, s.tom, store.DirectionReceived, "Client "+id, "client"+id+"@example.org")
		s.matter(s.conn, crm.EntityCreated, id, "Matter "+id, "Client "+id, "client"+id+"@example.org", crm.OutcomeOpen)
	}
	total, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50})

	_, page := b.get("/dashboard")
	if got := strings.Count(page, `class="banner banner-`); got != 5 {
		t.Errorf("dashboard shows %d banners, want the cap of 5", got)
	}
	more := "(" + strconv.Itoa(len(total)-5) + " more)"
	if !strings.Contains(page, "Show all unread notifications") || !strings.Contains(page, more) {
		t.Errorf("dashboard lacks the show-all link with %q", more)
	}
	_, page = b.get("/dashboard?notifications=all")
	if got := strings.Count(page, `class="banner banner-`); got != len(total) {
		t.Errorf("show all: %d banners, want %d", got, len(total))
	}
}

func TestDashboardSummaryFragment(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("ada@example.com")

	_, before := b.get("/dashboard/summary")
	if !strings.Contains(before, `id="count-received-won">0<`) || strings.Contains(before, "<html") {
		t.Fatalf("summary fragment before the change:\n%s", before)
	}
	s.matter(s.conn, crm.EntityChanged, "102", "00217-Mensah v. Brightline", "Kwame Mensah", "kwame@example.org", crm.OutcomeWon)
	_, after := b.get("/dashboard/summary")
	for _, want := range []string{`id="count-received-won">1<`, `id="count-queue">1<`, "Recent activity"} {
		if !strings.Contains(after, want) {
			t.Errorf("summary fragment after the matter was won lacks %q:\n%s", want, after)
		}
	}
}

func TestPartnerEditForm(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	resp := b.postNoRedirect("/partners/"+s.tom.ID, url.Values{"_csrf": {token}, "name": {"Tom Hale-Ross"}, "email": {"tom.ross@example.org"}, "company": {"Ross LLP"}})
	if resp.status != http.StatusSeeOther || resp.location != "/partners/"+s.tom.ID+"?notice=partner_saved" {
		t.Fatalf("save: status %d location %q, want 303 to the partner page", resp.status, resp.location)
	}
	got, err := s.app.Partner(context.Background(), s.ada.ID, s.tom.ID)
	if err != nil || got.Name != "Tom Hale-Ross" || got.Email != "tom.ross@example.org" || got.Company != "Ross LLP" {
		t.Errorf("partner after the edit = %+v (err %v)", got, err)
	}

	status, page := b.post("/partners/"+s.tom.ID, url.Values{"_csrf": {token}, "name": {""}, "email": {"broken"}, "company": {""}})
	if status != http.StatusBadRequest || !strings.Contains(page, "<details id=\"edit-partner\" open>") {
		t.Fatalf("bad edit: status %d, want 400 with the form open:\n%s", status, page)
	}
	if !strings.Contains(page, "Email ") || !strings.Contains(page, `aria-invalid="true"`) {
		t.Errorf("bad edit lacks the labelled, marked error:\n%s", page)
	}
}

func TestReferralWithoutCRMHidesLinking(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	b.signIn("mary@example.com")
	refs, _, err := s.app.ListReferrals(context.Background(), s.mary.ID, store.ReferralFilter{}, "", store.Page{Limit: 10})
	if err != nil || len(refs) == 0 {
		t.Fatalf("Mary has no counterpart referral: %v (err %v)", refs, err)
	}
	_, page := b.get("/referrals/" + refs[0].ID)
	if strings.Contains(page, "Link a matter or deal</a>") {
		t.Error("a user without a CRM connection is offered linking")
	}
	if !strings.Contains(page, "connect your CRM on the Integrations page") {
		t.Errorf("page does not say how to connect a CRM:\n%s", page)
	}
}

func TestAssistantAnswerIsAList(t *testing.T) {
	s := seedPages(t, pageServerOptions{})
	b := s.client()
	token := b.signIn("ada@example.com")

	status, page := b.post("/assistant", url.Values{"_csrf": {token}, "question": {"What changed this week?"}, "timezone": {"UTC"}})
	if status != http.StatusOK {
		t.Fatalf("status %d:\n%s", status, page)
	}
	if strings.Contains(page, "<p>- ") || strings.Contains(page, "Referrals mentioned") {
		t.Errorf("answer prints raw dash lines or repeats the items:\n%s", page)
	}
	item := `<a href="/referrals/` + s.linked.ID + `">Kwame Mensah</a>`
	if n := strings.Count(page, item); n < 1 {
		t.Errorf("answer lacks the linked client %q", item)
	}
	if !strings.Contains(page, `<ul class="timeline assistant-items">`) || !strings.Contains(page, "<time datetime=") {
		t.Errorf("answer items are not a list with times:\n%s", page)
	}
	if strings.Count(page, "Bill B-9001 paid in Clio") != 1 {
		t.Errorf("the bill line appears %d times, want once", strings.Count(page, "Bill B-9001 paid in Clio"))
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
	if status != http.StatusOK || !strings.Contains(page, "Disconnect Clio account Ada Law LLP?") {
		t.Fatalf("disconnect without confirmation: status %d, want the confirmation page:\n%s", status, page)
	}
	if conns, _ := s.app.Connections(context.Background(), s.ada.ID); len(conns) != 1 {
		t.Fatal("the connection was removed before the confirmation")
	}
	status, page = b.post("/settings/integrations/"+s.conn.ID+"/disconnect", url.Values{"_csrf": {token}, "confirmed": {"1"}})
	if status != http.StatusOK || !strings.Contains(page, "Disconnected") || strings.Contains(page, "Ada Law LLP") {
		t.Errorf("disconnect: status %d:\n%s", status, page)
	}

	tokens := []store.Token{}
	_ = s.app.Store.View(func(tx *store.Tx) error {
		var err error
		tokens, err = tx.UserTokens(s.ada.ID)
		return err
	})
	if len(tokens) != 1 {
		t.Fatalf("tokens = %d, want 1", len(tokens))
	}
	status, page = b.post("/settings/tokens/"+tokens[0].ID+"/revoke", url.Values{"_csrf": {token}})
	if status != http.StatusOK || !strings.Contains(page, "Revoke the token “reporting script”?") {
		t.Fatalf("revoke without confirmation: status %d:\n%s", status, page)
	}
	status, page = b.post("/settings/tokens/"+tokens[0].ID+"/revoke", url.Values{"_csrf": {token}, "confirmed": {"1"}})
	if status != http.StatusOK || !strings.Contains(page, "Token revoked.") || strings.Contains(page, `aria-label="Revoke token reporting script"`) {
		t.Errorf("revoke: status %d:\n%s", status, page)
	}
}
