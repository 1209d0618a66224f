package ui

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
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

// referralLabels are the visible labels of the new-referral form's fields.
var referralLabels = map[string]string{
	"direction": "Direction", "partner_id": "Partner",
	"new_partner_name": "Partner name", "new_partner_email": "Partner email", "new_partner_company": "Partner company",
	"client_name": "Client name", "client_email": "Client email", "client_company": "Client company", "note": "Note",
}

// createReferralPage creates the referral, first adding the partner when
// the inline partner fields are filled and no partner was picked. Every
// field is checked before anything is stored, so a rejected form reports
// all its problems at once and leaves no partner behind.
func (p *pages) createReferralPage(c *fiber.Ctx, v *view) error {
	form := referralForm{
		Direction: c.FormValue("direction"), PartnerID: c.FormValue("partner_id"),
		NewPartnerName: strings.TrimSpace(c.FormValue("new_partner_name")), NewPartnerEmail: strings.TrimSpace(c.FormValue("new_partner_email")),
		NewPartnerCompany: strings.TrimSpace(c.FormValue("new_partner_company")),
		ClientName:        c.FormValue("client_name"), ClientEmail: c.FormValue("client_email"),
		ClientCompany: c.FormValue("client_company"), Note: c.FormValue("note"),
	}
	if check := checkReferralForm(form); !check.ok() {
		form.Errors = check.errs
		return p.renderReferralForm(c, v, fiber.StatusBadRequest, form)
	}

	if form.PartnerID == "" {
		partner, err := p.App.CreatePartner(c.UserContext(), v.User.ID, app.PartnerInput{
			Name: &form.NewPartnerName, Email: &form.NewPartnerEmail, Company: &form.NewPartnerCompany,
		})
		if err != nil {
			return p.referralFormError(c, v, form, err, "new_partner_")
		}
		form.PartnerID = partner.ID
		form.NewPartnerName, form.NewPartnerEmail, form.NewPartnerCompany = "", "", ""
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

// checkReferralForm checks every field of the new-referral form, including
// the inline partner when no partner is picked.
func checkReferralForm(form referralForm) *formCheck {
	check := newFormCheck(referralLabels)
	switch form.Direction {
	case store.DirectionGiven, store.DirectionReceived:
	case "":
		check.add("direction", "is required: pick given or received.")
	default:
		check.add("direction", "must be given or received.")
	}

	if form.PartnerID == "" {
		if form.NewPartnerName == "" && form.NewPartnerEmail == "" {
			check.add("partner_id", "is required: pick a partner or add a new one below.")
		} else {
			check.required("new_partner_name", form.NewPartnerName)
			check.maxLen("new_partner_name", form.NewPartnerName, maxFieldLen)
			if form.NewPartnerEmail == "" {
				check.add("new_partner_email", "is required.")
			} else if _, err := app.CheckEmail("new_partner_email", form.NewPartnerEmail, true); err != nil {
				check.add("new_partner_email", "is not a valid email address, for example name@example.com.")
			}
			check.maxLen("new_partner_company", form.NewPartnerCompany, maxFieldLen)
		}
	}

	check.required("client_name", form.ClientName)
	check.maxLen("client_name", strings.TrimSpace(form.ClientName), maxFieldLen)
	if _, err := app.CheckEmail("client_email", form.ClientEmail, false); err != nil {
		check.add("client_email", "is not a valid email address, for example name@example.com.")
	}
	check.maxLen("client_company", strings.TrimSpace(form.ClientCompany), maxFieldLen)
	check.maxLen("note", form.Note, maxNoteLen)
	return check
}

// referralFormError shows an input error next to its field. The prefix maps
// the partner's field names onto the inline partner inputs.
func (p *pages) referralFormError(c *fiber.Ctx, v *view, form referralForm, err error, prefix string) error {
	fe, ok := asFieldErrors(err)
	if !ok {
		if !app.IsConflict(err) {
			return err
		}
		fe = fieldErrors{"email": conflictMessage(err)}
		prefix = "new_partner_"
	}
	check := newFormCheck(referralLabels)
	for field, msg := range fe {
		check.add(prefix+field, msg)
	}
	form.Errors = check.errs
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
	// Drafts are the referral's notes waiting in the Action Queue.
	Drafts []store.Draft
	// FocusLinks moves focus to the links heading after an htmx update.
	FocusLinks bool
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
	if d.Drafts, err = p.referralDrafts(c, v.User.ID, id); err != nil {
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

// unlinkPage removes a link after a confirmation. htmx gets the links
// panel and the timeline back, so the empty state and the "Unlinked" entry
// show at once; a plain form goes back to the referral page.
func (p *pages) unlinkPage(c *fiber.Ctx, v *view) error {
	id, linkID := c.Params("id"), c.Params("link_id")
	back := "/referrals/" + url.PathEscape(id)
	if !confirmed(c) {
		r, err := p.App.Referral(c.UserContext(), v.User.ID, id)
		if err != nil {
			return err
		}
		name := "this record"
		for _, l := range r.Links {
			if l.ID == linkID {
				name = "the " + crm.Provider(l.Provider).Label() + " " + l.EntityType + " “" + l.EntityName + "”"
			}
		}
		return p.renderConfirm(c, v, "Unlink", confirmData{
			Question: "Unlink " + name + " from " + r.ClientName + "?",
			Detail:   "The referral's status stops following that record. You can link it again later from the link dialog.",
			Action:   back + "/links/" + url.PathEscape(linkID) + "/delete",
			Button:   "Unlink",
			Cancel:   back,
		})
	}
	if err := p.App.Unlink(c.UserContext(), v.User.ID, id, linkID); err != nil {
		return err
	}
	if !isHTMX(c) {
		return redirectWith(c, back, url.Values{"notice": {"unlinked"}})
	}

	r, err := p.App.Referral(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	d := referralDetail{Referral: r, FocusLinks: true}
	if d.Connections, err = p.App.Connections(c.UserContext(), v.User.ID); err != nil {
		return err
	}
	if d.Timeline, _, err = p.App.Timeline(c.UserContext(), v.User.ID, id, store.Page{Limit: 100}); err != nil {
		return err
	}
	v.Data = d
	return p.tmpl.fragment(c, "referral", "links_update", v)
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
