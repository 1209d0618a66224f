package ui

import (
	"github.com/gofiber/fiber/v2"
)

// confirmField is the form field that marks a destructive request as
// confirmed. The page script sets it after its own dialog; without
// JavaScript the handler first shows the confirmation page.
const confirmField = "confirmed"

// confirmData is the confirmation step of a destructive action.
type confirmData struct {
	Question string
	Detail   string
	// Action is the URL the confirm button posts to, with Fields as hidden inputs.
	Action string
	Fields map[string]string
	Button string
	// Cancel is the page to go back to.
	Cancel string
}

// confirmed reports whether the request carries the confirmation.
func confirmed(c *fiber.Ctx) bool { return c.FormValue(confirmField) == "1" }

// renderConfirm shows the confirmation page of a destructive action.
func (p *pages) renderConfirm(c *fiber.Ctx, v *view, title string, d confirmData) error {
	v.Title, v.Data = title, d
	return p.tmpl.render(c, fiber.StatusOK, "confirm", v)
}
