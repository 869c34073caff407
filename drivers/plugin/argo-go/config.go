package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	argoerrs "github.com/argoproj/argo-workflows/v4/errors"
	"github.com/argoproj/argo-workflows/v4/pkg/apiclient/artifact"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/workflow/artifacts/resource"
)

// configuration is the kit's plugin.configuration document (drivers/plugin/configuration.py):
// exactly one location with Argo's own JSON field names but no key, plus the values of the
// secrets its selectors name.
type configuration struct {
	wfv1.ArtifactLocation `json:",inline"`
	Secrets               map[string]map[string]string `json:"secrets,omitempty"`
}

// parseConfiguration reads a configuration string and sets `key` into its location.
// Unknown fields are refused (as the kit's Python reader does), so a typo is an error
// rather than a silently unused setting.
func parseConfiguration(text, key string) (*configuration, error) {
	if strings.TrimSpace(text) == "" {
		return nil, badRequest("plugin.configuration is empty: it must be a YAML mapping " +
			"holding one location, e.g. 's3: {endpoint: ..., bucket: ...}'")
	}
	var c configuration
	if err := yaml.UnmarshalStrict([]byte(text), &c); err != nil {
		return nil, badRequest("plugin.configuration is not a valid location document: %v", err)
	}
	kinds := c.kinds()
	if len(kinds) != 1 {
		return nil, badRequest("plugin.configuration must hold exactly one location of s3, gcs "+
			"or azure (found %v)", kinds)
	}
	switch {
	case c.S3 != nil:
		c.S3.Key = key
	case c.GCS != nil:
		c.GCS.Key = key
	case c.Azure != nil:
		c.Azure.Blob = key
	default:
		return nil, badRequest("plugin.configuration holds a %s location: this plugin serves "+
			"Argo's s3, gcs and azure drivers only", kinds[0])
	}
	return &c, nil
}

// kinds names the location types set, with Argo's JSON field names.
func (c *configuration) kinds() []string {
	l := c.ArtifactLocation
	set := map[string]bool{
		"s3": l.S3 != nil, "gcs": l.GCS != nil, "azure": l.Azure != nil, "git": l.Git != nil,
		"http": l.HTTP != nil, "artifactory": l.Artifactory != nil, "hdfs": l.HDFS != nil,
		"raw": l.Raw != nil, "oss": l.OSS != nil, "plugin": l.Plugin != nil,
	}
	var kinds []string
	for kind, ok := range set {
		if ok {
			kinds = append(kinds, kind)
		}
	}
	sort.Strings(kinds)
	return kinds
}

// toArgo is the Argo artifact a workflow pod would hand its driver: the request's own fields
// (the inverse of Argo's plugin.convertToGRPC) at the configured location.
func toArgo(a *artifact.Artifact, c *configuration) *wfv1.Artifact {
	art := &wfv1.Artifact{
		Name:             a.GetName(),
		Path:             a.GetPath(),
		From:             a.GetFrom(),
		Optional:         a.GetOptional(),
		SubPath:          a.GetSubPath(),
		RecurseMode:      a.GetRecurseMode(),
		FromExpression:   a.GetFromExpression(),
		Deleted:          a.GetDeleted(),
		ArtifactLocation: c.ArtifactLocation,
	}
	if a.GetMode() != 0 { // the wire has no "unset": Argo's client sends 0 for a nil mode
		mode := a.GetMode()
		art.Mode = &mode
	}
	return art
}

// secrets is the resource.Interface the drivers read their credentials through; in a pod
// Argo reads mounted files, here the values come inline with the configuration.
type secrets map[string]map[string]string

var _ resource.Interface = secrets(nil)

func (s secrets) GetSecret(_ context.Context, name, key string) (string, error) {
	keys, ok := s[name]
	if !ok {
		return "", badRequest("secret '%s' not found, so its key '%s' cannot be read "+
			"(plugin.configuration has no secrets.%s)", name, key, name)
	}
	value, ok := keys[key]
	if !ok { // Argo's own wording for a missing key (executor.GetSecrets)
		return "", badRequest("secret '%s' does not have the key '%s'", name, key)
	}
	return value, nil
}

func (s secrets) GetConfigMapKey(_ context.Context, name, key string) (string, error) {
	return "", badRequest("configmap '%s' key '%s': this plugin has no config maps", name, key)
}

func badRequest(format string, args ...any) error {
	return argoerrs.New(argoerrs.CodeBadRequest, fmt.Sprintf(format, args...))
}
