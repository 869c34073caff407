package main

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	argoerrs "github.com/argoproj/argo-workflows/v4/errors"
	"github.com/argoproj/argo-workflows/v4/pkg/apiclient/artifact"
)

const s3Config = `
s3: {endpoint: 127.0.0.1:9, bucket: b, insecure: true,
     accessKeySecret: {name: creds, key: accessKey}, secretKeySecret: {name: creds, key: secretKey}}
secrets: {creds: {accessKey: a, secretKey: s}}
`

func TestParseConfiguration(t *testing.T) {
	c, err := parseConfiguration(s3Config, "some/key")
	if err != nil {
		t.Fatal(err)
	}
	if c.S3 == nil || c.S3.Key != "some/key" || c.S3.Bucket != "b" || c.Secrets["creds"]["secretKey"] != "s" {
		t.Fatalf("unexpected parse: %+v", c)
	}
	c, err = parseConfiguration("azure: {endpoint: http://127.0.0.1:1/devstoreaccount1, container: c}", "k")
	if err != nil || c.Azure.Blob != "k" {
		t.Fatalf("azure: %v %+v", err, c)
	}
	for _, bad := range []string{
		"",                                  // empty
		"s3: [unclosed",                     // not YAML
		"just a string",                     // not a mapping
		"secrets: {}",                       // no location
		"s3: {bucket: b}\ngcs: {bucket: b}", // two locations
		"http: {url: http://x}",             // a location this plugin does not serve
		"s3: {bucket: b, bukket: c}",        // unknown field
	} {
		if _, err := parseConfiguration(bad, "k"); errorCode(err) != argoerrs.CodeBadRequest {
			t.Errorf("%q: want ERR_BAD_REQUEST, got %v", bad, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	s := secrets{"creds": {"accessKey": "a"}}
	if v, err := s.GetSecret(context.Background(), "creds", "accessKey"); err != nil || v != "a" {
		t.Fatalf("got %q %v", v, err)
	}
	for _, name := range []string{"creds", "other"} {
		_, err := s.GetSecret(context.Background(), name, "secretKey")
		if err == nil || !strings.Contains(err.Error(), "'"+name+"'") {
			t.Errorf("%s: want an error naming the secret, got %v", name, err)
		}
	}
}

func TestErrorCode(t *testing.T) {
	notFound := argoerrs.New(argoerrs.CodeNotFound, "gone")
	for err, want := range map[error]string{
		notFound:            argoerrs.CodeNotFound,
		errors.New("plain"): argoerrs.CodeInternal,
		wrap(notFound):      argoerrs.CodeNotFound,
	} {
		if got := errorCode(err); got != want {
			t.Errorf("%v: got %s, want %s", err, got, want)
		}
	}
}

func wrap(err error) error { return errors.Join(errors.New("context"), err) }

// TestServeWire starts serve mode's gRPC service on a socket in a directory that does not
// exist yet, and checks failures carry the kit's trailers and GetCapabilities is UNIMPLEMENTED.
func TestServeWire(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "not", "yet", "socket")
	lis, err := listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	artifact.RegisterArtifactServiceServer(server, &service{ctx: loggerContext(context.Background())})
	go func() { _ = server.Serve(lis) }()
	defer server.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	client := artifact.NewArtifactServiceClient(conn)
	bad := &artifact.Artifact{Name: "a", Plugin: &artifact.PluginArtifact{Configuration: "raw: {data: x}", Key: "k"}}

	var trailer metadata.MD
	resp, err := client.Load(ctx, &artifact.LoadArtifactRequest{InputArtifact: bad, Path: "/tmp/x"}, grpc.Trailer(&trailer))
	if err != nil || resp.Success || !strings.Contains(resp.Error, "raw") {
		t.Fatalf("Load: %v %+v", err, resp)
	}
	if got := trailer.Get(codeTrailer); len(got) != 1 || got[0] != argoerrs.CodeBadRequest {
		t.Errorf("code trailer: %v", trailer)
	}
	if got := trailer.Get(transientTrailer); len(got) != 1 || got[0] != "false" {
		t.Errorf("transient trailer: %v", trailer)
	}

	stream, err := client.OpenStream(ctx, &artifact.OpenStreamRequest{Artifact: bad})
	if err != nil {
		t.Fatal(err)
	}
	frame, err := stream.Recv()
	if err != nil || frame.Error == "" {
		t.Fatalf("OpenStream frame: %v %+v", err, frame)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("OpenStream: want EOF after the error frame, got %v", err)
	}
	if got := stream.Trailer().Get(codeTrailer); len(got) != 1 || got[0] != argoerrs.CodeBadRequest {
		t.Errorf("stream trailer: %v", stream.Trailer())
	}

	raw, err := dialRaw(socket, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	if _, unimplemented, err := getCapabilities(ctx, raw); err != nil || !unimplemented {
		t.Fatalf("GetCapabilities: unimplemented=%v err=%v", unimplemented, err)
	}
}
