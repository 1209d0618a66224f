package ui

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// referralFilter is the list page's filter form.
type referralFilter struct {
	Direction string
	Status    string
	Q         string
}

type referralsData struct {
	Filter   referralFilter
	Items    []app.ReferralView
	Partners map[string]store.Partner
	NextURL  string
	Errors   fieldErrors
}

func (p *pages) referralsPage(c *fiber.Ctx, v *view) error {
	v.Title, v.Nav = "Referrals", "referrals"
	f := referralFilter{Direction: c.Query("direction"), Status: c.Query("status"), Q: strings.TrimSpace(c.Query("q"))}
	data := referralsData{Filter: f}
	items, next, err := p.App.ListReferrals(c.UserContext(), v.User.ID,
		store.ReferralFilter{Direction: f.Direction, Status: f.Status}, f.Q, store.Page{Cursor: c.Query("cursor"), Limit: 50})
	if err != nil {
		fe, ok := asFieldErrors(err)
		if !ok {
			return err
		}
		data.Errors = fe
		v.Data = data
		return p.tmpl.render(c, fiber.StatusBadRequest, "referrals", v)
	}
	data.Items = items
	if next != "" {
		q := url.Values{"direction": {f.Direction}, "status": {f.Status}, "q": {f.Q}, "cursor": {next}}
		data.NextURL = "/referrals?" + q.Encode()
	}
	if data.Partners, err = p.partnersByID(v.User.ID); err != nil {
		return err
	}
	v.Data = data
	return p.tmpl.render(c, fiber.StatusOK, "referrals", v)
}

// partnersByID loads up to 200 of the user's partners keyed by id, which
// covers the names shown in lists.
func (p *pages) partnersByID(userID string) (map[string]store.Partner, error) {
	out := map[string]store.Partner{}
	err := p.App.Store.View(func(tx *store.Tx) error {
		list, _, err := tx.UserPartners(userID, store.Page{Limit: 200})
		for _, pt := range list {
			out[pt.ID] = pt
		}
		return err
	})
	return out, err
}

// referralForm is the new-referral form, with an inline new partner.
type referralForm struct {
	Direction         string
	PartnerID         string
	NewPartnerName    string
	NewPartnerEmail   string
	NewPartnerCompany string
	ClientName        string
	ClientEmail       string
	ClientCompany     string
	Note              string
	Partners          []store.Partner
	Errors            fieldErrors
}

func (p *pages) newReferralForm(c *fiber.Ctx, v *view) error {
	form := referralForm{Direction: c.Query("direction", store.DirectionGiven), PartnerID: c.Query("partner_id")}
	return p.renderReferralForm(c, v, fiber.StatusOK, form)
}

func (p *pages) renderReferralForm(c *fiber.Ctx, v *view, status int, form referralForm) error {
	partners, _, err := p.App.ListPartners(c.UserContext(), v.User.ID, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	form.Partners = partners
	v.Title, v.Nav, v.Data = "New referral", "referrals", form
	return p.tmpl.render(c, status, "referral_new", v)
}

// createReferralPage creates the referral, first adding the partner when
// the inline partner fields are filled and no partner was picked.
func (p *pages) createReferralPage(c *fiber.Ctx, v *view) error {
	form := referralForm{
		Direction: c.FormValue("direction"), PartnerID: c.FormValue("partner_id"),
		NewPartnerName: strings.TrimSpace(c.FormValue("new_partner_name")), NewPartnerEmail: strings.TrimSpace(c.FormValue("new_partner_email")),
		NewPartnerCompany: strings.TrimSpace(c.FormValue("new_partner_company")),
		ClientName:        c.FormValue("client_name"), ClientEmail: c.FormValue("client_email"),
		ClientCompany: c.FormValue("client_company"), Note: c.FormValue("note"),
	}
	if form.PartnerID == "" && (form.NewPartnerName != "" || form.NewPartnerEmail != "") {
		partner, err := p.App.CreatePartner(c.UserContext(), v.User.ID, app.PartnerInput{
			Name: &form.NewPartnerName, Email: &form.NewPartnerEmail, Company: &form.NewPartnerCompany,
		})
		if err != nil {
			return p.referralFormError(c, v, form, err, "new_partner_")
		}
		form.PartnerID = partner.ID
		form.NewPartnerName, form.NewPartnerEmail, form.NewPartnerCompany = "", "", ""
	}
	if form.PartnerID == "" {
		form.Errors = fieldErrors{"partner_id": "is required: pick a partner or add a new one below"}
		return p.renderReferralForm(c, v, fiber.StatusBadRequest, form)
	}

	r, err := p.App.CreateReferral(c.UserContext(), v.User.ID, app.ReferralInput{
		Direction: form.Direction, PartnerID: form.PartnerID, ClientName: form.ClientName,
		ClientEmail: form.ClientEmail, ClientCompany: form.ClientCompany, Note: form.Note,
	})
	if err != nil {
		return p.referralFormError(c, v, form, err, "")
	}
	return redirectAfterPost(c, "/referrals/"+r.ID)
}

// referralFormError shows an input error next to its field. The prefix maps
// the partner's field names onto the inline partner inputs.
func (p *pages) referralFormError(c *fiber.Ctx, v *view, form referralForm, err error, prefix string) error {
	fe, ok := asFieldErrors(err)
	if !ok {
		if !app.IsConflict(err) {
			return err
		}
		fe = fieldErrors{"new_partner_email": conflictMessage(err)}
	}
	form.Errors = fieldErrors{}
	for field, msg := range fe {
		form.Errors[prefix+field] = msg
	}
	return p.renderReferralForm(c, v, fiber.StatusBadRequest, form)
}

// conflictMessage drops the wrapped sentinel's text from a conflict error.
func conflictMessage(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error())
}

// crmSearch is the link dialog's search form and its results.
type crmSearch struct {
	ConnectionID string
	Query        string
	Searched     bool
	Results      []app.EntityResult
	Warning      string
	Errors       fieldErrors
}

type referralDetail struct {
	Referral     app.ReferralView
	Partner      store.Partner
	Timeline     []store.TimelineEntry
	Dialog       bool
	Suggested    string
	Suggestions  []store.Suggestion
	PinnedMissed bool
	Connections  []app.ConnectionView
	Search       crmSearch
}

func (p *pages) referralPage(c *fiber.Ctx, v *view) error {
	return p.renderReferral(c, v, fiber.StatusOK, c.Params("id"))
}

// renderReferral builds the detail page. The link dialog opens when the
// query has link=1, a suggested record or a search, or when a link failed.
func (p *pages) renderReferral(c *fiber.Ctx, v *view, status int, id string) error {
	ctx := c.UserContext()
	r, err := p.App.Referral(ctx, v.User.ID, id)
	if err != nil {
		return err
	}
	d := referralDetail{Referral: r, Suggested: c.Query("suggested")}
	d.Partner, err = p.App.Partner(ctx, v.User.ID, r.PartnerID)
	if err != nil && !app.IsNotFound(err) {
		return err
	}
	if d.Timeline, _, err = p.App.Timeline(ctx, v.User.ID, id, store.Page{Limit: 100}); err != nil {
		return err
	}
	if d.Connections, err = p.App.Connections(ctx, v.User.ID); err != nil {
		return err
	}
	d.Suggestions, d.PinnedMissed = pinSuggestion(r.PendingSuggestions, d.Suggested)
	d.Dialog = c.Query("link") != "" || d.Suggested != "" || c.Query("q") != "" || v.Error != ""
	d.Search = p.searchCRM(c, v.User.ID, d.Connections)
	v.Title, v.Nav, v.Data = r.ClientName, "referrals", d
	return p.tmpl.render(c, status, "referral", v)
}

// pinSuggestion moves the suggestion for entityID to the front. missed is
// set when a record was named but has no pending suggestion any more.
func pinSuggestion(list []store.Suggestion, entityID string) (out []store.Suggestion, missed bool) {
	if entityID == "" {
		return list, false
	}
	out = make([]store.Suggestion, 0, len(list))
	for _, s := range list {
		if s.EntityID == entityID {
			out = append([]store.Suggestion{s}, out...)
			continue
		}
		out = append(out, s)
	}
	return out, len(out) == 0 || out[0].EntityID != entityID
}

// searchCRM runs the link dialog's search when the query has one. An
// unreachable CRM leaves the mirror results with a warning.
func (p *pages) searchCRM(c *fiber.Ctx, userID string, conns []app.ConnectionView) crmSearch {
	s := crmSearch{ConnectionID: c.Query("connection_id"), Query: strings.TrimSpace(c.Query("q"))}
	if s.ConnectionID == "" && len(conns) > 0 {
		s.ConnectionID = conns[0].ID
	}
	if s.Query == "" || s.ConnectionID == "" {
		return s
	}
	s.Searched = true
	results, err := p.App.SearchCRM(c.UserContext(), userID, s.ConnectionID, s.Query)
	s.Results = results
	if err != nil {
		if fe, ok := asFieldErrors(err); ok {
			s.Errors = fe
		} else {
			s.Warning = err.Error()
		}
	}
	return s
}

// crmSearchFragment returns only the results list for htmx. Without htmx
// the same search runs through the detail page.
func (p *pages) crmSearchFragment(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	if !isHTMX(c) {
		q := url.Values{"link": {"1"}, "connection_id": {c.Query("connection_id")}, "q": {c.Query("q")}}
		return c.Redirect("/referrals/"+url.PathEscape(id)+"?"+q.Encode()+"#link-dialog", fiber.StatusSeeOther)
	}
	r, err := p.App.Referral(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	conns, err := p.App.Connections(c.UserContext(), v.User.ID)
	if err != nil {
		return err
	}
	v.Data = referralDetail{Referral: r, Connections: conns, Search: p.searchCRM(c, v.User.ID, conns)}
	return p.tmpl.fragment(c, "referral", "crm_results", v)
}

func (p *pages) setStatusPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	if _, err := p.App.SetStatus(c.UserContext(), v.User.ID, id, c.FormValue("status")); err != nil {
		if fe, ok := asFieldErrors(err); ok {
			v.Error = "Status " + fe["status"]
			return p.renderReferral(c, v, fiber.StatusBadRequest, id)
		}
		return err
	}
	return redirectAfterPost(c, "/referrals/"+url.PathEscape(id))
}

// linkPage links a record picked in the dialog's search. Problems show in
// the open dialog.
func (p *pages) linkPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	_, err := p.App.LinkManually(c.UserContext(), v.User.ID, id, app.LinkInput{
		ConnectionID: c.FormValue("connection_id"), EntityID: c.FormValue("entity_id"),
	})
	if err != nil {
		if fe, ok := asFieldErrors(err); ok {
			for field, msg := range fe {
				v.Error = "Could not link: " + field + " " + msg
			}
			return p.renderReferral(c, v, fiber.StatusBadRequest, id)
		}
		if app.IsConflict(err) {
			v.Error = "Could not link: " + conflictMessage(err)
			return p.renderReferral(c, v, fiber.StatusConflict, id)
		}
		return err
	}
	return redirectAfterPost(c, "/referrals/"+url.PathEscape(id))
}

// unlinkPage removes a link. htmx drops the pill from the empty response.
func (p *pages) unlinkPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	if err := p.App.Unlink(c.UserContext(), v.User.ID, id, c.Params("link_id")); err != nil {
		return err
	}
	if isHTMX(c) {
		return c.SendString("")
	}
	return redirectAfterPost(c, "/referrals/"+url.PathEscape(id))
}

func (p *pages) confirmPage(c *fiber.Ctx, v *view) error {
	l, err := p.App.ConfirmSuggestion(c.UserContext(), v.User.ID, c.Params("id"))
	if err != nil {
		if app.IsConflict(err) {
			return apiError(fiber.StatusConflict, "conflict", conflictMessage(err), "")
		}
		return err
	}
	return redirectAfterPost(c, "/referrals/"+url.PathEscape(l.ReferralID))
}

func (p *pages) rejectPage(c *fiber.Ctx, v *view) error {
	if err := p.App.RejectSuggestion(c.UserContext(), v.User.ID, c.Params("id")); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return apiError(fiber.StatusConflict, "conflict", conflictMessage(err), "")
		}
		return err
	}
	return redirectAfterPost(c, localPath(c.FormValue("back"), "/referrals"))
}
