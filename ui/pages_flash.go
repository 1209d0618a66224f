package ui

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// Flash messages: after a POST the handler redirects to a GET page with
// ?notice=<code> or ?failed=<code>, and the page shows the fixed text of
// that code. Unknown codes show nothing, so a crafted link cannot put its
// own words inside a signed-in page.
var flashNotices = map[string]string{
	"draft_saved":     "Draft saved.",
	"draft_dismissed": "Draft dismissed.",
	"partner_saved":   "Partner details saved.",
	"disconnected":    "Disconnected. Links on your referrals stay.",
	"token_revoked":   "Token revoked. Scripts that use it are rejected from now on.",
	"all_read":        "All notifications are marked read.",
	"unlinked":        "Link removed. The referral's status no longer follows that record.",
}

var flashErrors = map[string]string{
	"poll_off":          "Polling is not running on this server, so Poll now is unavailable.",
	"poll_failed":       "Poll failed. A reason, when the CRM gave one, shows under Last poll below; the server log has the details.",
	"disconnect_failed": "Disconnect failed. The server log has the details; try again in a moment.",
}

// Notice codes whose text the page builds from stored records or counts.
const (
	noticeSentMail  = "sent_mail"
	noticeSentApp   = "sent_app"
	noticeSentBoth  = "sent_both"
	noticeInvited   = "invited"
	noticeInviteURL = "invite_link"
	noticePolled    = "polled"
	noticeRetried   = "retried"
)

// applyFlash sets the page's notice and error from the fixed texts of the
// query's codes.
func applyFlash(c *fiber.Ctx, v *view) {
	if msg, ok := flashNotices[c.Query("notice")]; ok {
		v.Notice = msg
	}
	if msg, ok := flashErrors[c.Query("failed")]; ok {
		v.Error = msg
	}
}

// redirectWith redirects with 303 to path with the query values set.
func redirectWith(c *fiber.Ctx, path string, q url.Values) error {
	if len(q) == 0 {
		return redirectAfterPost(c, path)
	}
	return redirectAfterPost(c, path+"?"+q.Encode())
}

// queryCount reads a non-negative count from the query, or -1 when the
// value is missing or not a whole number.
func queryCount(c *fiber.Ctx, key string) int {
	n, err := strconv.Atoi(c.Query(key))
	if err != nil || n < 0 {
		return -1
	}
	return n
}
