package hubspottest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// timeLayout is how HubSpot writes datetime properties: UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

type deal struct {
	id         string
	props      map[string]string
	contacts   []contactLink
	companies  []companyLink
	createdAt  time.Time
	modifiedAt time.Time
}

type contactLink struct {
	id    string
	label string
}

type companyLink struct {
	id      string
	primary bool
}

type contact struct {
	id    string
	props map[string]string
}

type company struct {
	id    string
	props map[string]string
}

type pipeline struct {
	ID     string   `json:"id"`
	Label  string   `json:"label"`
	Stages []*Stage `json:"stages"`
}

// Stage is a deal stage. IsClosed and Probability are written as strings,
// as the v3 pipelines API does.
type Stage struct {
	ID          string
	Label       string
	IsClosed    bool
	Probability string
}

// defaultPipelines returns HubSpot's default sales pipeline with its word
// stage ids, plus a custom pipeline with numeric ids, labels renamed in both.
func defaultPipelines() []*pipeline {
	return []*pipeline{
		{ID: "default", Label: "Sales Pipeline", Stages: []*Stage{
			{ID: "appointmentscheduled", Label: "Intro call booked", Probability: "0.2"},
			{ID: "qualifiedtobuy", Label: "Qualified", Probability: "0.4"},
			{ID: "presentationscheduled", Label: "Demo given", Probability: "0.6"},
			{ID: "decisionmakerboughtin", Label: "Champion found", Probability: "0.8"},
			{ID: "contractsent", Label: "Proposal out", Probability: "0.9"},
			{ID: "closedwon", Label: "Signed", IsClosed: true, Probability: "1.0"},
			{ID: "closedlost", Label: "No deal", IsClosed: true, Probability: "0.0"},
		}},
		{ID: "731905512", Label: "Partner Referrals", Stages: []*Stage{
			{ID: "1190243380", Label: "Referral received", Probability: "0.1"},
			{ID: "1190243381", Label: "Meeting held", Probability: "0.5"},
			{ID: "1190243387", Label: "Won - referral paid", IsClosed: true, Probability: "1.0"},
			{ID: "1190243388", Label: "Lost", IsClosed: true, Probability: "0.0"},
		}},
	}
}

// ContactInput describes a contact for AddContact.
type ContactInput struct {
	Email, FirstName, LastName, Company string
}

// AddContact stores a contact and returns its id. No webhook is sent.
func (s *Server) AddContact(in ContactInput) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	now := s.opts.Now().UTC().Format(timeLayout)
	s.contacts[id] = &contact{id: id, props: map[string]string{
		"email": in.Email, "firstname": in.FirstName, "lastname": in.LastName, "company": in.Company,
		"hs_object_id": id, "createdate": now, "lastmodifieddate": now,
	}}
	return id
}

// AddCompany stores a company and returns its id. No webhook is sent.
func (s *Server) AddCompany(name, domain string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	s.companies[id] = &company{id: id, props: map[string]string{"name": name, "domain": domain, "hs_object_id": id}}
	return id
}

// ContactAssociation links a contact to a new deal, with an optional
// USER_DEFINED association label such as "Primary".
type ContactAssociation struct {
	ContactID string
	Label     string
}

// DealInput describes a deal for CreateDeal. Pipeline defaults to
// "default" and Stage to the pipeline's first stage. CreatedAt defaults to
// the clock; it also sets hs_lastmodifieddate.
type DealInput struct {
	Name      string
	Pipeline  string
	Stage     string
	Amount    string
	Contacts  []ContactAssociation
	CompanyID string
	CreatedAt time.Time
}

// Deal is a snapshot of a fake deal.
type Deal struct {
	ID         string
	Properties map[string]string
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// CreateDeal stores a deal and sends deal.creation (object.creation in
// generic mode). The company, when given, is the primary company.
func (s *Server) CreateDeal(in DealInput) Deal {
	s.mu.Lock()
	if in.Pipeline == "" {
		in.Pipeline = "default"
	}
	if in.Stage == "" {
		if p := s.pipelineLocked(in.Pipeline); p != nil && len(p.Stages) > 0 {
			in.Stage = p.Stages[0].ID
		}
	}
	created := in.CreatedAt
	if created.IsZero() {
		created = s.modTimeLocked()
	}
	created = created.UTC().Truncate(time.Millisecond)

	id := s.newIDLocked()
	d := &deal{id: id, createdAt: created, modifiedAt: created, props: map[string]string{
		"dealname": in.Name, "pipeline": in.Pipeline, "dealstage": in.Stage, "amount": in.Amount,
	}}
	for _, c := range in.Contacts {
		d.contacts = append(d.contacts, contactLink{id: c.ContactID, label: c.Label})
		s.labelTypeLocked(c.Label)
	}
	if in.CompanyID != "" {
		d.companies = append(d.companies, companyLink{id: in.CompanyID, primary: true})
	}
	s.deals[id] = d
	snap := s.snapshotLocked(d)
	ev := s.newEventLocked("creation", d.id, created)
	ev.ChangeFlag = "CREATED"
	s.mu.Unlock()

	s.deliver(ev)
	return snap
}

// SetDealStage moves a deal to stageID and sends a dealstage propertyChange.
func (s *Server) SetDealStage(dealID, stageID string) {
	s.mu.Lock()
	d := s.mustDealLocked(dealID)
	d.props["dealstage"] = stageID
	d.modifiedAt = s.modTimeLocked()
	ev := s.newEventLocked("propertyChange", d.id, d.modifiedAt)
	ev.PropertyName, ev.PropertyValue = "dealstage", stageID
	s.mu.Unlock()

	s.deliver(ev)
}

// SetDealProperty changes one property and sends no webhook, as for a
// property the app has no subscription for. It returns the new modification time.
func (s *Server) SetDealProperty(dealID, name, value string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.mustDealLocked(dealID)
	d.props[name] = value
	d.modifiedAt = s.modTimeLocked()
	return d.modifiedAt
}

// AssociateContact links a contact to a deal with an optional label and
// sends deal.associationChange (DEAL_TO_CONTACT).
//
// NOTE: whether association changes bump hs_lastmodifieddate in HubSpot is
// not documented; this fake bumps it, so polling sees the change.
func (s *Server) AssociateContact(dealID, contactID, label string) {
	s.mu.Lock()
	d := s.mustDealLocked(dealID)
	found := false
	for i, c := range d.contacts {
		if c.id == contactID {
			d.contacts[i].label, found = label, true
		}
	}
	if !found {
		d.contacts = append(d.contacts, contactLink{id: contactID, label: label})
	}
	s.labelTypeLocked(label)
	d.modifiedAt = s.modTimeLocked()

	ev := s.newEventLocked("associationChange", "", d.modifiedAt)
	ev.AssociationType = "DEAL_TO_CONTACT"
	ev.FromObjectID, _ = strconv.ParseInt(d.id, 10, 64)
	ev.ToObjectID, _ = strconv.ParseInt(contactID, 10, 64)
	removed, primary := false, false
	ev.AssociationRemoved, ev.IsPrimaryAssociation = &removed, &primary
	if s.opts.Generic {
		ev.FromObjectTypeID, ev.ToObjectTypeID = "0-3", "0-1"
	}
	s.mu.Unlock()

	s.deliver(ev)
}

// DeleteDeal removes a deal and sends deal.deletion.
func (s *Server) DeleteDeal(dealID string) {
	s.mu.Lock()
	d := s.mustDealLocked(dealID)
	delete(s.deals, dealID)
	ev := s.newEventLocked("deletion", d.id, s.modTimeLocked())
	s.mu.Unlock()

	s.deliver(ev)
}

// RenameStageLabel changes a stage's label only; ids and metadata stay.
func (s *Server) RenameStageLabel(stageID, label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pipelines {
		for _, st := range p.Stages {
			if st.ID == stageID {
				st.Label = label
			}
		}
	}
}

// AddStage appends a stage to a pipeline, creating the pipeline if needed.
func (s *Server) AddStage(pipelineID string, st Stage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pipelineLocked(pipelineID)
	if p == nil {
		p = &pipeline{ID: pipelineID, Label: "Pipeline " + pipelineID}
		s.pipelines = append(s.pipelines, p)
	}
	p.Stages = append(p.Stages, &st)
}

// Deal returns a snapshot of one deal, or false when it does not exist.
func (s *Server) Deal(id string) (Deal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deals[id]
	if !ok {
		return Deal{}, false
	}
	return s.snapshotLocked(d), true
}

func (s *Server) mustDealLocked(id string) *deal {
	d, ok := s.deals[id]
	if !ok {
		panic(fmt.Sprintf("hubspottest: no deal %s", id))
	}
	return d
}

func (s *Server) pipelineLocked(id string) *pipeline {
	for _, p := range s.pipelines {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (s *Server) stageLocked(pipelineID, stageID string) *Stage {
	if p := s.pipelineLocked(pipelineID); p != nil {
		for _, st := range p.Stages {
			if st.ID == stageID {
				return st
			}
		}
	}
	return nil
}

// labelTypeLocked returns the USER_DEFINED typeId of a label, assigning
// one on first use.
func (s *Server) labelTypeLocked(label string) int {
	if label == "" {
		return 0
	}
	if id, ok := s.labels[label]; ok {
		return id
	}
	id := 57 + len(s.labels)
	s.labels[label] = id
	return id
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// modTimeLocked returns the clock, moved past the last modification time
// so that every change has its own hs_lastmodifieddate.
func (s *Server) modTimeLocked() time.Time {
	t := s.opts.Now().UTC().Truncate(time.Millisecond)
	if !t.After(s.lastMod) {
		t = s.lastMod.Add(time.Millisecond)
	}
	s.lastMod = t
	return t
}

// propsLocked returns every property of a deal, with the calculated ones.
func (s *Server) propsLocked(d *deal) map[string]string {
	props := map[string]string{}
	for k, v := range d.props {
		props[k] = v
	}
	props["hs_object_id"] = d.id
	props["createdate"] = d.createdAt.Format(timeLayout)
	props["hs_lastmodifieddate"] = d.modifiedAt.Format(timeLayout)
	closed, won := false, false
	if st := s.stageLocked(d.props["pipeline"], d.props["dealstage"]); st != nil {
		closed = st.IsClosed
		won = closed && st.Probability == "1.0"
	}
	props["hs_is_closed"] = strconv.FormatBool(closed)
	props["hs_is_closed_won"] = strconv.FormatBool(won)
	return props
}

func (s *Server) snapshotLocked(d *deal) Deal {
	return Deal{ID: d.id, Properties: s.propsLocked(d), CreatedAt: d.createdAt, ModifiedAt: d.modifiedAt}
}

// sortedDealsLocked returns all deals in id order.
func (s *Server) sortedDealsLocked() []*deal {
	out := make([]*deal, 0, len(s.deals))
	for _, d := range s.deals {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].id, out[j].id) })
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return strings.Compare(a, b) < 0
}
