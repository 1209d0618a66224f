package cliotest

import (
	"fmt"
	"net/http"
	"strings"
)

// field is one entry of a `fields` list; children are the braces part of
// a nested resource, such as client{id,name}.
type field struct {
	name     string
	children []field
	nested   bool
}

// parseFields parses Clio's `fields` syntax: a comma-separated list where
// a nested resource may name its own fields in braces, one level deep.
func parseFields(spec string) ([]field, error) {
	fields, rest, err := parseFieldList(strings.TrimSpace(spec), 0)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected %q in fields", rest)
	}
	return fields, nil
}

func parseFieldList(s string, depth int) ([]field, string, error) {
	var out []field
	for s != "" {
		end := strings.IndexAny(s, ",{}")
		name := s
		if end >= 0 {
			name = s[:end]
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, s, fmt.Errorf("empty field name in fields")
		}
		f := field{name: name}
		if end < 0 {
			out = append(out, f)
			return out, "", nil
		}

		s = s[end:]
		if s[0] == '{' {
			if depth >= 1 {
				return nil, s, fmt.Errorf("fields of a second-level nested resource (%s) cannot be selected", name)
			}
			children, rest, err := parseFieldList(s[1:], depth+1)
			if err != nil {
				return nil, s, err
			}
			if !strings.HasPrefix(rest, "}") {
				return nil, rest, fmt.Errorf("missing } after %s{", name)
			}
			f.children, f.nested = children, true
			s = rest[1:]
		}
		out = append(out, f)

		if s == "" {
			return out, "", nil
		}
		switch s[0] {
		case ',':
			s = s[1:]
		case '}':
			return out, s, nil
		default:
			return nil, s, fmt.Errorf("unexpected %q in fields", s)
		}
	}
	return out, s, nil
}

var defaultFields = []field{{name: "id"}, {name: "etag"}}

// project keeps the requested fields of a full record. A nested resource
// named without braces gets its id and etag; an unknown field is an error,
// which Clio returns as 400.
func project(full map[string]any, fields []field) (map[string]any, error) {
	if len(fields) == 0 {
		fields = defaultFields
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, ok := full[f.name]
		if !ok {
			return nil, fmt.Errorf("invalid field: %s", f.name)
		}
		children := f.children
		if !f.nested {
			children = defaultFields
		}
		switch nested := v.(type) {
		case map[string]any:
			p, err := project(nested, children)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			out[f.name] = p
		case []map[string]any:
			list := make([]map[string]any, 0, len(nested))
			for _, item := range nested {
				p, err := project(item, children)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f.name, err)
				}
				list = append(list, p)
			}
			out[f.name] = list
		default:
			if f.nested && v != nil {
				return nil, fmt.Errorf("%s is not a nested resource", f.name)
			}
			out[f.name] = v
		}
	}
	return out, nil
}

// requestFields parses the fields query parameter, writing a 400 on error.
func requestFields(w http.ResponseWriter, r *http.Request) ([]field, bool) {
	fields, err := parseFields(r.URL.Query().Get("fields"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "ArgumentError", err.Error())
		return nil, false
	}
	return fields, true
}

// writeOne writes {"data": record} shaped by the fields parameter.
func (s *Server) writeOne(w http.ResponseWriter, r *http.Request, full map[string]any) {
	s.writeOneStatus(w, r, http.StatusOK, full)
}

func (s *Server) writeOneStatus(w http.ResponseWriter, r *http.Request, status int, full map[string]any) {
	fields, ok := requestFields(w, r)
	if !ok {
		return
	}
	data, err := project(full, fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ArgumentError", err.Error())
		return
	}
	writeJSON(w, status, map[string]any{"data": data})
}
