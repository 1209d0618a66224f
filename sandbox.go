package main

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/sync/clio/cliotest"
	"github.com/referralpulse/referralpulse/sync/hubspot/hubspottest"
)

// sandbox lets a demo user create and change matters and deals by hand in the
// fake CRMs. Every change reaches the appliance as a signed webhook.
type sandbox struct {
	demo *demo
	// token guards the sandbox forms against cross-site posts.
	token string

	mu      sync.Mutex
	matters []sandboxRecord
	deals   []sandboxRecord
}

type sandboxRecord struct {
	ID     string
	Name   string
	Client string
	Status string
}

func (s *sandbox) routes(f *fiber.App) {
	s.token = randomHex(16)
	f.Get("/sandbox", s.page)
	f.Post("/sandbox/:action", s.act)
}

func (s *sandbox) createMatter(client, email, description string) (int64, error) {
	contact := s.demo.clio.AddContact(cliotest.ContactInput{Name: client, Emails: []string{email}})
	m := s.demo.clio.CreateMatter(cliotest.MatterInput{ClientID: contact.ID, Description: description})
	s.mu.Lock()
	s.matters = append(s.matters, sandboxRecord{ID: strconv.FormatInt(m.ID, 10), Name: description, Client: client, Status: "Open"})
	s.mu.Unlock()
	return m.ID, nil
}

func (s *sandbox) matterID(description string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.matters {
		if m.Name == description {
			id, _ := strconv.ParseInt(m.ID, 10, 64)
			return id
		}
	}
	return 0
}

func (s *sandbox) setMatterStatus(id int64, status string) error {
	if err := s.demo.clio.SetMatterStatus(id, status); err != nil {
		return err
	}
	s.setStatus(&s.matters, strconv.FormatInt(id, 10), status)
	return nil
}

func (s *sandbox) payBill(matterID int64, total float64) error {
	bill, err := s.demo.clio.CreateBill(cliotest.BillInput{MatterIDs: []int64{matterID}, Total: total})
	if err != nil {
		return err
	}
	return s.demo.clio.PayBill(bill.ID)
}

func (s *sandbox) createDeal(name, first, last, email string) (string, error) {
	contact := s.demo.hubspot.AddContact(hubspottest.ContactInput{Email: email, FirstName: first, LastName: last})
	deal := s.demo.hubspot.CreateDeal(hubspottest.DealInput{Name: name, Contacts: []hubspottest.ContactAssociation{{ContactID: contact, Label: "Primary"}}})
	s.mu.Lock()
	s.deals = append(s.deals, sandboxRecord{ID: deal.ID, Name: name, Client: strings.TrimSpace(first + " " + last), Status: "appointmentscheduled"})
	s.mu.Unlock()
	return deal.ID, nil
}

func (s *sandbox) moveDeal(id, stage string) error {
	if _, ok := s.demo.hubspot.Deal(id); !ok {
		return fmt.Errorf("no deal %s in the sandbox", id)
	}
	s.demo.hubspot.SetDealStage(id, stage)
	s.setStatus(&s.deals, id, stage)
	return nil
}

func (s *sandbox) setStatus(list *[]sandboxRecord, id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range *list {
		if (*list)[i].ID == id {
			(*list)[i].Status = status
		}
	}
}

// dealStages are the stages of the fake portal's default pipeline.
var dealStages = []string{"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"}

func (s *sandbox) page(c *fiber.Ctx) error {
	s.mu.Lock()
	data := map[string]any{
		"Token": s.token, "Matters": append([]sandboxRecord(nil), s.matters...),
		"Deals": append([]sandboxRecord(nil), s.deals...), "Stages": dealStages,
		"Message": c.Query("message"), "Error": c.Query("error"),
	}
	s.mu.Unlock()
	c.Type("html", "utf-8")
	return sandboxTemplate.Execute(c, data)
}

func (s *sandbox) act(c *fiber.Ctx) error {
	if subtle.ConstantTimeCompare([]byte(c.FormValue("_sandbox")), []byte(s.token)) != 1 {
		return c.Status(fiber.StatusForbidden).SendString("The sandbox form has expired; reload /sandbox and try again.")
	}
	var err error
	msg := ""
	switch c.Params("action") {
	case "matter":
		client, email, desc := strings.TrimSpace(c.FormValue("client")), strings.TrimSpace(c.FormValue("email")), strings.TrimSpace(c.FormValue("description"))
		if client == "" || desc == "" {
			err = fmt.Errorf("a matter needs a client name and a description")
			break
		}
		_, err = s.createMatter(client, email, desc)
		msg = "Clio matter created; Clio sent the webhook."
	case "matter-status":
		id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
		err = s.setMatterStatus(id, c.FormValue("status"))
		msg = "Matter status changed in Clio."
	case "bill":
		id, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
		err = s.payBill(id, 1200)
		msg = "A bill on the matter was paid in Clio."
	case "deal":
		name, first, last, email := strings.TrimSpace(c.FormValue("name")), strings.TrimSpace(c.FormValue("first")), strings.TrimSpace(c.FormValue("last")), strings.TrimSpace(c.FormValue("email"))
		if name == "" || last == "" {
			err = fmt.Errorf("a deal needs a name and the contact's last name")
			break
		}
		_, err = s.createDeal(name, first, last, email)
		msg = "HubSpot deal created; HubSpot sent the webhook."
	case "deal-stage":
		err = s.moveDeal(c.FormValue("id"), c.FormValue("stage"))
		msg = "Deal moved in HubSpot."
	default:
		return c.Status(fiber.StatusNotFound).SendString("No such sandbox action.")
	}
	if err != nil {
		return c.Redirect("/sandbox?error="+urlQuery(err.Error()), fiber.StatusSeeOther)
	}
	return c.Redirect("/sandbox?message="+urlQuery(msg), fiber.StatusSeeOther)
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "+", "&", "%26", "#", "%23", "?", "%3F", ";", "%3B").Replace(s)
}

var sandboxTemplate = template.Must(template.New("sandbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox CRMs · ReferralPulse demo</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="container">
<p><a href="/dashboard">← Back to the dashboard</a></p>
<h1>Sandbox Clio and HubSpot</h1>
<p>These forms change the demo's fake Clio and HubSpot. Each change reaches ReferralPulse as a real signed webhook, exactly as the real CRMs would send it. Keep the dashboard open in another tab to see the banners.</p>
{{if .Message}}<p role="status" class="notice">{{.Message}}</p>{{end}}
{{if .Error}}<p role="alert" class="error">{{.Error}}</p>{{end}}

<section><h2>New Clio matter</h2>
<form method="post" action="/sandbox/matter"><input type="hidden" name="_sandbox" value="{{.Token}}">
<label>Client name <input name="client" required placeholder="Adaeze Okafor"></label>
<label>Client email <input name="email" type="email" placeholder="adaeze.okafor@example.org"></label>
<label>Matter description <input name="description" required placeholder="Lease review"></label>
<button type="submit">Create matter</button></form></section>

<section><h2>Clio matters</h2>
{{if not .Matters}}<p>No matters yet: create one above.</p>{{end}}
{{range .Matters}}<form method="post" action="/sandbox/matter-status" class="row"><input type="hidden" name="_sandbox" value="{{$.Token}}">
<input type="hidden" name="id" value="{{.ID}}"><strong>{{.Name}}</strong> ({{.Client}}) is {{.Status}}.
<label>Status <select name="status"><option>Open</option><option>Pending</option><option>Closed</option></select></label>
<button type="submit">Change status</button></form>
<form method="post" action="/sandbox/bill" class="row"><input type="hidden" name="_sandbox" value="{{$.Token}}"><input type="hidden" name="id" value="{{.ID}}">
<button type="submit">Pay a bill on {{.Name}}</button></form>{{end}}</section>

<section><h2>New HubSpot deal</h2>
<form method="post" action="/sandbox/deal"><input type="hidden" name="_sandbox" value="{{.Token}}">
<label>Deal name <input name="name" required placeholder="Pryce family trust"></label>
<label>Contact first name <input name="first" placeholder="Jonathan"></label>
<label>Contact last name <input name="last" required placeholder="Pryce"></label>
<label>Contact email <input name="email" type="email" placeholder="jon.p@othermail.example"></label>
<button type="submit">Create deal</button></form></section>

<section><h2>HubSpot deals</h2>
{{if not .Deals}}<p>No deals yet: create one above.</p>{{end}}
{{range .Deals}}<form method="post" action="/sandbox/deal-stage" class="row"><input type="hidden" name="_sandbox" value="{{$.Token}}">
<input type="hidden" name="id" value="{{.ID}}"><strong>{{.Name}}</strong> ({{.Client}}) is in {{.Status}}.
<label>Stage <select name="stage">{{range $.Stages}}<option>{{.}}</option>{{end}}</select></label>
<button type="submit">Move deal</button></form>{{end}}</section>
</main></body></html>`))
