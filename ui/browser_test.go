package ui_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// chromiumPath is where the Debian chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one browser test from launch to the last check.
const browserTimeout = 90 * time.Second

// newBrowser starts headless Chromium with a fresh profile. Without
// Chromium the test is skipped, unless RP_REQUIRE_BROWSER=1 makes that a
// failure, as CI sets it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("RP_REQUIRE_BROWSER") == "1" {
			t.Fatalf("browser tests need Chromium at %s (RP_REQUIRE_BROWSER=1): %v; install it with apt-get install chromium", chromiumPath, err)
		}
		t.Skipf("skipping browser test: Chromium not found at %s; install it with apt-get install chromium, or set RP_REQUIRE_BROWSER=1 to make this a failure", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browserCtx
}

// run executes browser actions and fails the test with step on error.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// browserSignIn signs in through the login form and waits for the dashboard.
func browserSignIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	run(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#notifications-heading`)),
	)
}

// waitTrue polls a JavaScript expression until it is true, failing the
// test with step when it stays false for 10 seconds.
func waitTrue(t *testing.T, ctx context.Context, step, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: %s stayed false: %v", step, expr, err)
	}
}

// openLiveDashboard opens the dashboard and waits until its event stream is connected.
func openLiveDashboard(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	run(t, ctx, "open the dashboard with a live stream",
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-live-state="open"]`)),
	)
}

// screenshot writes a PNG to docs/screenshots when RP_SCREENSHOTS=1, so
// ordinary runs never rewrite the committed images.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("RP_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "docs", "screenshots", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot %s: %v", path, err)
	}
}

func TestBrowserSetupAndSignIn(t *testing.T) {
	ctx := newBrowser(t)
	e := startPageServer(t, pageServerOptions{})

	run(t, ctx, "first-run setup",
		chromedp.Navigate(e.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/setup"]`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), testPassword),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#notifications-heading`)),
	)
	if _, err := e.app.UserByEmail(context.Background(), "ada@example.com"); err != nil {
		t.Fatalf("setup did not create the account: %v", err)
	}

	run(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
	)
	browserSignIn(t, ctx, e.base, "ada@example.com")

	run(t, ctx, "phone-width layout",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(e.base+"/settings/integrations"),
		chromedp.WaitVisible(chromedp.CSS(`#provider-clio`)),
	)
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil {
		t.Fatalf("measure the page width: %v", err)
	}
	if !fits {
		t.Error("the integrations page scrolls sideways at 390 px")
	}
}

func TestBrowserLiveBanner(t *testing.T) {
	ctx := newBrowser(t)
	s := seedPages(t, pageServerOptions{})
	browserSignIn(t, ctx, s.base, "ada@example.com")
	openLiveDashboard(t, ctx, s.base)
	before, err := s.app.Dashboard(context.Background(), s.ada.ID)
	if err != nil {
		t.Fatal(err)
	}

	r := s.referral(s.ada, s.tom, store.DirectionReceived, "Nia Brooks", "nia.brooks@example.org")
	s.matter(s.conn, crm.EntityCreated, "401", "Brooks contract review", "Nia Brooks", "nia.brooks@example.org", crm.OutcomeOpen)
	ns, _, err := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 1})
	if err != nil || len(ns) == 0 || ns[0].ReferralID != r.ID {
		t.Fatalf("the matter produced no notification for the new referral: %+v (err %v)", ns, err)
	}
	banner := `#notification-` + ns[0].ID

	run(t, ctx, "wait for the live banner", chromedp.WaitVisible(chromedp.CSS(banner+`.live`)))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(banner)))
	if err != nil {
		t.Fatalf("read the banner text: %v", err)
	}
	if !strings.Contains(text, "New Clio matter linked to your referral") || !strings.Contains(text, "Brooks contract review") {
		t.Errorf("banner text = %q, want the link title and the matter name", text)
	}
	screenshot(t, ctx, "dashboard-banner.png")

	// The counts and the recent activity follow the event without a reload.
	want := strconv.Itoa(before.Received.Open + 1)
	waitTrue(t, ctx, "live received-open count",
		`document.getElementById("count-received-open").textContent.trim() === "`+want+`"`)
	waitTrue(t, ctx, "live recent activity",
		`document.getElementById("recent-activity").textContent.includes("Nia Brooks")`)
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("`+banner+` form[action$='/read'] button").getAttribute("aria-label")`))
	if err != nil || label != "Mark read: New Clio matter linked to your referral" {
		t.Errorf("live banner's Mark read label = %q (err %v), want it to name the notification", label, err)
	}

	run(t, ctx, "mark the banner read",
		chromedp.Click(chromedp.CSS(banner+` form[action$="/read"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(banner)),
	)
	unread, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50})
	for _, n := range unread {
		if n.ID == ns[0].ID {
			t.Error("the notification is still unread after Mark read")
		}
	}
}

func TestBrowserSuggestionConfirmAndUnlink(t *testing.T) {
	ctx := newBrowser(t)
	s := seedPages(t, pageServerOptions{})
	browserSignIn(t, ctx, s.base, "ada@example.com")
	openLiveDashboard(t, ctx, s.base)

	r := s.referral(s.ada, s.tom, store.DirectionReceived, "Yusuf Adeyemi", "yusuf@example.org")
	s.matter(s.conn, crm.EntityCreated, "501", "Adeyemi estate", "Adeyemi, Yusuf", "someone@example.net", crm.OutcomeOpen)
	got, err := s.app.Referral(context.Background(), s.ada.ID, r.ID)
	if err != nil || len(got.PendingSuggestions) != 1 {
		t.Fatalf("the name match made no suggestion: %+v (err %v)", got.PendingSuggestions, err)
	}

	ns, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 1})
	if len(ns) == 0 || ns[0].Kind != "link_suggested" {
		t.Fatalf("newest notification = %+v, want the suggestion", ns)
	}
	pinned := `li.suggestion.pinned[data-entity="501"]`
	openButton := `#notification-` + ns[0].ID + `.live form[action$="/open"] button`
	run(t, ctx, "open the suggestion from its banner",
		chromedp.WaitVisible(chromedp.CSS(openButton)),
		chromedp.Click(chromedp.CSS(openButton)),
		chromedp.WaitVisible(chromedp.CSS(pinned)),
	)
	screenshot(t, ctx, "referral-link-dialog.png")
	waitTrue(t, ctx, "link dialog is modal", `document.getElementById("link-dialog").matches(":modal")`)
	if still, _, _ := s.app.Notifications(context.Background(), s.ada.ID, true, store.Page{Limit: 50}); len(still) > 0 && still[0].ID == ns[0].ID {
		t.Error("Open left the notification unread")
	}

	pill := `button[aria-label="Unlink Clio matter Adeyemi estate"]`
	run(t, ctx, "confirm the suggestion",
		chromedp.Click(chromedp.CSS(pinned+` form[action$="/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS(pill)),
	)
	got, _ = s.app.Referral(context.Background(), s.ada.ID, r.ID)
	if len(got.Links) != 1 || got.Links[0].EntityID != "501" {
		t.Fatalf("after confirm the referral links are %+v, want matter 501", got.Links)
	}

	run(t, ctx, "cancel the unlink",
		chromedp.Click(chromedp.CSS(pill)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-dialog`)),
		chromedp.Click(chromedp.CSS(`#confirm-no`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#confirm-dialog`)),
	)
	if got, _ = s.app.Referral(context.Background(), s.ada.ID, r.ID); len(got.Links) != 1 {
		t.Fatalf("cancel removed the link: %+v", got.Links)
	}

	run(t, ctx, "unlink through the pill",
		chromedp.Click(chromedp.CSS(pill)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-dialog`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)),
		chromedp.WaitNotPresent(chromedp.CSS(pill)),
		chromedp.WaitVisible(chromedp.CSS(`#links-empty`)),
	)
	got, _ = s.app.Referral(context.Background(), s.ada.ID, r.ID)
	if len(got.Links) != 0 {
		t.Errorf("after unlink the referral still has links %+v", got.Links)
	}
	waitTrue(t, ctx, "timeline shows the unlink", `document.getElementById("timeline-panel").textContent.includes("Unlinked")`)
	waitTrue(t, ctx, "focus on the links heading", `document.activeElement && document.activeElement.id === "links-heading"`)
}

func TestBrowserLinkDialogEscape(t *testing.T) {
	ctx := newBrowser(t)
	s := seedPages(t, pageServerOptions{})
	browserSignIn(t, ctx, s.base, "ada@example.com")

	run(t, ctx, "open the link dialog",
		chromedp.Navigate(s.base+"/referrals/"+s.given.ID+"?link=1#link-dialog"),
		chromedp.WaitVisible(chromedp.CSS(`#link-dialog`)),
	)
	waitTrue(t, ctx, "dialog is modal", `document.getElementById("link-dialog").matches(":modal")`)
	// Tab moves only among the dialog's controls; Chromium may also pass
	// focus to its own toolbar, which leaves document.body active.
	for i := 0; i < 6; i++ {
		run(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		inside, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement === document.body || document.getElementById("link-dialog").contains(document.activeElement)`))
		if err != nil || !inside {
			t.Fatalf("after %d Tab presses focus left the dialog (err %v)", i+1, err)
		}
	}
	inert, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var b = document.getElementById("link-open"); b.focus(); return document.activeElement !== b; })()`))
	if err != nil || !inert {
		t.Errorf("the page behind the open dialog takes focus (err %v)", err)
	}
	run(t, ctx, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitTrue(t, ctx, "dialog closed", `!document.getElementById("link-dialog").open`)
	waitTrue(t, ctx, "focus back on the link button", `document.activeElement && document.activeElement.id === "link-open"`)
}

func TestBrowserDraftReachesSMTP(t *testing.T) {
	ctx := newBrowser(t)
	sink := startSMTPSink(t)
	mailer, err := app.NewSMTPMailer(app.SMTPConfig{Host: "127.0.0.1", Port: sink.port, From: "ada@example.com"})
	if err != nil {
		t.Fatalf("smtp mailer: %v", err)
	}
	s := seedPages(t, pageServerOptions{Mailer: mailer})
	browserSignIn(t, ctx, s.base, "ada@example.com")

	run(t, ctx, "open the action queue",
		chromedp.Navigate(s.base+"/action-queue"),
		chromedp.WaitVisible(chromedp.CSS(`li.draft input[name="subject"]`)),
	)
	run(t, ctx, "edit and send the draft with its placeholder",
		chromedp.SetValue(chromedp.CSS(`li.draft input[name="subject"]`), "Thank you for Kwame Mensah"),
		chromedp.Click(chromedp.CSS(`li.draft button[value="send"]`)),
		chromedp.WaitVisible(`//p[contains(., "still contains")]`),
	)
	if sent, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftSent, store.Page{Limit: 5}); len(sent) != 0 {
		t.Fatal("the draft went out before the placeholder warning was confirmed")
	}
	run(t, ctx, "send as it is",
		chromedp.Click(chromedp.CSS(`li.draft button[value="send_confirmed"]`)),
		chromedp.WaitVisible(`//p[contains(., "Emailed to tom@example.org.")]`),
	)
	if loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || loc != "/action-queue" {
		t.Errorf("address after sending = %q (err %v), want /action-queue", loc, err)
	}

	// The seed's invitation to Tom goes through the same sink first.
	msg := sink.waitFor(t, "Subject: Thank you for Kwame Mensah", 10*time.Second)
	if !strings.Contains(msg.rcpt, "tom@example.org") {
		t.Errorf("RCPT TO = %q, want tom@example.org", msg.rcpt)
	}
	sent, _, _ := s.app.Drafts(context.Background(), s.ada.ID, store.DraftSent, store.Page{Limit: 5})
	if len(sent) != 1 {
		t.Errorf("sent drafts = %d, want 1", len(sent))
	}
}

func TestBrowserPostWithoutCSRFRejected(t *testing.T) {
	ctx := newBrowser(t)
	s := seedPages(t, pageServerOptions{})
	browserSignIn(t, ctx, s.base, "ada@example.com")

	js := `fetch("/partners", {method: "POST", body: new URLSearchParams({name: "Eve Stone", email: "eve@example.org"})}).then(r => r.status)`
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("post without a token: %v", err)
	}
	if status != 403 {
		t.Errorf("POST /partners without a token: status %d, want 403", status)
	}
	err = s.app.Store.View(func(tx *store.Tx) error {
		_, err := tx.PartnerByEmail(s.ada.ID, "eve@example.org")
		return err
	})
	if err == nil {
		t.Error("the partner was created without a CSRF token")
	}
}

// smtpMessage is one message the sink accepted.
type smtpMessage struct {
	rcpt string
	data string
}

// smtpSink is a minimal SMTP server on 127.0.0.1 that accepts every
// message. It offers no STARTTLS, which the mailer's opportunistic TLS
// policy accepts.
type smtpSink struct {
	port     int
	messages chan smtpMessage
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the smtp sink: %v", err)
	}
	s := &smtpSink{port: ln.Addr().(*net.TCPAddr).Port, messages: make(chan smtpMessage, 8)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(conn)
			}()
		}
	}()
	return s
}

func (s *smtpSink) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	reply := func(line string) {
		w.WriteString(line + "\r\n")
		w.Flush()
	}
	reply("220 sink.test ESMTP")
	var msg smtpMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-sink.test")
			reply("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			reply("250 sink.test")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			msg.rcpt += strings.TrimSpace(line[len("RCPT TO:"):])
			reply("250 OK")
		case cmd == "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			msg.data = b.String()
			s.messages <- msg
			msg = smtpMessage{}
			reply("250 OK queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 OK")
		}
	}
}

// waitFor returns the first accepted message whose data contains want,
// skipping others, or fails after timeout.
func (s *smtpSink) waitFor(t *testing.T, want string, timeout time.Duration) smtpMessage {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case m := <-s.messages:
			if strings.Contains(m.data, want) {
				return m
			}
			seen = append(seen, m.data)
		case <-deadline:
			t.Fatalf("no mail with %q reached the smtp sink on port %s within %s; other messages:\n%s", want, strconv.Itoa(s.port), timeout, strings.Join(seen, "\n---\n"))
			return smtpMessage{}
		}
	}
}
