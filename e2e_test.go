package main

import (
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

	"github.com/referralpulse/referralpulse/store"
)

// appliance is the whole server started over loopback for end-to-end tests.
type appliance struct {
	t    testing.TB
	srv  *server
	base string
}

// startAppliance runs startServer on a fresh data directory; edit may
// change the configuration once the listen address is known.
func startAppliance(t testing.TB, edit func(*config)) *appliance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{
		Listen: ln.Addr().String(), PublicURL: "http://" + ln.Addr().String(),
		DataDir: t.TempDir(), PollSchedule: "@every 1h", LogLevel: "warn", LogFormat: "json",
		SMTPPort: 587, HubSpotPrimaryLabel: "Primary",
	}
	if edit != nil {
		edit(&cfg)
	}
	log := zerolog.New(io.Discard)
	if testing.Verbose() {
		log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	}
	srv, err := startServer(cfg, log, ln, serverOptions{})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.close(ctx)
	})
	return &appliance{t: t, srv: srv, base: cfg.PublicURL}
}

// user creates an account and returns its API token.
func (a *appliance) user(email, name string) (store.User, string) {
	a.t.Helper()
	u, err := a.srv.app.CreateUser(context.Background(), email, name, "")
	if err != nil {
		a.t.Fatal(err)
	}
	tok, _, err := a.srv.app.CreateToken(context.Background(), u.ID, "e2e")
	if err != nil {
		a.t.Fatal(err)
	}
	return u, tok
}

// call sends one API request and decodes the JSON response into out.
func (a *appliance) call(token, method, path string, body any, out any) int {
	a.t.Helper()
	var reader io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		reader = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, a.base+path, reader)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// mustCall fails the test unless the status is want.
func (a *appliance) mustCall(want int, token, method, path string, body any, out any) {
	a.t.Helper()
	var raw json.RawMessage
	if got := a.call(token, method, path, body, &raw); got != want {
		a.t.Fatalf("%s %s = %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatal(err)
		}
	}
}

type apiReferral struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	CounterpartID string `json:"counterpart_id"`
	Links         []struct {
		ID         string `json:"id"`
		EntityID   string `json:"entity_id"`
		LinkedBy   string `json:"linked_by"`
		EntityGone bool   `json:"entity_deleted"`
	} `json:"links"`
	PendingSuggestions []struct {
		ID       string `json:"id"`
		EntityID string `json:"entity_id"`
		Reason   string `json:"reason"`
	} `json:"pending_suggestions"`
}

type apiNotification struct {
	Title      string `json:"title"`
	Body       string `json:"body"`
	ReferralID string `json:"referral_id"`
	Kind       string `json:"kind"`
}

func (a *appliance) referral(token, id string) apiReferral {
	a.t.Helper()
	var r apiReferral
	a.mustCall(200, token, "GET", "/api/v1/referrals/"+id, nil, &r)
	return r
}

func (a *appliance) notificationTitles(token string) []string {
	a.t.Helper()
	var page struct{ Items []apiNotification }
	a.mustCall(200, token, "GET", "/api/v1/notifications", nil, &page)
	var out []string
	for _, n := range page.Items {
		out = append(out, n.Title)
	}
	return out
}

func (a *appliance) timeline(token, id string) []string {
	a.t.Helper()
	var page struct {
		Items []struct{ Text string }
	}
	a.mustCall(200, token, "GET", "/api/v1/referrals/"+id+"/timeline", nil, &page)
	var out []string
	for _, e := range page.Items {
		out = append(out, e.Text)
	}
	return out
}

func (a *appliance) createPartner(token, name, email string) string {
	a.t.Helper()
	var p struct{ ID string }
	a.mustCall(201, token, "POST", "/api/v1/partners", map[string]string{"name": name, "email": email}, &p)
	return p.ID
}

func (a *appliance) createReferral(token, partnerID, direction, client, email string) apiReferral {
	a.t.Helper()
	var r apiReferral
	a.mustCall(201, token, "POST", "/api/v1/referrals", map[string]string{
		"direction": direction, "partner_id": partnerID, "client_name": client, "client_email": email,
	}, &r)
	return r
}

// drain runs the inbox to completion, so a test checks state without sleeping.
func (a *appliance) drain() {
	a.srv.worker.Drain(context.Background())
}

// eventually retries check until it returns "" or five seconds pass.
func eventually(t testing.TB, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countOf(list []string, want string) int {
	n := 0
	for _, s := range list {
		if s == want {
			n++
		}
	}
	return n
}

func describe(v any) string { return fmt.Sprintf("%+v", v) }

// settle waits until the inbox has no pending items, which means every
// stored delivery was applied.
func (a *appliance) settle() {
	a.t.Helper()
	a.srv.worker.Wake()
	eventually(a.t, func() string {
		pending := 0
		_ = a.srv.store.View(func(tx *store.Tx) error {
			pending, _ = tx.InboxDepth()
			return nil
		})
		if pending > 0 {
			return fmt.Sprintf("%d inbox items still pending", pending)
		}
		return ""
	})
}

type storeTx = store.Tx

// people is the cast of both CRM stories: Ada, who connects her CRM and
// receives referrals, and Mary, a registered partner who sent one of them.
type people struct {
	adaTok, maryTok string
	// okafor was sent by Mary; pryce by Tom, who has no account.
	okafor, pryce apiReferral
}

func (a *appliance) seedPeople() people {
	a.t.Helper()
	var p people
	_, p.adaTok = a.user("ada@example.com", "Ada Lovelace")
	_, p.maryTok = a.user("mary@example.com", "Mary Osei")
	mary := a.createPartner(p.adaTok, "Mary Osei", "mary@example.com")
	tom := a.createPartner(p.adaTok, "Tom Hale", "tom@example.org")
	p.okafor = a.createReferral(p.adaTok, mary, "received", "Adaeze Okafor", "adaeze.okafor@example.org")
	p.pryce = a.createReferral(p.adaTok, tom, "received", "Jonathan Pryce", "jpryce@pryce-family.example")
	return p
}
