package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageCSP allows only the server's own scripts and styles. form-action is
// left out on purpose: the Connect form redirects to the CRM's consent page,
// and browsers apply form-action to that redirect.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// layoutFile holds the shared page frame and the fragments every page may use.
const layoutFile = "templates/layout.html"

// renderer holds one parsed template set per page, each made of the layout
// plus that page's file.
type renderer struct {
	pages map[string]*template.Template
}

var templateFuncs = template.FuncMap{
	"when":          formatWhen,
	"minPassword":   func() int { return app.MinPasswordLen },
	"providerLabel": func(p string) string { return crm.Provider(p).Label() },
	"stateLabel":    partnerStateLabel,
	"title":         titleWord,
	"lines":         func(s string) []string { return strings.Split(s, "\n") },
	"notificationURL": func(n store.Notification) string {
		return notificationURL(n)
	},
	"fieldError": fieldError,
	"invalid":    invalidAttrs,
	"summary":    errorSummary,
}

// newRenderer parses every page template once. Templates are embedded, so a
// parse error is a build defect and the tests catch it.
func newRenderer() (*renderer, error) {
	layout, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFiles, layoutFile)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", layoutFile, err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}

	r := &renderer{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == layoutFile {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, name)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		r.pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return r, nil
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 page instead of half a page.
func (r *renderer) render(c *fiber.Ctx, status int, page string, v *view) error {
	return r.execute(c, status, page, "layout", v)
}

// fragment renders one named block of a page, for htmx partial updates.
func (r *renderer) fragment(c *fiber.Ctx, page, block string, v *view) error {
	return r.execute(c, fiber.StatusOK, page, block, v)
}

func (r *renderer) execute(c *fiber.Ctx, status int, page, block string, v *view) error {
	t, ok := r.pages[page]
	if !ok {
		return fmt.Errorf("page template %q does not exist", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		return fmt.Errorf("render page %s: %w", page, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", pageCSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// view is the data every page template receives. Data holds the page's own
// typed struct, so a misspelled field fails at render time.
type view struct {
	Title string
	// Nav names the active navigation entry.
	Nav    string
	User   store.User
	CSRF   string
	Notice string
	Error  string
	Data   any
}

// HXHeaders is the hx-headers value that sends the CSRF token on every htmx request.
func (v *view) HXHeaders() string {
	return fmt.Sprintf(`{%q: %q}`, CSRFHeader, v.CSRF)
}

// SignedIn reports whether the page shows the signed-in frame.
func (v *view) SignedIn() bool { return v.User.ID != "" }

func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func partnerStateLabel(state string) string {
	switch state {
	case store.PartnerContact:
		return "Contact"
	case store.PartnerInvited:
		return "Invited"
	case store.PartnerProfileUpdated:
		return "Profile updated"
	case store.PartnerRegistered:
		return "Registered"
	}
	return state
}

func titleWord(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// notificationURL builds the link of a banner. A suggestion opens the link
// dialog with the suggested record pinned, and a queued draft opens the
// Action Queue.
func notificationURL(n store.Notification) string {
	if n.Kind == "draft_queued" {
		return "/action-queue"
	}
	if n.ReferralID == "" {
		return ""
	}
	u := "/referrals/" + n.ReferralID
	if n.Kind == "link_suggested" && n.Entity != nil {
		u += "?suggested=" + url.QueryEscape(n.Entity.EntityID) + "#link-dialog"
	}
	return u
}
