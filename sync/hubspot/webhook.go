package hubspot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

// maxWebhookEvents is one more than HubSpot's batch size: it sends fewer
// than 100 events per request.
const maxWebhookEvents = 100

// dealObjectTypeID is the object type id of deals in generic object.* events.
const dealObjectTypeID = "0-3"

// webhookEvent is one element of a delivery, in the legacy (deal.*) or the
// generic (object.* with objectTypeId) shape.
type webhookEvent struct {
	EventID          int64   `json:"eventId"`
	SubscriptionID   int64   `json:"subscriptionId"`
	PortalID         int64   `json:"portalId"`
	AppID            int64   `json:"appId"`
	OccurredAt       int64   `json:"occurredAt"`
	SubscriptionType string  `json:"subscriptionType"`
	AttemptNumber    int     `json:"attemptNumber"`
	ObjectID         int64   `json:"objectId"`
	ObjectTypeID     string  `json:"objectTypeId"`
	PropertyName     string  `json:"propertyName"`
	PropertyValue    string  `json:"propertyValue"`
	ChangeSource     string  `json:"changeSource"`
	ChangeFlag       string  `json:"changeFlag"`
	AssociationType  string  `json:"associationType"`
	FromObjectID     int64   `json:"fromObjectId"`
	ToObjectID       int64   `json:"toObjectId"`
	FromObjectTypeID string  `json:"fromObjectTypeId"`
	ToObjectTypeID   string  `json:"toObjectTypeId"`
	Removed          bool    `json:"associationRemoved"`
	PrimaryObjectID  int64   `json:"primaryObjectId"`
	MergedObjectIDs  []int64 `json:"mergedObjectIds"`
	NewObjectID      int64   `json:"newObjectId"`
}

// action returns the part after the dot: creation, propertyChange,
// deletion, associationChange, merge, restore.
func (e webhookEvent) action() string {
	_, action, _ := strings.Cut(e.SubscriptionType, ".")
	return action
}

// dealID returns the deal the event is about, or 0 when it concerns no deal.
func (e webhookEvent) dealID() int64 {
	object, _, _ := strings.Cut(e.SubscriptionType, ".")
	if e.action() == "associationChange" {
		return e.associationDealID(object)
	}
	switch {
	case object == "deal":
	case object == "object" && e.ObjectTypeID == dealObjectTypeID:
	default:
		return 0
	}
	if e.action() == "merge" {
		return firstNonZero(e.NewObjectID, e.PrimaryObjectID, e.ObjectID)
	}
	return e.ObjectID
}

// associationDealID finds the deal side of an association change. Legacy
// events name it in associationType (DEAL_TO_CONTACT, CONTACT_TO_DEAL);
// generic events carry object type ids for both ends.
func (e webhookEvent) associationDealID(object string) int64 {
	switch {
	case e.FromObjectTypeID == dealObjectTypeID:
		return e.FromObjectID
	case e.ToObjectTypeID == dealObjectTypeID:
		return e.ToObjectID
	case strings.HasPrefix(e.AssociationType, "DEAL_TO_"):
		return e.FromObjectID
	case strings.HasSuffix(e.AssociationType, "_TO_DEAL"):
		return e.ToObjectID
	case object == "deal" && e.AssociationType == "":
		return firstNonZero(e.FromObjectID, e.ObjectID)
	}
	return 0
}

// dedupeKey hashes the fields that identify one change, leaving out
// attemptNumber. HubSpot documents eventId as not guaranteed unique, so
// the key combines portal, subscription, event, object, time and property.
func (e webhookEvent) dedupeKey(connectionID string) string {
	parts := []string{
		strconv.FormatInt(e.PortalID, 10),
		strconv.FormatInt(e.SubscriptionID, 10),
		strconv.FormatInt(e.EventID, 10),
		e.SubscriptionType,
		strconv.FormatInt(e.ObjectID, 10),
		strconv.FormatInt(e.OccurredAt, 10),
		e.PropertyName,
		e.PropertyValue,
		e.AssociationType,
		strconv.FormatInt(e.FromObjectID, 10),
		strconv.FormatInt(e.ToObjectID, 10),
		strconv.FormatBool(e.Removed),
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "hubspot:webhook:" + connectionID + ":" + strconv.FormatInt(e.EventID, 10) + ":" + hex.EncodeToString(sum[:12])
}

// HandleWebhook verifies a delivery, then stores each deal event once per
// connection of its portal, in one transaction, before answering 200.
func (c *Connector) HandleWebhook(ctx context.Context, req crm.WebhookRequest) crm.WebhookResponse {
	now := c.now()
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = now
	}

	version, err := verifySignature(c.cfg.ClientSecret, req.Method, req.URL, req.Header, req.Body, now)
	if err != nil {
		c.log.Warn().Err(err).Str("signature_version", version).Str("url", req.URL).Msg("webhook rejected: bad signature")
		return reject(http.StatusUnauthorized, "invalid signature")
	}

	var raws []json.RawMessage
	if err := json.Unmarshal(req.Body, &raws); err != nil {
		c.log.Warn().Err(err).Msg("webhook rejected: body is not a JSON array")
		return reject(http.StatusBadRequest, "body must be a JSON array of events")
	}
	if len(raws) > maxWebhookEvents {
		c.log.Warn().Int("events", len(raws)).Msg("webhook batch larger than HubSpot sends, storing it anyway")
	}

	events := make([]parsedEvent, 0, len(raws))
	for _, raw := range raws {
		var ev webhookEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			c.log.Warn().Err(err).Msg("webhook event skipped: not an event object")
			continue
		}
		if ev.dealID() == 0 {
			continue
		}
		if c.cfg.AppID != "" && ev.AppID != 0 && strconv.FormatInt(ev.AppID, 10) != c.cfg.AppID {
			c.log.Warn().Int64("event_id", ev.EventID).Int64("app_id", ev.AppID).Msg("webhook event for another app skipped: check hubspot.app_id")
			continue
		}
		events = append(events, parsedEvent{event: ev, raw: raw})
	}
	sortEvents(events)

	stored, err := c.storeEvents(events, req.ReceivedAt)
	if err != nil {
		c.log.Error().Err(err).Int("events", len(events)).Msg("store webhook events failed")
		return crm.WebhookResponse{Status: http.StatusInternalServerError, Body: []byte(`{"error":"storing the events failed"}`)}
	}
	return crm.WebhookResponse{Status: http.StatusOK, Stored: stored}
}

type parsedEvent struct {
	event webhookEvent
	raw   json.RawMessage
}

// sortEvents orders a batch per deal with creation first, then by
// occurredAt, because HubSpot does not order the events of a batch.
func sortEvents(events []parsedEvent) {
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i].event, events[j].event
		if a.dealID() != b.dealID() {
			return a.dealID() < b.dealID()
		}
		if ac, bc := a.action() == "creation", b.action() == "creation"; ac != bc {
			return ac
		}
		return a.OccurredAt < b.OccurredAt
	})
}

// storeEvents enqueues every event for every connection of its portal and
// marks those connections as having received a webhook.
func (c *Connector) storeEvents(events []parsedEvent, receivedAt time.Time) (int, error) {
	// Batch shares one commit among concurrent deliveries; the function may
	// run twice, which Enqueue's key check makes harmless.
	stored := 0
	err := c.st.Batch(func(tx *store.Tx) error {
		stored = 0
		byPortal := map[int64][]store.Connection{}
		touched := map[string]bool{}

		for _, pe := range events {
			conns, seen := byPortal[pe.event.PortalID]
			if !seen {
				var err error
				conns, err = tx.PortalConnections(strconv.FormatInt(pe.event.PortalID, 10))
				if err != nil {
					return err
				}
				byPortal[pe.event.PortalID] = conns
				if len(conns) == 0 {
					c.log.Warn().Int64("portal_id", pe.event.PortalID).Int64("event_id", pe.event.EventID).Msg("webhook for a portal with no connection ignored")
				}
			}

			for _, conn := range conns {
				n, err := tx.Enqueue(store.InboxItem{
					Key:          pe.event.dedupeKey(conn.ID),
					Provider:     string(crm.HubSpot),
					ConnectionID: conn.ID,
					Source:       "webhook",
					Payload:      pe.raw,
					ReceivedAt:   receivedAt,
				})
				if err != nil {
					return err
				}
				stored += n
				touched[conn.ID] = true
				if err := markWebhookSeen(tx, conn.ID, pe.event); err != nil {
					return err
				}
			}
		}

		for id := range touched {
			conn, err := tx.Connection(id)
			if err != nil {
				return err
			}
			conn.Health.LastWebhookAt = receivedAt
			if err := tx.PutConnection(&conn); err != nil {
				return err
			}
		}
		return nil
	})
	return stored, err
}

// webhookSeenKey names the newest occurredAt a webhook delivered for one
// deal of one connection; the poller reads it to count missed changes.
func webhookSeenKey(connectionID string, dealID string) string {
	return "hubspot:webhook_seen:" + connectionID + ":" + dealID
}

func markWebhookSeen(tx *store.Tx, connectionID string, ev webhookEvent) error {
	k := webhookSeenKey(connectionID, strconv.FormatInt(ev.dealID(), 10))
	if raw, ok := tx.GetValue(k); ok {
		if prev, err := strconv.ParseInt(string(raw), 10, 64); err == nil && prev >= ev.OccurredAt {
			return nil
		}
	}
	return tx.PutValue(k, []byte(strconv.FormatInt(ev.OccurredAt, 10)))
}

func reject(status int, message string) crm.WebhookResponse {
	body, _ := json.Marshal(map[string]string{"error": message})
	return crm.WebhookResponse{Status: status, Body: body, Rejected: true, Header: map[string]string{"Content-Type": "application/json"}}
}

func firstNonZero(ids ...int64) int64 {
	for _, id := range ids {
		if id != 0 {
			return id
		}
	}
	return 0
}
