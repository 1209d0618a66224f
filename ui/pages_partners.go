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
		fe, ok := asFieldErrors(err)
		if !ok {
			if !app.IsConflict(err) {
				return err
			}
			fe = fieldErrors{"email": conflictMessage(err)}
		}
		form.Errors = fe
		return p.renderPartners(c, v, fiber.StatusBadRequest, form)
	}
	return redirectAfterPost(c, "/partners/"+url.PathEscape(pt.ID))
}

type partnerDetail struct {
	Partner  store.Partner
	Given    []store.Referral
	Received []store.Referral
	// Invitation is set right after an invite, to show the link.
	Invitation *app.Invitation
}

func (p *pages) partnerPage(c *fiber.Ctx, v *view) error {
	return p.renderPartner(c, v, c.Params("id"), nil)
}

func (p *pages) renderPartner(c *fiber.Ctx, v *view, id string, inv *app.Invitation) error {
	pt, err := p.App.Partner(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	refs, err := p.App.PartnerReferrals(c.UserContext(), v.User.ID, id)
	if err != nil {
		return err
	}
	d := partnerDetail{Partner: pt, Invitation: inv}
	for _, r := range refs {
		if r.Direction == store.DirectionGiven {
			d.Given = append(d.Given, r)
		} else {
			d.Received = append(d.Received, r)
		}
	}
	v.Title, v.Nav, v.Data = pt.Name, "partners", d
	return p.tmpl.render(c, fiber.StatusOK, "partner", v)
}

// invitePage invites or re-invites a partner and shows the sign-up link,
// which the user shares by hand when mail is off.
func (p *pages) invitePage(c *fiber.Ctx, v *view) error {
	id := c.Params("id")
	inv, err := p.App.InvitePartner(c.UserContext(), v.User.ID, id)
	if err != nil {
		if app.IsConflict(err) {
			v.Error = conflictMessage(err)
			return p.renderPartner(c, v, id, nil)
		}
		return err
	}
	if inv.Mailed {
		v.Notice = "Invitation sent to " + inv.Partner.Email + "."
	} else {
		v.Notice = "Mail is not configured, so nothing was sent. Share the sign-up link below with " + inv.Partner.Name + "."
	}
	return p.renderPartner(c, v, id, &inv)
}
