package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/referralpulse/referralpulse/app"
	"github.com/referralpulse/referralpulse/store"
	"github.com/referralpulse/referralpulse/sync/crm"
)

type storeTx = store.Tx

// errorBody is the API's error format.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// httpError is an error with its HTTP status and API code.
type httpError struct {
	status int
	detail errorDetail
}

func (e *httpError) Error() string { return e.detail.Message }

func apiError(status int, code, message, field string) error {
	return &httpError{status: status, detail: errorDetail{Code: code, Message: message, Field: field}}
}

// classify maps an error from the use cases to a status and an API error.
func classify(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	if fe, ok := app.IsInputError(err); ok {
		return &httpError{status: fiber.StatusBadRequest, detail: errorDetail{Code: "invalid_argument", Message: fe.Field + " " + fe.Message, Field: fe.Field}}
	}
	var fiberErr *fiber.Error
	if errors.As(err, &fiberErr) {
		code := strings.ToLower(strings.ReplaceAll(fiberErr.Message, " ", "_"))
		msg := fiberErr.Message
		if fiberErr.Code == fiber.StatusRequestEntityTooLarge {
			code, msg = "payload_too_large", "request body is larger than the server's limit; send less data"
		}
		return &httpError{status: fiberErr.Code, detail: errorDetail{Code: code, Message: msg}}
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &httpError{status: fiber.StatusNotFound, detail: errorDetail{Code: "not_found", Message: err.Error()}}
	case errors.Is(err, store.ErrConflict):
		msg := strings.TrimSuffix(err.Error(), ": "+store.ErrConflict.Error())
		return &httpError{status: fiber.StatusConflict, detail: errorDetail{Code: "conflict", Message: msg}}
	case errors.Is(err, app.ErrMailNotConfigured):
		return &httpError{status: fiber.StatusConflict, detail: errorDetail{Code: "mail_not_configured", Message: err.Error()}}
	case errors.Is(err, crm.ErrBroken):
		return &httpError{status: fiber.StatusConflict, detail: errorDetail{Code: "connection_broken", Message: err.Error()}}
	}
	return &httpError{status: fiber.StatusInternalServerError, detail: errorDetail{Code: "internal", Message: "internal error; the server log has the details"}}
}

// handleError is the one place errors turn into responses and log lines.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	he := classify(err)
	if he.status == fiber.StatusRequestEntityTooLarge {
		he.detail.Message = fmt.Sprintf("request body is larger than the limit of %d bytes; send less data", s.cfg.BodyLimit)
	}
	ev := s.log.Debug()
	if he.status >= 500 {
		ev = s.log.Error()
	}
	ev.Err(err).Str("method", c.Method()).Str("path", c.Path()).Int("status", he.status).Msg("request failed")
	return c.Status(he.status).JSON(errorBody{Error: he.detail})
}

// decodeBody parses a JSON body strictly: invalid JSON and unknown fields are
// rejected with a message that names the problem.
func decodeBody(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return apiError(fiber.StatusBadRequest, "invalid_argument", "request body is empty: send a JSON object", "")
	}
	dec := newStrictDecoder(body)
	if err := dec.Decode(v); err != nil {
		field := ""
		msg := err.Error()
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field = typeErr.Field
			msg = fmt.Sprintf("field %q must be a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
			if field == "" {
				msg = fmt.Sprintf("request body must be a JSON %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
			}
		} else if i := strings.Index(msg, "unknown field "); i >= 0 {
			field = strings.Trim(msg[i+len("unknown field "):], `"`)
			msg = fmt.Sprintf("unknown field %q: check the field names in the API reference", field)
		} else {
			msg = "request body is not valid JSON for this endpoint: " + msg
		}
		return apiError(fiber.StatusBadRequest, "invalid_argument", msg, field)
	}
	if dec.More() {
		return apiError(fiber.StatusBadRequest, "invalid_argument", "request body has data after the JSON object", "")
	}
	return nil
}

func newStrictDecoder(body []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	}
	return "object"
}
