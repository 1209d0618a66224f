package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// alwaysReturned are the deal properties HubSpot adds to every response.
var alwaysReturned = []string{"hs_object_id", "createdate", "hs_lastmodifieddate"}

// defaultDealProperties are returned when a request names no properties.
var defaultDealProperties = []string{"dealname", "amount", "closedate", "pipeline", "dealstage", "createdate", "hs_lastmodifieddate", "hs_object_id"}

type apiObject struct {
	ID           string                     `json:"id"`
	Properties   map[string]*string         `json:"properties"`
	CreatedAt    string                     `json:"createdAt"`
	UpdatedAt    string                     `json:"updatedAt"`
	Archived     bool                       `json:"archived"`
	Associations map[string]inlineResultSet `json:"associations,omitempty"`
}

type inlineResultSet struct {
	Results []inlineAssociation `json:"results"`
}

type inlineAssociation struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// selectProps returns the requested properties, null when unset.
func selectProps(all map[string]string, requested []string, defaults []string) map[string]*string {
	if len(requested) == 0 {
		requested = defaults
	}
	out := map[string]*string{}
	for _, name := range append(requested, alwaysReturned...) {
		if v, ok := all[name]; ok && v != "" {
			out[name] = &v
		} else if _, seen := out[name]; !seen {
			out[name] = nil
		}
	}
	return out
}

func (s *Server) dealObjectLocked(d *deal, props []string, associations []string) apiObject {
	obj := apiObject{
		ID:         d.id,
		Properties: selectProps(s.propsLocked(d), props, defaultDealProperties),
		CreatedAt:  d.createdAt.Format(timeLayout),
		UpdatedAt:  d.modifiedAt.Format(timeLayout),
	}
	for _, a := range associations {
		if obj.Associations == nil {
			obj.Associations = map[string]inlineResultSet{}
		}
		switch a {
		case "contacts":
			var set inlineResultSet
			for _, c := range d.contacts {
				set.Results = append(set.Results, inlineAssociation{ID: c.id, Type: "deal_to_contact"})
				if c.label != "" {
					set.Results = append(set.Results, inlineAssociation{ID: c.id, Type: labelTypeName(c.label)})
				}
			}
			if len(set.Results) > 0 {
				obj.Associations["contacts"] = set
			}
		case "companies":
			var set inlineResultSet
			for _, c := range d.companies {
				if c.primary {
					set.Results = append(set.Results, inlineAssociation{ID: c.id, Type: "deal_to_company"})
				}
				set.Results = append(set.Results, inlineAssociation{ID: c.id, Type: "deal_to_company_unlabeled"})
			}
			if len(set.Results) > 0 {
				obj.Associations["companies"] = set
			}
		}
	}
	return obj
}

// labelTypeName turns "Primary referral contact" into
// "primary_referral_contact", the form seen in v3 inline association types.
func labelTypeName(label string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(label)), " ", "_")
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// handleObject serves GET /crm/v3/objects/{type}/{id}.
func (s *Server) handleObject(w http.ResponseWriter, r *http.Request, objectType, id string) {
	q := r.URL.Query()
	props := splitList(q.Get("properties"))

	s.mu.Lock()
	defer s.mu.Unlock()
	switch objectType {
	case "deals", "0-3":
		d, ok := s.deals[id]
		if !ok {
			writeError(w, http.StatusNotFound, "error", "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
			return
		}
		writeJSON(w, http.StatusOK, s.dealObjectLocked(d, props, splitList(q.Get("associations"))))
	case "contacts", "0-1":
		c, ok := s.contacts[id]
		if !ok {
			writeError(w, http.StatusNotFound, "error", "Object not found.", "OBJECT_NOT_FOUND")
			return
		}
		writeJSON(w, http.StatusOK, apiObject{ID: c.id, Properties: selectProps(c.props, props, []string{"email", "firstname", "lastname"})})
	case "companies", "0-2":
		c, ok := s.companies[id]
		if !ok {
			writeError(w, http.StatusNotFound, "error", "Object not found.", "OBJECT_NOT_FOUND")
			return
		}
		writeJSON(w, http.StatusOK, apiObject{ID: c.id, Properties: selectProps(c.props, props, []string{"name", "domain"})})
	default:
		writeError(w, http.StatusNotFound, "error", "unknown object type "+objectType, "OBJECT_NOT_FOUND")
	}
}

type v4Type struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

type v4Result struct {
	ToObjectID       int64    `json:"toObjectId"`
	AssociationTypes []v4Type `json:"associationTypes"`
}

// handleV4Associations serves GET /crm/v4/objects/deals/{id}/associations/{type}.
func (s *Server) handleV4Associations(w http.ResponseWriter, dealID, toType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deals[dealID]
	if !ok {
		writeError(w, http.StatusNotFound, "error", "Object not found.", "OBJECT_NOT_FOUND")
		return
	}

	results := []v4Result{}
	switch toType {
	case "contacts", "0-1":
		for _, c := range d.contacts {
			id, _ := strconv.ParseInt(c.id, 10, 64)
			res := v4Result{ToObjectID: id, AssociationTypes: []v4Type{{Category: "HUBSPOT_DEFINED", TypeID: 3}}}
			if c.label != "" {
				label := c.label
				res.AssociationTypes = append(res.AssociationTypes, v4Type{Category: "USER_DEFINED", TypeID: s.labelTypeLocked(label), Label: &label})
			}
			results = append(results, res)
		}
	case "companies", "0-2":
		for _, c := range d.companies {
			id, _ := strconv.ParseInt(c.id, 10, 64)
			res := v4Result{ToObjectID: id}
			if c.primary {
				primary := "Primary"
				res.AssociationTypes = append(res.AssociationTypes, v4Type{Category: "HUBSPOT_DEFINED", TypeID: 5, Label: &primary})
			}
			res.AssociationTypes = append(res.AssociationTypes, v4Type{Category: "HUBSPOT_DEFINED", TypeID: 341})
			results = append(results, res)
		}
	default:
		writeError(w, http.StatusBadRequest, "error", "unsupported association type "+toType, "VALIDATION_ERROR")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// handleContactsBatch serves POST /crm/v3/objects/contacts/batch/read.
func (s *Server) handleContactsBatch(w http.ResponseWriter, body []byte) {
	var req struct {
		Properties []string `json:"properties"`
		Inputs     []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Inputs) > 100 {
		writeError(w, http.StatusBadRequest, "error", "invalid batch read body: inputs of at most 100 ids", "VALIDATION_ERROR")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	started := s.opts.Now().UTC().Format(timeLayout)
	results := []apiObject{}
	for _, in := range req.Inputs {
		c, ok := s.contacts[in.ID]
		if !ok {
			continue
		}
		results = append(results, apiObject{
			ID:         c.id,
			Properties: selectProps(c.props, req.Properties, []string{"email", "firstname", "lastname"}),
			CreatedAt:  c.props["createdate"],
			UpdatedAt:  c.props["lastmodifieddate"],
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": s.opts.Now().UTC().Format(timeLayout),
	})
}

// handlePipelines serves GET /crm/v3/pipelines/deals with string metadata.
func (s *Server) handlePipelines(w http.ResponseWriter) {
	type stageJSON struct {
		ID           string            `json:"id"`
		Label        string            `json:"label"`
		DisplayOrder int               `json:"displayOrder"`
		Metadata     map[string]string `json:"metadata"`
		Archived     bool              `json:"archived"`
	}
	type pipelineJSON struct {
		ID           string      `json:"id"`
		Label        string      `json:"label"`
		DisplayOrder int         `json:"displayOrder"`
		Archived     bool        `json:"archived"`
		Stages       []stageJSON `json:"stages"`
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pipelineJSON
	for i, p := range s.pipelines {
		pj := pipelineJSON{ID: p.ID, Label: p.Label, DisplayOrder: i}
		for j, st := range p.Stages {
			pj.Stages = append(pj.Stages, stageJSON{
				ID: st.ID, Label: st.Label, DisplayOrder: j,
				Metadata: map[string]string{"isClosed": strconv.FormatBool(st.IsClosed), "probability": st.Probability},
			})
		}
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

type searchRequest struct {
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Sorts []struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	} `json:"sorts"`
	Properties []string `json:"properties"`
	Limit      int      `json:"limit"`
	After      string   `json:"after"`
}

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

// handleSearch serves POST /crm/v3/objects/deals/search: filter groups are
// ORed, filters in a group ANDed, one sort, at most 200 per page, and a 400
// when paging reaches SearchResultCap.
func (s *Server) handleSearch(w http.ResponseWriter, body []byte) {
	var req searchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "error", "invalid search body: "+err.Error(), "VALIDATION_ERROR")
		return
	}
	if req.Limit == 0 {
		req.Limit = 10
	}
	if req.Limit < 0 || req.Limit > 200 {
		writeError(w, http.StatusBadRequest, "error", fmt.Sprintf("limit %d is out of range: use 1 to 200", req.Limit), "VALIDATION_ERROR")
		return
	}
	after := 0
	if req.After != "" {
		var err error
		if after, err = strconv.Atoi(req.After); err != nil || after < 0 {
			writeError(w, http.StatusBadRequest, "error", "after must be a number", "VALIDATION_ERROR")
			return
		}
	}
	if after >= s.opts.SearchResultCap {
		writeError(w, http.StatusBadRequest, "error", fmt.Sprintf("Search results are limited to %d; narrow the filters", s.opts.SearchResultCap), "VALIDATION_ERROR")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var matches []*deal
	for _, d := range s.sortedDealsLocked() {
		props := s.propsLocked(d)
		if matchGroups(props, req) {
			matches = append(matches, d)
		}
	}
	if len(req.Sorts) > 0 {
		sortBy, desc := req.Sorts[0].PropertyName, strings.EqualFold(req.Sorts[0].Direction, "DESCENDING")
		sort.SliceStable(matches, func(i, j int) bool {
			c := compareValues(propertyValue(s.propsLocked(matches[i]), sortBy), propertyValue(s.propsLocked(matches[j]), sortBy))
			if desc {
				return c > 0
			}
			return c < 0
		})
	}

	end := min(after+req.Limit, len(matches), s.opts.SearchResultCap)
	results := []apiObject{}
	for _, d := range matches[min(after, len(matches)):max(end, min(after, len(matches)))] {
		results = append(results, s.dealObjectLocked(d, req.Properties, nil))
	}
	resp := map[string]any{"total": len(matches), "results": results}
	if end < len(matches) {
		resp["paging"] = map[string]any{"next": map[string]string{"after": strconv.Itoa(end)}}
	}
	writeJSON(w, http.StatusOK, resp)
}

func matchGroups(props map[string]string, req searchRequest) bool {
	if len(req.FilterGroups) == 0 {
		return true
	}
	for _, g := range req.FilterGroups {
		all := true
		for _, f := range g.Filters {
			if !matchFilter(props, f) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// matchFilter applies one filter. CONTAINS_TOKEN is approximated as a
// case-insensitive substring match with the * wildcards removed.
func matchFilter(props map[string]string, f searchFilter) bool {
	have, set := props[f.PropertyName]
	switch f.Operator {
	case "HAS_PROPERTY":
		return set && have != ""
	case "NOT_HAS_PROPERTY":
		return !set || have == ""
	case "CONTAINS_TOKEN":
		return strings.Contains(strings.ToLower(have), strings.ToLower(strings.Trim(f.Value, "*")))
	}

	c := compareValues(propertyValue(props, f.PropertyName), filterValue(f.Value))
	switch f.Operator {
	case "EQ":
		return c == 0
	case "NEQ":
		return c != 0
	case "GT":
		return c > 0
	case "GTE":
		return c >= 0
	case "LT":
		return c < 0
	case "LTE":
		return c <= 0
	}
	return false
}

// propertyValue returns a number for dates (epoch ms) and numeric strings,
// else the string itself.
func propertyValue(props map[string]string, name string) any {
	return filterValue(props[name])
}

func filterValue(v string) any {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return n
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return float64(t.UnixMilli())
	}
	return strings.ToLower(v)
}

func compareValues(a, b any) int {
	an, aNum := a.(float64)
	bn, bNum := b.(float64)
	switch {
	case aNum && bNum:
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	case aNum:
		return -1
	case bNum:
		return 1
	}
	return strings.Compare(a.(string), b.(string))
}
