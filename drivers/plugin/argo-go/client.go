package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	argoerrs "github.com/argoproj/argo-workflows/v4/errors"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/workflow/artifacts/plugin"
)

// payloadSize spans several OpenStream frames (2 MiB each) and ends mid-frame.
const payloadSize = 5<<20 + 12345

// rpcTimeout bounds each call, so a stuck plugin fails the run instead of hanging it.
const rpcTimeout = 2 * time.Minute

type clientOptions struct {
	socket        string
	configuration string
	keyPrefix     string
	workdir       string
	pluginName    string
	timeout       int
}

// result is one step of the report; Detail holds what was observed.
type result struct {
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

type report struct {
	ArgoVersion string             `json:"argo_version"`
	RPCs        map[string]*result `json:"rpcs"`
	OK          bool               `json:"ok"`
}

func parseClientArgs(args []string) (*clientOptions, error) {
	o := &clientOptions{}
	fs := flag.NewFlagSet("argo-go client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var configFile string
	fs.StringVar(&configFile, "configuration", "", "file holding the plugin.configuration string")
	fs.StringVar(&o.keyPrefix, "key-prefix", "", "key prefix under which to write")
	fs.StringVar(&o.workdir, "workdir", "", "scratch directory for local files")
	fs.StringVar(&o.pluginName, "plugin-name", "argo-go", "the artifact's plugin.name")
	fs.IntVar(&o.timeout, "timeout-seconds", 5, "Argo's connectionTimeoutSeconds (socket wait and dial)")
	// SOCKET may come first (the documented form) or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.socket, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.socket == "" && fs.NArg() > 0 {
		o.socket = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	switch {
	case o.socket == "":
		return nil, fmt.Errorf("SOCKET is required")
	case configFile == "" || o.keyPrefix == "" || o.workdir == "":
		return nil, fmt.Errorf("--configuration, --key-prefix and --workdir are required")
	case o.timeout <= 0:
		return nil, fmt.Errorf("--timeout-seconds must be positive")
	}
	text, err := os.ReadFile(configFile)
	if err != nil {
		return nil, err
	}
	o.configuration = string(text)
	o.keyPrefix = strings.Trim(o.keyPrefix, "/")
	return o, nil
}

// runClient drives the plugin at SOCKET with Argo's own plugin client (plugin.NewDriver) and
// prints one JSON report; 0 when every RPC behaved, 1 otherwise, 2 for usage errors.
func runClient(args []string) int {
	o, err := parseClientArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argo-go client: %v\n%s", err, usage)
		return 2
	}
	if err := os.MkdirAll(o.workdir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "argo-go client: %v\n", err)
		return 2
	}
	rep := &report{ArgoVersion: argoVersion(), RPCs: map[string]*result{}}
	rep.OK = o.run(loggerContext(context.Background()), rep.RPCs)
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	if rep.OK {
		return 0
	}
	return 1
}

func (o *clientOptions) artifact(key string) *wfv1.Artifact {
	return &wfv1.Artifact{
		Name: "argo-go-client",
		ArtifactLocation: wfv1.ArtifactLocation{Plugin: &wfv1.PluginArtifact{
			Name:                     wfv1.ArtifactPluginName(o.pluginName),
			Configuration:            o.configuration,
			ConnectionTimeoutSeconds: int32(o.timeout),
			Key:                      key,
		}},
	}
}

func (o *clientOptions) run(ctx context.Context, rpcs map[string]*result) bool {
	timeout := time.Duration(o.timeout) * time.Second
	// The socket wait is bounded by the same timeout, not Argo's 120 s of retries.
	connectCtx, cancel := context.WithTimeout(ctx, timeout)
	drv, err := plugin.NewDriver(connectCtx, wfv1.ArtifactPluginName(o.pluginName), o.socket, timeout)
	cancel()
	if err != nil {
		rpcs["Connect"] = &result{Error: err.Error()}
		return false
	}
	defer func() { _ = drv.Close() }()
	probe, err := dial(o.socket, timeout) // reads the trailers Argo's client drops
	if err != nil {
		rpcs["Connect"] = &result{Error: err.Error()}
		return false
	}
	defer func() { _ = probe.Close() }()

	fileKey := path.Join(o.keyPrefix, "file.bin")
	dirKey := path.Join(o.keyPrefix, "dir")
	payload := make([]byte, payloadSize)
	rand.New(rand.NewSource(1)).Read(payload)
	local := filepath.Join(o.workdir, "upload.bin")
	if err := os.WriteFile(local, payload, 0o644); err != nil {
		rpcs["Save"] = &result{Error: err.Error()}
		return false
	}
	call := func(name string, step func(context.Context) (map[string]any, error)) {
		callCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
		defer cancel()
		detail, err := step(callCtx)
		r := &result{OK: err == nil, Detail: detail}
		if err != nil {
			r.Error = err.Error()
		}
		rpcs[name] = r
	}

	call("Save", func(ctx context.Context) (map[string]any, error) {
		return map[string]any{"key": fileKey, "bytes": len(payload)},
			drv.Save(ctx, local, o.artifact(fileKey))
	})
	call("Load", func(ctx context.Context) (map[string]any, error) {
		target := filepath.Join(o.workdir, "loaded.bin")
		if err := drv.Load(ctx, o.artifact(fileKey), target); err != nil {
			return nil, err
		}
		got, err := os.ReadFile(target)
		if err != nil {
			return nil, err
		}
		return map[string]any{"bytes": len(got)}, sameBytes(got, payload)
	})
	call("OpenStream", func(ctx context.Context) (map[string]any, error) {
		rc, err := drv.OpenStream(ctx, o.artifact(fileKey))
		if err != nil {
			return nil, err
		}
		defer func() { _ = rc.Close() }()
		got, err := io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
		return map[string]any{"bytes": len(got)}, sameBytes(got, payload) // > 1 frame of 2 MiB
	})
	call("ListObjects", func(ctx context.Context) (map[string]any, error) {
		objects, err := drv.ListObjects(ctx, o.artifact(o.keyPrefix))
		if err != nil {
			return nil, err
		}
		detail := map[string]any{"objects": objects}
		for _, object := range objects {
			if object == fileKey {
				return detail, nil
			}
		}
		return detail, fmt.Errorf("listing %s does not name %s", o.keyPrefix, fileKey)
	})
	// IsDirectory: a plugin may answer ERR_NOT_IMPLEMENTED (Argo v4.0.5's GCS driver does);
	// that is a behaviour of the driver relayed correctly, not a wire failure.
	call("IsDirectory", func(ctx context.Context) (map[string]any, error) {
		detail := map[string]any{}
		for _, check := range []struct{ name, key string }{{"file", fileKey}, {"prefix", o.keyPrefix}} {
			isDir, err := drv.IsDirectory(ctx, o.artifact(check.key))
			if err != nil {
				code, _ := errorTrailers(ctx, probe, "IsDirectory", grpcArtifact(o.artifact(check.key)), "")
				if code == argoerrs.CodeNotImplemented {
					return map[string]any{"not_implemented": true, "code": code, "message": err.Error()}, nil
				}
				return map[string]any{"code": code}, fmt.Errorf("%s key: %w", check.name, err)
			}
			detail[check.name] = isDir
		}
		if detail["file"] != false || detail["prefix"] != true {
			return detail, fmt.Errorf("want file=false prefix=true, got %v", detail)
		}
		return detail, nil
	})

	tree := map[string]string{"a.txt": "alpha\n", "sub/b.txt": "beta\n", "sub/deeper/c.txt": "gamma\n"}
	call("SaveDirectory", func(ctx context.Context) (map[string]any, error) {
		root := filepath.Join(o.workdir, "upload-dir")
		if err := writeTree(root, tree); err != nil {
			return nil, err
		}
		return map[string]any{"key": dirKey, "files": len(tree)}, drv.Save(ctx, root, o.artifact(dirKey))
	})
	call("LoadDirectory", func(ctx context.Context) (map[string]any, error) {
		root := filepath.Join(o.workdir, "loaded-dir")
		if err := drv.Load(ctx, o.artifact(dirKey), root); err != nil {
			return nil, err
		}
		got, err := readTree(root)
		if err != nil {
			return nil, err
		}
		return map[string]any{"files": sortedKeys(got)}, sameTree(got, tree)
	})
	call("Delete", func(ctx context.Context) (map[string]any, error) {
		return map[string]any{"key": fileKey}, drv.Delete(ctx, o.artifact(fileKey))
	})
	// The deleted key: its Load must fail, which also shows Delete removed it.
	call("LoadMissing", func(ctx context.Context) (map[string]any, error) {
		err := drv.Load(ctx, o.artifact(fileKey), filepath.Join(o.workdir, "missing.bin"))
		if err == nil {
			return nil, fmt.Errorf("loading the deleted key %s succeeded", fileKey)
		}
		code, transient := errorTrailers(ctx, probe, "Load", grpcArtifact(o.artifact(fileKey)),
			filepath.Join(o.workdir, "missing-again.bin"))
		return map[string]any{"key": fileKey, "message": err.Error(), "code": code, "transient": transient}, nil
	})

	o.experimental(ctx, rpcs, payload)

	ok := true
	for _, r := range rpcs {
		ok = ok && r.OK
	}
	return ok
}

// experimental calls the two RPCs v4.0.5's generated client lacks, framed by hand (wire.go).
// A plugin that answers GetCapabilities UNIMPLEMENTED (as v4.0.5's server does) gets no
// SaveStream: Argo's newer clients fall back to a temp file + Save, reported as "fallback".
func (o *clientOptions) experimental(ctx context.Context, rpcs map[string]*result, payload []byte) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	conn, err := dialRaw(o.socket, time.Duration(o.timeout)*time.Second)
	if err != nil {
		rpcs["GetCapabilities"] = &result{Error: err.Error()}
		rpcs["SaveStream"] = &result{Error: "not attempted: " + err.Error()}
		return
	}
	defer func() { _ = conn.Close() }()

	supports, unimplemented, err := getCapabilities(ctx, conn)
	switch {
	case err != nil:
		rpcs["GetCapabilities"] = &result{Error: err.Error()}
		rpcs["SaveStream"] = &result{Error: "not attempted: GetCapabilities failed"}
		return
	case unimplemented:
		rpcs["GetCapabilities"] = &result{OK: true, Detail: map[string]any{"unimplemented": true}}
	default:
		rpcs["GetCapabilities"] = &result{OK: true, Detail: map[string]any{"supports_save_stream": supports}}
	}
	if !supports {
		rpcs["SaveStream"] = &result{OK: true, Detail: map[string]any{
			"fallback": true,
			"reason":   "the plugin does not offer SaveStream: Argo saves through a temp file + Save",
		}}
		return
	}

	key := path.Join(o.keyPrefix, "streamed.bin")
	art := o.artifact(key)
	detail := map[string]any{"key": key, "bytes": len(payload)}
	if err := saveStream(ctx, conn, grpcArtifact(art), payload); err != nil {
		rpcs["SaveStream"] = &result{Error: err.Error(), Detail: detail}
		return
	}
	// Read it back through Argo's own client to show the bytes arrived whole.
	drv, err := plugin.NewDriver(ctx, wfv1.ArtifactPluginName(o.pluginName), o.socket, time.Duration(o.timeout)*time.Second)
	if err == nil {
		defer func() { _ = drv.Close() }()
		target := filepath.Join(o.workdir, "streamed.bin")
		if err = drv.Load(ctx, art, target); err == nil {
			var got []byte
			if got, err = os.ReadFile(target); err == nil {
				err = sameBytes(got, payload)
			}
		}
	}
	if err != nil {
		rpcs["SaveStream"] = &result{Error: "read back: " + err.Error(), Detail: detail}
		return
	}
	rpcs["SaveStream"] = &result{OK: true, Detail: detail}
}

func sameBytes(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("content differs: got %d bytes, want %d", len(got), len(want))
}

func writeTree(root string, tree map[string]string) error {
	for name, content := range tree {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func readTree(root string) (map[string]string, error) {
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		tree[filepath.ToSlash(rel)] = string(content)
		return nil
	})
	return tree, err
}

func sameTree(got, want map[string]string) error {
	if len(got) != len(want) {
		return fmt.Errorf("got files %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for name, content := range want {
		if got[name] != content {
			return fmt.Errorf("file %s differs or is missing", name)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
