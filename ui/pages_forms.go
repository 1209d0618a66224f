package ui

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/referralpulse/referralpulse/app"
)

// Field limits of the browser forms: the app's own, checked here too so a
// form can report every problem at once before anything is stored.
const (
	maxFieldLen = app.MaxNameLen
	maxNoteLen  = app.MaxNoteLen
)

// formCheck collects the errors of one form submission, each message
// starting with the field's visible label.
type formCheck struct {
	labels map[string]string
	errs   fieldErrors
}

func newFormCheck(labels map[string]string) *formCheck {
	return &formCheck{labels: labels, errs: fieldErrors{}}
}

// add records msg for field unless the field already has an error, so the
// first problem found for a field is the one shown.
func (f *formCheck) add(field, msg string) {
	if _, ok := f.errs[field]; ok {
		return
	}
	label := f.labels[field]
	if label == "" || strings.HasPrefix(msg, label) {
		f.errs[field] = msg
		return
	}
	f.errs[field] = label + " " + msg
}

// addAll records the errors the app returned for the form, with labels.
func (f *formCheck) addAll(fe fieldErrors) {
	for field, msg := range fe {
		f.add(field, msg)
	}
}

// required records an error when value is empty after trimming.
func (f *formCheck) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		f.add(field, "is required.")
	}
}

// maxLen records an error when value is longer than max bytes.
func (f *formCheck) maxLen(field, value string, max int) {
	if len(value) > max {
		f.add(field, "is too long: keep it under "+strconv.Itoa(max)+" characters.")
	}
}

func (f *formCheck) ok() bool { return len(f.errs) == 0 }

// fieldMessage is one field's error as the field_error fragment renders it.
type fieldMessage struct {
	ID      string
	Message string
}

// summaryItem is one line of a form's error summary, linking to the field.
type summaryItem struct {
	Field   string
	Message string
}

// fieldError returns the error of field for the field_error fragment, or
// nil when the field has none.
func fieldError(errs fieldErrors, field string) *fieldMessage {
	msg, ok := errs[field]
	if !ok || msg == "" {
		return nil
	}
	return &fieldMessage{ID: field + "-error", Message: msg}
}

// invalidAttrs marks an input that has an error and ties it to the
// message. Field names come from the templates, never from a request.
func invalidAttrs(errs fieldErrors, field string) template.HTMLAttr {
	if errs[field] == "" {
		return ""
	}
	return template.HTMLAttr(`aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(field) + `-error"`)
}

// errorSummary lists the errors of the named fields in form order, for the
// summary above a form. Each field name is also the id of its input.
func errorSummary(errs fieldErrors, fields ...string) []summaryItem {
	var out []summaryItem
	for _, f := range fields {
		if msg := errs[f]; msg != "" {
			out = append(out, summaryItem{Field: f, Message: msg})
		}
	}
	return out
}
