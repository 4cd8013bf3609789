// Package catalog loads the Branch parameter catalog, schemas/branch-parameters.yaml:
// every Branch parameter a partner spec may name and how its value is
// obtained. The file is data so that a new Branch parameter needs no code
// change; the spec lint takes its known names from here and the renderer
// takes its definitions.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/adgate/adgate/schemas"
)

// File is the catalog's name inside schemas.FS.
const File = "branch-parameters.yaml"

// Source says where a parameter's value comes from when it has no path or
// template of its own.
type Source string

// The sources a catalog entry may name.
const (
	// SourceCredential reads ad_network.credentials.<macro>.
	SourceCredential Source = "credential"
	// SourceLinkMacro reads last_attributed_touch_data.<macro>.
	SourceLinkMacro Source = "link_macro"
	// SourceParameterTemplate evaluates the spec parameter's own template.
	SourceParameterTemplate Source = "parameter_template"
	// SourceSetting reads the account setting named by Param.Setting.
	SourceSetting Source = "setting"
)

// Hash names a digest applied to a value (lower-case hex).
type Hash string

// The digests a catalog entry may ask for.
const (
	HashMD5    Hash = "md5"
	HashSHA1   Hash = "sha1"
	HashSHA256 Hash = "sha256"
)

// Transform names a numeric derivation of a path's value. It is data so
// that a derived parameter (seconds from milliseconds) is a path lookup the
// renderer can do with integer arithmetic instead of a template run, while
// its meaning stays defined by an equivalent template (TransformTemplate).
type Transform string

// The transforms a catalog entry may ask for.
const (
	// MillisToSeconds is floor(value / 1000) printed as an integer.
	MillisToSeconds Transform = "ms_to_seconds"
)

// TransformTemplate is the template, in adgate's FreeMarker dialect, whose
// output defines p's value when p has a Transform: missing renders empty,
// a number is divided and floored exactly, anything else is a template
// error. It is "" when p has no transform.
func (p Param) TransformTemplate() string {
	switch p.Transform {
	case MillisToSeconds:
		return "<#if (" + p.Path + ")??>${(" + p.Path + " / 1000)?floor?c}</#if>"
	}
	return ""
}

// Param is one Branch parameter. Exactly one of Path, Template, Source is
// set, unless LinkOnly is true (then none is).
type Param struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description"`
	// Path is a dotted path into the template data model; segments may
	// start with ~, $ or + as Branch's link data keys do.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Template computes the value in adgate's FreeMarker dialect.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
	Source   Source `yaml:"source,omitempty" json:"source,omitempty"`
	// Setting is the account setting key read when Source is SourceSetting.
	Setting string `yaml:"setting,omitempty" json:"setting,omitempty"`
	// Transform, only with Path, derives a number from the number at Path.
	Transform Transform `yaml:"transform,omitempty" json:"transform,omitempty"`
	// Hash, when set, replaces a non-empty value by its digest.
	Hash Hash `yaml:"hash,omitempty" json:"hash,omitempty"`
	// LinkKey is the tracking-link key the value travels under.
	LinkKey string `yaml:"link_key,omitempty" json:"link_key,omitempty"`
	// LinkOnly marks click parameters that exist on the tracking link only.
	LinkOnly bool `yaml:"link_only,omitempty" json:"link_only,omitempty"`
}

// Catalog is the loaded, validated catalog. It is immutable.
type Catalog struct {
	params []Param
	byName map[string]int
}

type file struct {
	Parameters []Param `yaml:"parameters"`
}

// Load reads and validates the catalog embedded in the binary.
func Load() (*Catalog, error) {
	return LoadFS(schemas.FS, File)
}

// LoadFS reads and validates the catalog at name in fsys.
func LoadFS(fsys fs.FS, name string) (*Catalog, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", name, err)
	}
	return c, nil
}

var (
	nameRE    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	pathRE    = regexp.MustCompile(`^[A-Za-z_$~+][A-Za-z0-9_$~+]*(\.[A-Za-z_$~+][A-Za-z0-9_$~+]*)*$`)
	linkKeyRE = regexp.MustCompile(`^[A-Za-z_$~+][A-Za-z0-9_$~+]*$`)
	settingRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parse decodes and validates catalog YAML. Every problem is reported, not
// only the first.
func Parse(b []byte) (*Catalog, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	c := &Catalog{params: f.Parameters, byName: make(map[string]int, len(f.Parameters))}
	var errs []error
	for i, p := range f.Parameters {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("parameter %d (%s): %w", i+1, p.Name, err))
		}
		if j, dup := c.byName[p.Name]; dup {
			errs = append(errs, fmt.Errorf("parameter %d: %s is already defined by parameter %d", i+1, p.Name, j+1))
			continue
		}
		c.byName[p.Name] = i
	}
	if len(f.Parameters) == 0 {
		errs = append(errs, errors.New("no parameters"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func (p Param) validate() error {
	var errs []error
	if !nameRE.MatchString(p.Name) {
		errs = append(errs, fmt.Errorf("name %q: want upper-case letters, digits and _", p.Name))
	}
	if strings.TrimSpace(p.Description) == "" {
		errs = append(errs, errors.New("description is empty"))
	}
	ways := 0
	for _, set := range []bool{p.Path != "", p.Template != "", p.Source != ""} {
		if set {
			ways++
		}
	}
	switch {
	case p.LinkOnly && ways != 0:
		errs = append(errs, errors.New("a link_only parameter has no path, template or source"))
	case p.LinkOnly && p.LinkKey == "":
		errs = append(errs, errors.New("a link_only parameter needs a link_key"))
	case !p.LinkOnly && ways != 1:
		errs = append(errs, errors.New("want exactly one of path, template, source"))
	}
	if p.Path != "" && !pathRE.MatchString(p.Path) {
		errs = append(errs, fmt.Errorf("path %q is not a dotted path", p.Path))
	}
	switch p.Source {
	case "", SourceCredential, SourceLinkMacro, SourceParameterTemplate:
		if p.Setting != "" {
			errs = append(errs, errors.New("setting is only used with source: setting"))
		}
	case SourceSetting:
		if !settingRE.MatchString(p.Setting) {
			errs = append(errs, fmt.Errorf("source setting needs a setting key (lower-case), got %q", p.Setting))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown source %q (want credential, link_macro, parameter_template or setting)", p.Source))
	}
	switch p.Transform {
	case "":
	case MillisToSeconds:
		if p.Path == "" {
			errs = append(errs, fmt.Errorf("transform %s needs a path", p.Transform))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown transform %q (want ms_to_seconds)", p.Transform))
	}
	switch p.Hash {
	case "", HashMD5, HashSHA1, HashSHA256:
	default:
		errs = append(errs, fmt.Errorf("unknown hash %q (want md5, sha1 or sha256)", p.Hash))
	}
	if p.LinkKey != "" && !linkKeyRE.MatchString(p.LinkKey) {
		errs = append(errs, fmt.Errorf("link_key %q is not a link data key", p.LinkKey))
	}
	return errors.Join(errs...)
}

// Names returns every parameter name, sorted.
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.params))
	for _, p := range c.params {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the parameter called name (exact, upper-case match).
func (c *Catalog) Lookup(name string) (Param, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Param{}, false
	}
	return c.params[i], true
}

// Params returns every parameter in file order.
func (c *Catalog) Params() []Param {
	return append([]Param(nil), c.params...)
}
