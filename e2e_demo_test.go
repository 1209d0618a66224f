package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestDemoStory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{Listen: ln.Addr().String(), PublicURL: "http://" + ln.Addr().String(), PollSchedule: "@every 1h", LogLevel: "warn", LogFormat: "json"}
	d, err := startDemo(cfg, zerolog.New(io.Discard), ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	d.playStory(context.Background(), 0, 50*time.Millisecond)

	a := &appliance{t: t, srv: d.srv, base: cfg.PublicURL}
	a.settle()
	ada, _, err := d.srv.app.CreateToken(context.Background(), d.ada.ID, "demo test")
	if err != nil {
		t.Fatal(err)
	}
	mary, _, err := d.srv.app.CreateToken(context.Background(), d.mary.ID, "demo test")
	if err != nil {
		t.Fatal(err)
	}

	byClient := map[string]apiReferral{}
	var page struct {
		Items []struct {
			apiReferral
			ClientName string `json:"client_name"`
		}
	}
	a.mustCall(200, ada, "GET", "/api/v1/referrals", nil, &page)
	for _, it := range page.Items {
		byClient[it.ClientName] = it.apiReferral
	}
	if r := byClient["Adaeze Okafor"]; r.Status != "won" || len(r.Links) != 1 {
		t.Errorf("Okafor = %s, want won and linked", describe(r))
	}
	if r := byClient["Jonathan Pryce"]; len(r.PendingSuggestions) != 1 {
		t.Errorf("Pryce = %s, want one suggestion", describe(r))
	}
	if r := byClient["Priya Natarajan"]; r.Status != "lost" {
		t.Errorf("Natarajan = %s, want lost", describe(r))
	}
	if got := a.notificationTitles(mary); countOf(got, "Referral status updated to won") != 1 {
		t.Errorf("Mary's notifications = %v", got)
	}
	var drafts struct{ Items []struct{ To string } }
	a.mustCall(200, ada, "GET", "/api/v1/action-queue", nil, &drafts)
	if len(drafts.Items) != 1 || drafts.Items[0].To != demoMaryEmail {
		t.Errorf("drafts = %s, want one to Mary", describe(drafts.Items))
	}

	// The sandbox creates a matter by hand; a post without its token is refused.
	resp, err := http.PostForm(cfg.PublicURL+"/sandbox/matter", url.Values{"client": {"Evelyn Harrow"}, "description": {"Harrow lease"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sandbox post without token = %d, want 403", resp.StatusCode)
	}
	resp, err = http.PostForm(cfg.PublicURL+"/sandbox/matter", url.Values{"_sandbox": {d.sandbox.token}, "client": {"Evelyn Harrow"}, "email": {"evelyn@example.org"}, "description": {"Harrow lease"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Harrow lease") {
		t.Errorf("sandbox after creating a matter = %d, body lacks the matter", resp.StatusCode)
	}

	// Later requests on the same connection must not change what the sandbox keeps.
	for i := 0; i < 5; i++ {
		resp, err := http.PostForm(cfg.PublicURL+"/sandbox/matter-status", url.Values{"_sandbox": {d.sandbox.token}, "id": {"999999"}, "status": {"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err = http.Get(cfg.PublicURL + "/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Evelyn Harrow") || !strings.Contains(string(body), "Harrow lease") {
		t.Errorf("sandbox names changed after later requests:\n%s", body)
	}

	// Ctrl+C closes the server first, then the demo; both steps must work and remove the data.
	d.srv.close(context.Background())
	d.close()
	if _, err := os.Stat(d.dataDir); !os.IsNotExist(err) {
		t.Errorf("demo data directory %s still exists after stopping: %v", d.dataDir, err)
	}
}
