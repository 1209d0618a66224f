package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/crm"
	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

// Demo accounts; the passwords are printed at start, so they are not secrets.
const (
	demoPassword  = "demo-password"
	demoUserEmail = "ada@demo.example"
	demoMaryEmail = "mary@demo.example"
	demoClioID    = "demo-clio-client"
	demoClioKey   = "demo-clio-secret"
)

func newDemoCommand(v *viper.Viper) *cobra.Command {
	var delay time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve with sandbox Clio and HubSpot servers, sample data and a scripted story",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := loadRuntime(cmd, v)
			if err != nil {
				return err
			}
			d, err := startDemo(cfg, log, nil)
			if err != nil {
				return err
			}
			defer d.close()
			d.printWelcome(cmd.OutOrStdout(), delay)
			go d.playStory(context.Background(), delay, 6*time.Second)
			return waitForSignal(d.srv)
		},
	}
	cmd.Flags().DurationVar(&delay, "story-delay", 15*time.Second, "wait before the scripted story starts, so there is time to sign in")
	return cmd
}

// demo is a running demo: the appliance, the two fake CRMs and the ids of
// the seeded records the story works with.
type demo struct {
	srv     *server
	clio    *cliotest.Server
	hubspot *hubspottest.Server
	dataDir string
	log     zerolog.Logger

	ada, mary store.User
	sandbox   *sandbox
}

// startDemo starts both fake CRMs and the appliance on a fresh data
// directory, then seeds users, partners, referrals and connections.
func startDemo(cfg config, log zerolog.Logger, ln net.Listener) (*demo, error) {
	var err error
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("listen on %s (server.listen): %w", cfg.Listen, err)
		}
	}
	if cfg.PublicURL == "http://"+cfg.Listen {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	dir, err := os.MkdirTemp("", "referralpulse-demo-")
	if err != nil {
		return nil, fmt.Errorf("create demo data directory: %w", err)
	}
	d := &demo{dataDir: dir, log: log}
	d.clio = cliotest.New(cliotest.Options{ClientID: demoClioID, ClientSecret: demoClioKey, AllowHTTPWebhooks: true, UserName: "Ada Lovelace", UserEmail: demoUserEmail})
	d.hubspot = hubspottest.New(hubspottest.Options{WebhookURL: cfg.PublicURL + "/webhooks/hubspot"})

	cfg.DataDir = dir
	cfg.ClioClientID, cfg.ClioClientSecret, cfg.ClioBaseURL = demoClioID, demoClioKey, d.clio.URL()
	cfg.HubSpotClientID, cfg.HubSpotClientSecret = d.hubspot.ClientID(), d.hubspot.ClientSecret()
	cfg.HubSpotAppID = strconv.FormatInt(d.hubspot.AppID(), 10)
	cfg.HubSpotBaseURL, cfg.HubSpotAuthURL = d.hubspot.URL(), d.hubspot.URL()
	if cfg.HubSpotPrimaryLabel == "" {
		cfg.HubSpotPrimaryLabel = "Primary"
	}

	d.sandbox = &sandbox{demo: d}
	d.srv, err = startServer(cfg, log, ln, serverOptions{ExtraRoutes: d.sandbox.routes})
	if err != nil {
		d.close()
		return nil, err
	}
	if err := d.seed(context.Background()); err != nil {
		d.close()
		return nil, fmt.Errorf("seed demo data: %w", err)
	}
	return d, nil
}

func (d *demo) close() {
	if d.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.srv.close(ctx)
	}
	if d.clio != nil {
		d.clio.Close()
	}
	if d.hubspot != nil {
		d.hubspot.Close()
	}
	os.RemoveAll(d.dataDir)
}

// seed creates Ada (the user), Mary (a registered partner who can sign in),
// Tom (invited) and Priya's firm (a plain contact), their referrals both
// ways, and Ada's Clio and HubSpot connections.
func (d *demo) seed(ctx context.Context) error {
	a := d.srv.app
	var err error
	if d.ada, err = a.CreateUser(ctx, demoUserEmail, "Ada Lovelace", demoPassword); err != nil {
		return err
	}
	if d.mary, err = a.CreateUser(ctx, demoMaryEmail, "Mary Osei", demoPassword); err != nil {
		return err
	}
	partner := func(name, email, company string) (store.Partner, error) {
		return a.CreatePartner(ctx, d.ada.ID, app.PartnerInput{Name: &name, Email: &email, Company: &company})
	}
	mary, err := partner("Mary Osei", demoMaryEmail, "Osei & Partners LLP")
	if err != nil {
		return err
	}
	tom, err := partner("Tom Hale", "tom.hale@hale-accounting.example", "Hale Accounting")
	if err != nil {
		return err
	}
	if _, err := a.InvitePartner(ctx, d.ada.ID, tom.ID); err != nil {
		return err
	}
	kim, err := partner("Kim Brandt", "kim@brandt-advisory.example", "Brandt Advisory")
	if err != nil {
		return err
	}

	referrals := []app.ReferralInput{
		{Direction: store.DirectionReceived, PartnerID: mary.ID, ClientName: "Adaeze Okafor", ClientEmail: "adaeze.okafor@example.org", Note: "Dispute with a logistics supplier."},
		{Direction: store.DirectionReceived, PartnerID: tom.ID, ClientName: "Jonathan Pryce", ClientEmail: "jpryce@pryce-family.example", Note: "Needs a family lawyer."},
		{Direction: store.DirectionReceived, PartnerID: mary.ID, ClientName: "Priya Natarajan", ClientEmail: "priya.n@example.com", ClientCompany: "Natarajan Holdings Ltd"},
		{Direction: store.DirectionGiven, PartnerID: mary.ID, ClientName: "Marcus Holloway", ClientEmail: "mth@example.com", Note: "Tax question outside my practice."},
		{Direction: store.DirectionGiven, PartnerID: kim.ID, ClientName: "Zoë Lefèvre", ClientEmail: "zoe@example.fr"},
	}
	for _, in := range referrals {
		if _, err := a.CreateReferral(ctx, d.ada.ID, in); err != nil {
			return err
		}
	}

	tokens := d.clio.IssueTokens()
	if _, err := a.Connect(ctx, d.ada.ID, crm.ConnectRequest{Provider: "clio", Region: "us", AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, ExpiresIn: tokens.ExpiresIn}); err != nil {
		return fmt.Errorf("connect demo Clio: %w", err)
	}
	d.hubspot.AddStaticToken("pat-demo-token")
	if _, err := a.Connect(ctx, d.ada.ID, crm.ConnectRequest{Provider: "hubspot", AccessToken: "pat-demo-token", PortalID: strconv.FormatInt(d.hubspot.PortalID(), 10)}); err != nil {
		return fmt.Errorf("connect demo HubSpot: %w", err)
	}
	return nil
}

func (d *demo) printWelcome(w io.Writer, delay time.Duration) {
	base := d.srv.cfg.PublicURL
	fmt.Fprintf(w, `
ReferralPulse demo is running at %s

  Sign in as %s / %s (Ada, the user whose CRMs are connected)
  or as %s / %s (Mary, a registered partner who sent Ada clients)

The scripted story starts in %s: a Clio matter that links by email, a HubSpot
deal that only matches by name, the matter closing (Won on both sides), a bill
paid (a draft in the Action Queue) and a deal lost. Keep the dashboard open to
watch the banners arrive. Make your own matters and deals at %s/sandbox.
The data lives in %s and is removed when you stop the demo (Ctrl+C).

`, base, demoUserEmail, demoPassword, demoMaryEmail, demoPassword, delay, base, d.dataDir)
}

// playStory drives the fake CRMs through the product's main loop; every
// step reaches the appliance as a real signed webhook.
func (d *demo) playStory(ctx context.Context, delay, step time.Duration) {
	wait := func(dur time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(dur):
			return true
		}
	}
	if !wait(delay) {
		return
	}
	s := d.sandbox
	steps := []struct {
		say string
		do  func() error
	}{
		{"a new Clio matter whose client email matches a referral: silent link", func() error {
			_, err := s.createMatter("Adaeze Okafor", "Adaeze.Okafor@example.org", "Okafor v. Brightline Logistics")
			return err
		}},
		{"a new HubSpot deal that matches only by name: suggestion", func() error {
			_, err := s.createDeal("Pryce family trust", "Jonathan", "Pryce", "jon.p@othermail.example")
			return err
		}},
		{"the Clio matter closes: Won for Ada and for Mary", func() error {
			return s.setMatterStatus(s.matterID("Okafor v. Brightline Logistics"), "Closed")
		}},
		{"a bill on the matter is paid: a commission note waits in the Action Queue", func() error {
			return s.payBill(s.matterID("Okafor v. Brightline Logistics"), 2450)
		}},
		{"a HubSpot deal for Priya is created and then lost", func() error {
			id, err := s.createDeal("Natarajan Holdings restructuring", "Priya", "Natarajan", "priya.n@example.com")
			if err != nil {
				return err
			}
			if !wait(step) {
				return nil
			}
			return s.moveDeal(id, "closedlost")
		}},
	}
	for i, st := range steps {
		if i > 0 && !wait(step) {
			return
		}
		d.log.Info().Int("step", i+1).Str("story", st.say).Msg("demo story step")
		if err := st.do(); err != nil {
			d.log.Error().Err(err).Int("step", i+1).Msg("demo story step failed")
		}
	}
	d.log.Info().Msg("demo story finished; use the sandbox to make more changes")
}
