package ui

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
)

// partnerForm is the add-partner form on the partners list.
type partnerForm struct {
	Name    string
	Email   string
	Company string
	Errors  fieldErrors
}

type partnersData struct {
	Items   []store.Partner
	NextURL string
	Form    partnerForm
}

func (p *pages) partnersPage(c *fiber.Ctx, v *view) error {
	return p.renderPartners(c, v, fiber.StatusOK, partnerForm{})
}

func (p *pages) renderPartners(c *fiber.Ctx, v *view, status int, form partnerForm) error {
	items, next, err := p.App.ListPartners(c.UserContext(), v.User.ID, store.Page{Cursor: c.Query("cursor"), Limit: 50})
	if err != nil {
		return err
	}
	data := partnersData{Items: items, Form: form}
	if next != "" {
		data.NextURL = "/partners?cursor=" + url.QueryEscape(next)
	}
	v.Title, v.Nav, v.Data = "Partners", "partners", data
	return p.tmpl.render(c, status, "partners", v)
}

func (p *pages) createPartnerPage(c *fiber.Ctx, v *view) error {
	form := partnerForm{
		Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email")),
		Company: strings.TrimSpace(c.FormValue("company")),
	}
	pt, err := p.App.CreatePartner(c.UserContext(), v.User.ID, app.PartnerInput{Name: &form.Name, Email: &form.Email, Company: &form.Company})
	if err != nil {
		fe, err := partnerFieldErrors(err)
		if err != nil {
			return err
		}
		form.Errors = fe
		return p.renderPartners(c, v, fiber.StatusBadRequest, form)
	}
	return redirectAfterPost(c, "/partners/"+url.PathEscape(pt.ID))
}

// partnerLabels are the visible labels of the partner forms' fields.
var partnerLabels = map[string]string{"name": "Name", "email": "Email", "company": "Company"}

// partnerFieldErrors turns an input or duplicate-email error of the partner
// forms into labelled field errors and returns any other error.
func partnerFieldErrors(err error) (fieldErrors, error) {
	check := newFormCheck(partnerLabels)
	fe, ok := asFieldErrors(err)
	switch {
	case ok:
		check.addAll(fe)
	case app.IsConflict(err):
		check.add("email", conflictMessage(err))
	default:
		return nil, err
	}
	return check.errs, nil
}

type partnerDetail struct {
	Partner  store.Partner
	Given    []store.Referral
	Received []store.Referral
	// InviteURL is set right after an invitation, to show the sign-up link.
	InviteURL string
	// Form holds the edit form's values and errors.
	Form partnerForm
	// EditOpen keeps the edit form expanded after a failed save.
	EditOpen bool
}

func (p *pages) partnerPage(c *fiber.Ctx, v *view) error {
	return p.renderPartner(c, v, fiber.StatusOK, c.Params("id"), nil)
}

// renderPartner shows a partner; form is the edit form after a failed save.
func (p *pages) renderPartner(c *fiber.Ctx, v *view, status int, id string, form *partnerForm) error {
	pt, err := p.App.Partner(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	refs, err := p.App.PartnerReferrals(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	d := partnerDetail{Partner: pt, Form: partnerForm{Name: pt.Name, Email: pt.Email, Company: pt.Company}}
	if form != nil {
		d.Form, d.EditOpen = *form, true
	}
	switch c.Query("notice") {
	case noticeInvited:
		v.Notice = "Invitation sent to " + pt.Email + "."
	case noticeInviteURL:
		v.Notice = "Mail is not configured, so nothing was sent. Share the sign-up link below with " + pt.Name + "."
	}
	if c.Query("notice") == noticeInviteURL && pt.InviteToken != "" && pt.State != store.PartnerRegistered {
		d.InviteURL = strings.TrimRight(p.App.PublicURL, "/") + "/invite/" + pt.InviteToken
	}
	for _, r := range refs {
		if r.Direction == store.DirectionGiven {
			d.Given = append(d.Given, r)
		} else {
			d.Received = append(d.Received, r)
		}
	}
	v.Title, v.Nav, v.Data = pt.Name, "partners", d
	return p.tmpl.render(c, status, "partner", v)
}

// updatePartnerPage saves the partner's name, email and company.
func (p *pages) updatePartnerPage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	form := partnerForm{
		Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email")),
		Company: strings.TrimSpace(c.FormValue("company")),
	}
	_, err := p.App.UpdatePartner(c.UserContext(), v.User.ID, id, app.PartnerInput{Name: &form.Name, Email: &form.Email, Company: &form.Company})
	if err != nil {
		fe, err := partnerFieldErrors(err)
		if err != nil {
			return err
		}
		form.Errors = fe
		return p.renderPartner(c, v, fiber.StatusBadRequest, id, &form)
	}
	return redirectWith(c, "/partners/"+url.PathEscape(id), url.Values{"notice": {"partner_saved"}})
}

// backToPartner sends a reload of the invite's POST address to the partner page.
func (p *pages) backToPartner(c *fiber.Ctx, v *view) error {
	return c.Redirect("/partners/"+url.PathEscape(c.Params("id")), fiber.StatusSeeOther)
}

// invitePage invites or re-invites a partner, then shows the partner page
// with the sign-up link, which the user shares by hand when mail is off.
func (p *pages) invitePage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	inv, err := p.App.InvitePartner(c.UserContext(), v.User.ID, id)
	if err != nil {
		if app.IsConflict(err) {
			v.Error = conflictMessage(err)
			return p.renderPartner(c, v, fiber.StatusConflict, id, nil)
		}
		return err
	}
	code := noticeInviteURL
	if inv.Mailed {
		code = noticeInvited
	}
	return redirectWith(c, "/partners/"+url.PathEscape(id), url.Values{"notice": {code}})
}
