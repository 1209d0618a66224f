package hubspottest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Subscription ids of the fake app, one per subscribed event type.
const (
	SubscriptionCreation          = 2210451
	SubscriptionDealstage         = 2210455
	SubscriptionDeletion          = 2210458
	SubscriptionAssociationChange = 2210460
)

// Event is one webhook event in HubSpot's delivery format. Association
// events carry fromObjectId and toObjectId instead of objectId.
type Event struct {
	EventID              int64  `json:"eventId"`
	SubscriptionID       int64  `json:"subscriptionId"`
	PortalID             int64  `json:"portalId"`
	AppID                int64  `json:"appId"`
	OccurredAt           int64  `json:"occurredAt"`
	SubscriptionType     string `json:"subscriptionType"`
	AttemptNumber        int    `json:"attemptNumber"`
	ObjectID             int64  `json:"objectId,omitempty"`
	ObjectTypeID         string `json:"objectTypeId,omitempty"`
	PropertyName         string `json:"propertyName,omitempty"`
	PropertyValue        string `json:"propertyValue,omitempty"`
	ChangeFlag           string `json:"changeFlag,omitempty"`
	ChangeSource         string `json:"changeSource"`
	SourceID             string `json:"sourceId,omitempty"`
	AssociationType      string `json:"associationType,omitempty"`
	FromObjectTypeID     string `json:"fromObjectTypeId,omitempty"`
	FromObjectID         int64  `json:"fromObjectId,omitempty"`
	ToObjectTypeID       string `json:"toObjectTypeId,omitempty"`
	ToObjectID           int64  `json:"toObjectId,omitempty"`
	AssociationRemoved   *bool  `json:"associationRemoved,omitempty"`
	IsPrimaryAssociation *bool  `json:"isPrimaryAssociation,omitempty"`
}

// newEventLocked builds the next event of an action for a deal.
func (s *Server) newEventLocked(action, dealID string, at time.Time) Event {
	s.nextEvent++
	ev := Event{
		EventID:          s.nextEvent,
		PortalID:         s.opts.PortalID,
		AppID:            s.opts.AppID,
		OccurredAt:       at.UnixMilli(),
		SubscriptionType: "deal." + action,
		ChangeSource:     "CRM_UI",
		SourceID:         "userId:91822610",
	}
	if dealID != "" {
		ev.ObjectID, _ = strconv.ParseInt(dealID, 10, 64)
	}
	if s.opts.Generic {
		ev.SubscriptionType = "object." + action
		if dealID != "" {
			ev.ObjectTypeID = "0-3"
		}
	}
	switch action {
	case "creation":
		ev.SubscriptionID = SubscriptionCreation
	case "propertyChange":
		ev.SubscriptionID = SubscriptionDealstage
	case "deletion":
		ev.SubscriptionID = SubscriptionDeletion
	case "associationChange":
		ev.SubscriptionID = SubscriptionAssociationChange
	}
	s.history = append(s.history, ev)
	return ev
}

// SetWebhookURL sets the delivery target.
func (s *Server) SetWebhookURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = url
}

// SetDeliveries turns automatic deliveries on or off. Events created while
// off are kept in Events and can be sent later with Redeliver.
func (s *Server) SetDeliveries(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveriesOn = on
}

// Events returns every event generated so far, oldest first, as first sent.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.history...)
}

// Deliveries returns every delivery attempt, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// deliver sends a helper's event when deliveries are on.
func (s *Server) deliver(ev Event) {
	s.mu.Lock()
	on := s.deliveriesOn && s.webhookURL != ""
	s.mu.Unlock()
	if on {
		_, _ = s.DeliverBatch(ev)
	}
}

// DeliverBatch POSTs events as one signed batch, synchronously, and
// returns the target's status code. The events are sent as given, so a
// test can build out-of-order or mixed batches.
func (s *Server) DeliverBatch(events ...Event) (int, error) {
	s.mu.Lock()
	target := s.webhookURL
	s.mu.Unlock()
	if target == "" {
		return 0, errors.New("hubspottest: no webhook URL: set Options.WebhookURL or call SetWebhookURL")
	}

	body, err := json.Marshal(events)
	if err != nil {
		return 0, fmt.Errorf("hubspottest: encode batch: %w", err)
	}
	timestamp := strconv.FormatInt(s.opts.Now().UnixMilli(), 10)
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("hubspottest: build delivery: %w", err)
	}
	for k, v := range SignatureHeaders(s.opts.ClientSecret, http.MethodPost, target, body, timestamp) {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor")
	req.Header.Set("X-HubSpot-Timeout-Millis", "10000")

	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	s.lastBatch = append([]Event(nil), events...)
	s.mu.Unlock()

	status := 0
	resp, err := s.opts.Client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	s.deliveries = append(s.deliveries, Delivery{Events: events, Status: status, Err: err, Timestamp: timestamp})
	return status, err
}

// RetryLast sends the last batch again as HubSpot retries it: same
// eventIds and occurredAt, attemptNumber plus one, a fresh timestamp and
// signature.
func (s *Server) RetryLast() (int, error) {
	s.mu.Lock()
	batch := make([]Event, len(s.lastBatch))
	copy(batch, s.lastBatch)
	s.mu.Unlock()
	if len(batch) == 0 {
		return 0, errors.New("hubspottest: nothing delivered yet")
	}
	for i := range batch {
		batch[i].AttemptNumber++
	}
	return s.DeliverBatch(batch...)
}

// Redeliver sends the events with the given ids again in one batch, with
// attemptNumber one higher than their last delivery.
func (s *Server) Redeliver(eventIDs ...int64) (int, error) {
	attempts := map[int64]int{}
	for _, d := range s.Deliveries() {
		for _, ev := range d.Events {
			attempts[ev.EventID] = max(attempts[ev.EventID], ev.AttemptNumber+1)
		}
	}

	var batch []Event
	for _, ev := range s.Events() {
		for _, id := range eventIDs {
			if ev.EventID == id {
				ev.AttemptNumber = attempts[id]
				batch = append(batch, ev)
			}
		}
	}
	if len(batch) == 0 {
		return 0, fmt.Errorf("hubspottest: no events with ids %v", eventIDs)
	}
	return s.DeliverBatch(batch...)
}

// SignatureHeaders returns the headers HubSpot sets on a delivery: the v1
// signature (hex SHA-256 of secret and body) with its version header, and
// the v3 signature (Base64 HMAC-SHA256 of method, URL, body and timestamp)
// with the timestamp in epoch milliseconds.
func SignatureHeaders(secret, method, url string, body []byte, timestamp string) map[string]string {
	v1 := sha256.Sum256(append([]byte(secret), body...))

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + decodeURI(url)))
	mac.Write(body)
	mac.Write([]byte(timestamp))

	return map[string]string{
		"X-HubSpot-Signature":         hex.EncodeToString(v1[:]),
		"X-HubSpot-Signature-Version": "v1",
		"X-HubSpot-Signature-v3":      base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"X-HubSpot-Request-Timestamp": timestamp,
	}
}

// decodeURI decodes the percent-escapes HubSpot decodes before signing.
func decodeURI(u string) string {
	return strings.NewReplacer(
		"%3A", ":", "%2F", "/", "%3F", "?", "%40", "@", "%21", "!", "%24", "$",
		"%27", "'", "%28", "(", "%29", ")", "%2A", "*", "%2C", ",", "%3B", ";",
	).Replace(u)
}
