// Command render renders a Helm chart without helm: Go's text/template plus
// sprig (the engine and function library Helm uses) and Helm's own
// functions (include, tpl, required, toYaml, fromYaml, toJson, fromJson,
// lookup) and built-in objects (.Values, .Release, .Chart, .Capabilities,
// .Template, .Files).
//
//	render -chart helm/rapport [-f extra-values.yaml ...] [-name r] [-namespace ns]
//
// Prints every rendered manifest as Helm does ("---\n# Source: ..."), or the
// template error (e.g. a `fail` message) on stderr with exit code 1.
// See helm/README.md for what it does not model.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// jsonish turns YAML-decoded data into what Helm sees: Helm parses values
// through sigs.k8s.io/yaml, i.e. JSON, so numbers are float64 and maps are
// map[string]interface{}.
func jsonish(v interface{}) (map[string]interface{}, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func readYAML(file string) (map[string]interface{}, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw map[string]interface{}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return jsonish(raw)
}

// coalesce merges src over dst as Helm does for -f files: maps merge
// recursively, anything else replaces, null deletes the key.
func coalesce(dst, src map[string]interface{}) {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			coalesce(dm, sm)
		} else {
			dst[k] = sv
		}
	}
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// Capabilities mimics chartutil.Capabilities.
type Capabilities struct {
	KubeVersion struct{ Version, Major, Minor, GitVersion string }
	APIVersions apiVersions
}

type apiVersions []string

// Has reports whether an apiVersion (or apiVersion/Kind) is available.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// Files mimics the chart's .Files (Get and Glob of names only).
type Files map[string][]byte

// Get returns a file's content, or "" when it does not exist.
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's content.
func (f Files) GetBytes(name string) []byte { return f[name] }

func main() {
	chartDir := flag.String("chart", "", "chart directory")
	name := flag.String("name", "rapport", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	upgrade := flag.Bool("upgrade", false, "render as an upgrade")
	var extra valueFiles
	flag.Var(&extra, "f", "values file merged over values.yaml (repeatable)")
	var apis valueFiles
	flag.Var(&apis, "api-versions", "extra API versions for .Capabilities (repeatable)")
	flag.Parse()
	if err := run(*chartDir, *name, *namespace, *upgrade, extra, apis); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(chartDir, name, namespace string, upgrade bool, extra, apis []string) error {
	chartMeta, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range extra {
		over, err := readYAML(f)
		if err != nil {
			return err
		}
		coalesce(values, over)
	}
	chartName, _ := chartMeta["name"].(string)
	// .Chart fields are capitalised in Helm (.Chart.Name, .Chart.AppVersion).
	chart := map[string]interface{}{}
	for k, v := range chartMeta {
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}

	files := Files{}
	_ = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(chartDir, p)
			if !strings.HasPrefix(rel, "templates/") {
				b, _ := os.ReadFile(p)
				files[rel] = b
			}
		}
		return nil
	})

	caps := Capabilities{}
	caps.KubeVersion.Version = "v1.29.0"
	caps.KubeVersion.GitVersion = "v1.29.0"
	caps.KubeVersion.Major = "1"
	caps.KubeVersion.Minor = "29"
	caps.APIVersions = append(apiVersions{"v1", "apps/v1", "batch/v1",
		"policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}, apis...)

	root := template.New("gotpl")
	root.Option("missingkey=zero") // as Helm (non-strict mode)
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env") // Helm removes these two
	delete(funcs, "expandenv")
	includedNames := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includedNames[name] > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includedNames[name]++
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["toJson"] = func(v interface{}) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["fromJsonArray"] = func(s string) []interface{} {
		var a []interface{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			return []interface{}{err.Error()}
		}
		return a
	}
	funcs["lookup"] = func(string, string, string, string) map[string]interface{} {
		return map[string]interface{}{} // as `helm template`: no cluster
	}
	root.Funcs(funcs)

	tplDir := filepath.Join(chartDir, "templates")
	var names []string
	_ = filepath.Walk(tplDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(chartDir, p)
			names = append(names, path.Join(chartName, filepath.ToSlash(rel)))
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(chartDir, strings.TrimPrefix(n, chartName+"/")))
		if err != nil {
			return err
		}
		if _, err := root.New(n).Parse(string(b)); err != nil {
			return err
		}
	}

	release := map[string]interface{}{
		"Name": name, "Namespace": namespace, "Service": "Helm",
		"IsInstall": !upgrade, "IsUpgrade": upgrade, "Revision": 1,
	}
	var out strings.Builder
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue // partials
		}
		data := map[string]interface{}{
			"Values": values, "Release": release, "Chart": chart,
			"Capabilities": caps, "Files": files,
			"Template": map[string]interface{}{
				"Name": n, "BasePath": path.Join(chartName, "templates"),
			},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, data); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.HasSuffix(n, "NOTES.txt") {
			fmt.Fprintf(os.Stderr, "NOTES:\n%s\n", text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, strings.TrimSpace(text))
	}
	fmt.Print(out.String())
	return nil
}
