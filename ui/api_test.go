package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/matcher"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/ui"
)

type apiEnv struct {
	t       *testing.T
	app     *app.App
	base    string
	adaTok  string
	maryTok string
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	st, err := store.Open(t.TempDir(), []byte("api test secret key"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix, _, err := matcher.OpenIndex(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(st, ix, zerolog.Nop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := ui.New(a, ui.Config{PublicURL: "http://" + ln.Addr().String(), BodyLimit: 64 << 10}, nil, nil, zerolog.Nop())
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ix.Close()
		st.Close()
	})

	e := &apiEnv{t: t, app: a, base: "http://" + ln.Addr().String()}
	e.adaTok = e.userToken("ada@example.com", "Ada Lovelace")
	e.maryTok = e.userToken("mary@example.com", "Mary Osei")
	return e
}

func (e *apiEnv) userToken(email, name string) string {
	u, err := e.app.CreateUser(context.Background(), email, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.app.CreateToken(context.Background(), u.ID, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call sends a request and decodes a JSON answer into out when out is set.
func (e *apiEnv) call(token, method, path, body string, out any) int {
	e.t.Helper()
	var resp *http.Response
	// An oversize body can race the server's early 413 and close: the client
	// then sees a reset while still writing. A new connection settles it.
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
		if err != nil {
			e.t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		if attempt == 3 {
			e.t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (e *apiEnv) partner(token, name, email string) string {
	e.t.Helper()
	var p struct{ ID string }
	if code := e.call(token, "POST", "/api/v1/partners", fmt.Sprintf(`{"name":%q,"email":%q}`, name, email), &p); code != 201 {
		e.t.Fatalf("create partner: status %d", code)
	}
	return p.ID
}

func TestBadInputNamesTheField(t *testing.T) {
	e := newAPIEnv(t)
	pid := e.partner(e.adaTok, "Tom Hale", "tom@example.org")
	cases := []struct {
		name      string
		path      string
		body      string
		wantCode  int
		wantField string
	}{
		{"invalid json", "/api/v1/referrals", `{"direction":`, 400, ""},
		{"empty body", "/api/v1/referrals", ``, 400, ""},
		{"unknown field", "/api/v1/referrals", `{"client_emial":"x"}`, 400, "client_emial"},
		{"wrong type", "/api/v1/referrals", `{"client_name":42}`, 400, "client_name"},
		{"missing direction", "/api/v1/referrals", `{"partner_id":"` + pid + `","client_name":"A B"}`, 400, "direction"},
		{"malformed email", "/api/v1/referrals", `{"direction":"received","partner_id":"` + pid + `","client_name":"A B","client_email":"not-an-email"}`, 400, "client_email"},
		{"unknown partner", "/api/v1/referrals", `{"direction":"received","partner_id":"nope","client_name":"A B"}`, 400, "partner_id"},
		{"bad status", "/api/v1/referrals", `{"direction":"received","partner_id":"` + pid + `","client_name":"A B","status":"closed"}`, 400, "status"},
		{"partner without email", "/api/v1/partners", `{"name":"No Mail"}`, 400, "email"},
		{"partner with bad email", "/api/v1/partners", `{"name":"Bad","email":"bad@"}`, 400, "email"},
		{"oversize body", "/api/v1/referrals", `{"note":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
		{"array body", "/api/v1/partners", `[{"name":"A"}]`, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got apiErr
			code := e.call(e.adaTok, "POST", tc.path, tc.body, &got)
			if code != tc.wantCode {
				t.Fatalf("status = %d, want %d (%+v)", code, tc.wantCode, got)
			}
			if got.Error.Field != tc.wantField || got.Error.Message == "" || got.Error.Code == "" {
				t.Errorf("error = %+v, want field %q with a message", got.Error, tc.wantField)
			}
			if tc.wantCode == 413 && !strings.Contains(got.Error.Message, "65536 bytes") {
				t.Errorf("413 message %q does not state the limit", got.Error.Message)
			}
		})
	}

	var list struct{ Items []any }
	e.call(e.adaTok, "GET", "/api/v1/referrals", "", &list)
	if len(list.Items) != 0 {
		t.Errorf("bad input stored %d referrals", len(list.Items))
	}
}

func TestAuthAndIsolation(t *testing.T) {
	e := newAPIEnv(t)
	pid := e.partner(e.adaTok, "Tom Hale", "tom@example.org")
	var r struct{ ID string }
	if code := e.call(e.adaTok, "POST", "/api/v1/referrals", `{"direction":"received","partner_id":"`+pid+`","client_name":"Adaeze Okafor","client_email":"a@example.org"}`, &r); code != 201 {
		t.Fatalf("create referral: %d", code)
	}

	cases := []struct {
		name   string
		token  string
		method string
		path   string
		body   string
		want   int
	}{
		{"no token", "", "GET", "/api/v1/me", "", 401},
		{"bad token", "rp_wrong", "GET", "/api/v1/me", "", 401},
		{"own referral", e.adaTok, "GET", "/api/v1/referrals/" + r.ID, "", 200},
		{"other user's referral", e.maryTok, "GET", "/api/v1/referrals/" + r.ID, "", 404},
		{"other user's timeline", e.maryTok, "GET", "/api/v1/referrals/" + r.ID + "/timeline", "", 404},
		{"other user's patch", e.maryTok, "PATCH", "/api/v1/referrals/" + r.ID, `{"status":"won"}`, 404},
		{"other user's partner", e.maryTok, "GET", "/api/v1/partners/" + pid, "", 404},
		{"unknown route", e.adaTok, "GET", "/api/v1/nothing", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body apiErr
			if code := e.call(tc.token, tc.method, tc.path, tc.body, &body); code != tc.want {
				t.Errorf("status = %d, want %d", code, tc.want)
			}
		})
	}
	var got struct{ Status string }
	e.call(e.adaTok, "GET", "/api/v1/referrals/"+r.ID, "", &got)
	if got.Status != "open" {
		t.Errorf("status after another user's patch = %s, want open", got.Status)
	}
}

func TestReferralListPaging(t *testing.T) {
	e := newAPIEnv(t)
	pid := e.partner(e.adaTok, "Tom Hale", "tom@example.org")
	for i := 0; i < 5; i++ {
		dir := "received"
		if i%2 == 1 {
			dir = "given"
		}
		body := fmt.Sprintf(`{"direction":%q,"partner_id":%q,"client_name":"Client %d"}`, dir, pid, i)
		if code := e.call(e.adaTok, "POST", "/api/v1/referrals", body, nil); code != 201 {
			t.Fatalf("create: %d", code)
		}
	}

	type page struct {
		Items []struct {
			ClientName string `json:"client_name"`
		}
		NextCursor string `json:"next_cursor"`
	}
	var names []string
	cursor := ""
	for i := 0; i < 5; i++ {
		var p page
		if code := e.call(e.adaTok, "GET", "/api/v1/referrals?limit=2&cursor="+cursor, "", &p); code != 200 {
			t.Fatalf("list: %d", code)
		}
		for _, it := range p.Items {
			names = append(names, it.ClientName)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	want := []string{"Client 4", "Client 3", "Client 2", "Client 1", "Client 0"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("paged names = %v, want %v", names, want)
	}

	var given page
	e.call(e.adaTok, "GET", "/api/v1/referrals?direction=given", "", &given)
	if len(given.Items) != 2 {
		t.Errorf("given = %d, want 2", len(given.Items))
	}
	var found page
	e.call(e.adaTok, "GET", "/api/v1/referrals?q=client", "", &found)
	if len(found.Items) != 5 {
		t.Errorf("search found %d, want 5", len(found.Items))
	}
	for _, bad := range []string{"limit=0", "limit=201", "limit=x", "direction=sideways", "status=closed", "cursor=garbage"} {
		var errBody apiErr
		if code := e.call(e.adaTok, "GET", "/api/v1/referrals?"+bad, "", &errBody); code != 400 || errBody.Error.Field == "" {
			t.Errorf("%s: status %d field %q, want 400 naming the field", bad, code, errBody.Error.Field)
		}
	}
}

func TestEventStreamDeliversNotification(t *testing.T) {
	e := newAPIEnv(t)
	req, _ := http.NewRequest("GET", e.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.maryTok)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type = %q", ct)
	}
	reader := bufio.NewReader(resp.Body)
	if line, _ := reader.ReadString('\n'); !strings.HasPrefix(line, ": connected") {
		t.Fatalf("first line = %q", line)
	}

	// Ada gives Mary a referral: Mary's stream shows the new received copy.
	pid := e.partner(e.adaTok, "Mary Osei", "mary@example.com")
	e.call(e.adaTok, "POST", "/api/v1/referrals", `{"direction":"given","partner_id":"`+pid+`","client_name":"Priya Natarajan"}`, nil)
	var got bytes.Buffer
	for !strings.Contains(got.String(), "event: referral_updated") {
		line, err := reader.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the event: %v (read %q)", err, got.String())
		}
		got.WriteString(line)
	}
}

func TestOperatorEndpoints(t *testing.T) {
	e := newAPIEnv(t)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "referralpulse_webhooks_received_total"} {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(raw), want) {
			t.Errorf("%s = %d %q, want 200 containing %q", path, resp.StatusCode, raw, want)
		}
	}
}

func TestCookieSessionNeedsCSRF(t *testing.T) {
	e := newAPIEnv(t)
	u, err := e.app.UserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cookie, sess, err := e.app.NewSession(context.Background(), u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	send := func(csrf string) int {
		req, _ := http.NewRequest("POST", e.base+"/api/v1/partners", strings.NewReader(`{"name":"Tom","email":"tom@example.org"}`))
		req.AddCookie(&http.Cookie{Name: ui.SessionCookie, Value: cookie})
		if csrf != "" {
			req.Header.Set(ui.CSRFHeader, csrf)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(""); code != 403 {
		t.Errorf("POST without CSRF token = %d, want 403", code)
	}
	if code := send("wrong"); code != 403 {
		t.Errorf("POST with a wrong CSRF token = %d, want 403", code)
	}
	if code := send(sess.CSRF); code != 201 {
		t.Errorf("POST with the CSRF token = %d, want 201", code)
	}
}

func TestOAuthStartWithoutConnector(t *testing.T) {
	e := newAPIEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		path         string
		wantStatus   int
		wantLocation string
	}{
		{"/oauth/hubspot/start", 302, "/settings/integrations?error="},
		{"/oauth/hubspot/callback?state=x&code=y", 302, "/settings/integrations?error="},
		{"/oauth/salesforce/start", 404, ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", e.base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+e.adaTok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || !strings.HasPrefix(resp.Header.Get("Location"), tc.wantLocation) {
			t.Errorf("%s = %d to %q, want %d to %q...", tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation)
		}
	}
}

func TestMarkAllNotificationsRead(t *testing.T) {
	e := newAPIEnv(t)
	// Ada gives Mary two referrals; Mary joined first, so each one is shared live.
	pid := e.partner(e.adaTok, "Mary Osei", "mary@example.com")
	for _, client := range []string{"Priya Natarajan", "Marcus Holloway"} {
		e.call(e.adaTok, "POST", "/api/v1/referrals", `{"direction":"given","partner_id":"`+pid+`","client_name":"`+client+`"}`, nil)
	}
	mary, err := e.app.UserByEmail(context.Background(), "mary@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.InvitePartner(context.Background(), mary.ID, e.partner(e.maryTok, "Zoe Lefevre", "zoe@example.fr")); err != nil {
		t.Fatal(err)
	}
	e.userToken("zoe@example.fr", "Zoe Lefevre")

	var before struct{ Items []any }
	e.call(e.maryTok, "GET", "/api/v1/notifications?unread=true", "", &before)
	if len(before.Items) == 0 {
		t.Fatal("Mary has no unread notification to mark")
	}
	var out struct {
		MarkedRead int `json:"marked_read"`
	}
	if code := e.call(e.maryTok, "POST", "/api/v1/notifications/read-all", "", &out); code != 200 || out.MarkedRead != len(before.Items) {
		t.Errorf("read-all = %d marked %d, want 200 and %d", code, out.MarkedRead, len(before.Items))
	}
	var after struct{ Items []any }
	e.call(e.maryTok, "GET", "/api/v1/notifications?unread=true", "", &after)
	if len(after.Items) != 0 {
		t.Errorf("unread after read-all = %d, want 0", len(after.Items))
	}
}
