package ui

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// list is the API's paged list shape.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func page[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

func pageParams(c *fiber.Ctx) (store.Page, error) {
	p := store.Page{Cursor: c.Query("cursor")}
	if p.Cursor != "" && !store.ValidID(p.Cursor) {
		return p, apiError(fiber.StatusBadRequest, "invalid_argument", "cursor "+strconv.Quote(p.Cursor)+" is not a cursor from this API: pass the next_cursor of the previous page", "cursor")
	}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 200 {
			return p, apiError(fiber.StatusBadRequest, "invalid_argument", "limit "+strconv.Quote(raw)+" must be a whole number from 1 to 200", "limit")
		}
		p.Limit = n
	}
	return p.Normalize(), nil
}

func (s *Server) me(c *fiber.Ctx) error {
	u := currentUser(c)
	return c.JSON(fiber.Map{"id": u.ID, "email": u.Email, "name": u.Name})
}

func (s *Server) listPartners(c *fiber.Ctx) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	items, next, err := s.App.ListPartners(c.UserContext(), currentUser(c).ID, p)
	if err != nil {
		return err
	}
	return c.JSON(page(items, next))
}

func (s *Server) createPartner(c *fiber.Ctx) error {
	var in app.PartnerInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	p, err := s.App.CreatePartner(c.UserContext(), currentUser(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) getPartner(c *fiber.Ctx) error {
	p, err := s.App.Partner(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) updatePartner(c *fiber.Ctx) error {
	var in app.PartnerInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	p, err := s.App.UpdatePartner(c.UserContext(), currentUser(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) invitePartner(c *fiber.Ctx) error {
	inv, err := s.App.InvitePartner(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(inv)
}

func (s *Server) partnerReferrals(c *fiber.Ctx) error {
	items, err := s.App.PartnerReferrals(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(page(items, ""))
}

func (s *Server) listReferrals(c *fiber.Ctx) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := store.ReferralFilter{Direction: c.Query("direction"), Status: c.Query("status"), PartnerID: c.Query("partner_id")}
	items, next, err := s.App.ListReferrals(c.UserContext(), currentUser(c).ID, f, c.Query("q"), p)
	if err != nil {
		return err
	}
	return c.JSON(page(items, next))
}

func (s *Server) createReferral(c *fiber.Ctx) error {
	var in app.ReferralInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	r, err := s.App.CreateReferral(c.UserContext(), currentUser(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Server) getReferral(c *fiber.Ctx) error {
	r, err := s.App.Referral(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) patchReferral(c *fiber.Ctx) error {
	var in struct {
		Status *string `json:"status"`
	}
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	if in.Status == nil {
		return apiError(fiber.StatusBadRequest, "invalid_argument", "status is required: use open, won or lost", "status")
	}
	r, err := s.App.SetStatus(c.UserContext(), currentUser(c).ID, c.Params("id"), *in.Status)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) timeline(c *fiber.Ctx) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	items, next, err := s.App.Timeline(c.UserContext(), currentUser(c).ID, c.Params("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(page(items, next))
}

func (s *Server) createLink(c *fiber.Ctx) error {
	var in app.LinkInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	l, err := s.App.LinkManually(c.UserContext(), currentUser(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(l)
}

func (s *Server) deleteLink(c *fiber.Ctx) error {
	if err := s.App.Unlink(c.UserContext(), currentUser(c).ID, c.Params("id"), c.Params("link_id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) confirmSuggestion(c *fiber.Ctx) error {
	l, err := s.App.ConfirmSuggestion(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(l)
}

func (s *Server) rejectSuggestion(c *fiber.Ctx) error {
	if err := s.App.RejectSuggestion(c.UserContext(), currentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) listNotifications(c *fiber.Ctx) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	unread := false
	switch c.Query("unread") {
	case "", "false":
	case "true":
		unread = true
	default:
		return apiError(fiber.StatusBadRequest, "invalid_argument", "unread must be true or false", "unread")
	}
	items, next, err := s.App.Notifications(c.UserContext(), currentUser(c).ID, unread, p)
	if err != nil {
		return err
	}
	return c.JSON(page(items, next))
}

func (s *Server) readNotification(c *fiber.Ctx) error {
	n, err := s.App.MarkRead(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(n)
}

func (s *Server) readAllNotifications(c *fiber.Ctx) error {
	n, err := s.App.MarkAllRead(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked_read": n})
}

func (s *Server) listDrafts(c *fiber.Ctx) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	state := c.Query("state")
	switch state {
	case "", store.DraftOpen, store.DraftSent, store.DraftDismissed:
	default:
		return apiError(fiber.StatusBadRequest, "invalid_argument", "state "+strconv.Quote(state)+" is not a draft state: use draft, sent or dismissed", "state")
	}
	items, next, err := s.App.Drafts(c.UserContext(), currentUser(c).ID, state, p)
	if err != nil {
		return err
	}
	return c.JSON(page(items, next))
}

func (s *Server) editDraft(c *fiber.Ctx) error {
	var in app.DraftInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	d, err := s.App.EditDraft(c.UserContext(), currentUser(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) sendDraft(c *fiber.Ctx) error {
	d, err := s.App.SendDraft(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) dismissDraft(c *fiber.Ctx) error {
	d, err := s.App.DismissDraft(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) listConnections(c *fiber.Ctx) error {
	items, err := s.App.Connections(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(page(items, ""))
}

func (s *Server) createConnection(c *fiber.Ctx) error {
	var in crm.ConnectRequest
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	v, err := s.App.Connect(c.UserContext(), currentUser(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (s *Server) getConnection(c *fiber.Ctx) error {
	v, err := s.App.Connection(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) deleteConnection(c *fiber.Ctx) error {
	if err := s.App.Disconnect(c.UserContext(), currentUser(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) pollConnection(c *fiber.Ctx) error {
	if s.poller == nil {
		return apiError(fiber.StatusServiceUnavailable, "unavailable", "polling is not running on this server", "")
	}
	res, err := s.App.PollNow(c.UserContext(), currentUser(c).ID, c.Params("id"), s.poller.Poll)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Server) retryConnection(c *fiber.Ctx) error {
	n, err := s.App.RetryFailed(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	if s.waker != nil {
		s.waker.Wake()
	}
	return c.JSON(fiber.Map{"requeued": n})
}

func (s *Server) searchCRM(c *fiber.Ctx) error {
	items, err := s.App.SearchCRM(c.UserContext(), currentUser(c).ID, c.Query("connection_id"), c.Query("q"))
	if items == nil {
		items = []app.EntityResult{}
	}
	if err != nil {
		if _, ok := app.IsInputError(err); ok || app.IsNotFound(err) {
			return err
		}
		return c.JSON(fiber.Map{"items": items, "next_cursor": "", "warning": err.Error()})
	}
	return c.JSON(page(items, ""))
}

func (s *Server) assistant(c *fiber.Ctx) error {
	var in struct {
		Question string `json:"question"`
		Timezone string `json:"timezone"`
	}
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	ans, err := s.App.Assistant(c.UserContext(), currentUser(c).ID, in.Question, in.Timezone)
	if err != nil {
		return err
	}
	return c.JSON(ans)
}

func (s *Server) listTokens(c *fiber.Ctx) error {
	var toks []store.Token
	err := s.App.Store.View(func(tx *store.Tx) error {
		var err error
		toks, err = tx.UserTokens(currentUser(c).ID)
		return err
	})
	if err != nil {
		return err
	}
	type view struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
	}
	out := make([]view, 0, len(toks))
	for _, t := range toks {
		out = append(out, view{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt.Format("2006-01-02T15:04:05Z")})
	}
	return c.JSON(page(out, ""))
}

func (s *Server) createToken(c *fiber.Ctx) error {
	var in struct {
		Name string `json:"name"`
	}
	if len(c.Body()) > 0 {
		if err := decodeBody(c, &in); err != nil {
			return err
		}
	}
	secret, tok, err := s.App.CreateToken(c.UserContext(), currentUser(c).ID, in.Name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": tok.ID, "name": tok.Name, "token": secret})
}

func (s *Server) deleteToken(c *fiber.Ctx) error {
	err := s.App.Store.Update(func(tx *store.Tx) error { return tx.DeleteToken(currentUser(c).ID, c.Params("id")) })
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) dashboard(c *fiber.Ctx) error {
	d, err := s.App.Dashboard(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(d)
}
