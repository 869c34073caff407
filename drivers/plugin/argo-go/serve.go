package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	argoerrs "github.com/argoproj/argo-workflows/v4/errors"
	"github.com/argoproj/argo-workflows/v4/pkg/apiclient/artifact"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	errutil "github.com/argoproj/argo-workflows/v4/util/errors"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/artifacts"
	"github.com/argoproj/argo-workflows/v4/workflow/artifacts/common"
)

const (
	// maxFrame bounds each OpenStream data frame (gRPC's default message limit is 4 MiB).
	maxFrame = 2 << 20
	// Kit extension: trailing metadata of every failed call.
	codeTrailer      = "artifact-error-code"
	transientTrailer = "artifact-error-transient"
	// stopGrace is how long SIGTERM waits for calls in flight before cutting them off.
	stopGrace = 10 * time.Second
)

// serve listens on the unix socket and serves until SIGTERM or SIGINT (then exits 0).
func serve(socket string) int {
	ctx := loggerContext(context.Background())
	log := logging.RequireLoggerFromContext(ctx)
	lis, err := listen(socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "argo-go: %v\n", err)
		return 1
	}
	server := grpc.NewServer()
	artifact.RegisterArtifactServiceServer(server, &service{ctx: ctx})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-signals
		log.WithField("signal", sig.String()).Info(ctx, "argo-go: stopping")
		timer := time.AfterFunc(stopGrace, server.Stop) // a retrying driver may not finish
		server.GracefulStop()
		timer.Stop()
	}()

	log.WithFields(logging.Fields{"socket": socket, "argo": argoVersion()}).Info(ctx, "argo-go: serving")
	if err := server.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "argo-go: serve: %v\n", err)
		return 1
	}
	return 0 // Serve returns nil once GracefulStop/Stop closed the listener
}

// listen binds the socket, creating its directory (Argo mounts an emptyDir there, but a
// plugin started by hand may be first: argoproj/argo-workflows#16784) and replacing a
// socket file left by an earlier run; any other file in the way is an error.
func listen(socket string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return nil, fmt.Errorf("create the socket's directory: %w", err)
	}
	if info, err := os.Lstat(socket); err == nil {
		if info.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket: refusing to remove it", socket)
		}
		if err := os.Remove(socket); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	lis, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	return lis, nil
}

// service implements Argo's ArtifactService (v4.0.5: no SaveStream, no GetCapabilities, so
// grpc-go answers those UNIMPLEMENTED and Argo's newer clients fall back to a temp file + Save).
type service struct {
	ctx context.Context // carries the logger the drivers require
}

var _ artifact.ArtifactServiceServer = (*service)(nil)

// driver builds Argo's own driver for one request, as the executor does (artifacts.NewDriver).
func (s *service) driver(ctx context.Context, a *artifact.Artifact) (common.ArtifactDriver, *wfv1.Artifact, error) {
	if a == nil || a.Plugin == nil {
		return nil, nil, badRequest("the request carries no artifact with a plugin location")
	}
	c, err := parseConfiguration(a.Plugin.Configuration, a.Plugin.Key)
	if err != nil {
		return nil, nil, err
	}
	art := toArgo(a, c)
	drv, err := artifacts.NewDriver(ctx, art, secrets(c.Secrets))
	if errors.Is(err, artifacts.ErrUnsupportedDriver) {
		return nil, nil, badRequest("unsupported artifact driver for %s", art.Name)
	}
	return drv, art, err
}

// callContext joins the request's context (deadline, cancellation) with the logger.
func (s *service) callContext(ctx context.Context) context.Context {
	return logging.WithLogger(ctx, logging.RequireLoggerFromContext(s.ctx))
}

// fail records err as the call's trailing metadata and returns its message for the response.
func (s *service) fail(ctx context.Context, err error) string {
	_ = grpc.SetTrailer(ctx, errorTrailer(ctx, err))
	return err.Error()
}

// errorTrailer is the kit extension: Argo's error code (ERR_INTERNAL when the error carries
// none) and Argo's own transient classification.
func errorTrailer(ctx context.Context, err error) metadata.MD {
	return metadata.Pairs(
		codeTrailer, errorCode(err),
		transientTrailer, strconv.FormatBool(errutil.IsTransientErrQuiet(ctx, err)),
	)
}

func errorCode(err error) string {
	var argoErr argoerrs.ArgoError
	if errors.As(err, &argoErr) && argoErr.Code() != "" {
		return argoErr.Code()
	}
	return argoerrs.CodeInternal
}

func (s *service) Load(ctx context.Context, req *artifact.LoadArtifactRequest) (*artifact.LoadArtifactResponse, error) {
	ctx = s.callContext(ctx)
	drv, art, err := s.driver(ctx, req.InputArtifact)
	if err == nil {
		err = drv.Load(ctx, art, req.Path)
	}
	if err != nil {
		return &artifact.LoadArtifactResponse{Error: s.fail(ctx, err)}, nil
	}
	return &artifact.LoadArtifactResponse{Success: true}, nil
}

func (s *service) Save(ctx context.Context, req *artifact.SaveArtifactRequest) (*artifact.SaveArtifactResponse, error) {
	ctx = s.callContext(ctx)
	drv, art, err := s.driver(ctx, req.OutputArtifact)
	if err == nil {
		err = drv.Save(ctx, req.Path, art)
	}
	if err != nil {
		return &artifact.SaveArtifactResponse{Error: s.fail(ctx, err)}, nil
	}
	return &artifact.SaveArtifactResponse{Success: true}, nil
}

func (s *service) Delete(ctx context.Context, req *artifact.DeleteArtifactRequest) (*artifact.DeleteArtifactResponse, error) {
	ctx = s.callContext(ctx)
	drv, art, err := s.driver(ctx, req.Artifact)
	if err == nil {
		err = drv.Delete(ctx, art)
	}
	if err != nil {
		return &artifact.DeleteArtifactResponse{Error: s.fail(ctx, err)}, nil
	}
	return &artifact.DeleteArtifactResponse{Success: true}, nil
}

func (s *service) ListObjects(ctx context.Context, req *artifact.ListObjectsRequest) (*artifact.ListObjectsResponse, error) {
	ctx = s.callContext(ctx)
	drv, art, err := s.driver(ctx, req.Artifact)
	var objects []string
	if err == nil {
		objects, err = drv.ListObjects(ctx, art)
	}
	if err != nil {
		return &artifact.ListObjectsResponse{Error: s.fail(ctx, err)}, nil
	}
	return &artifact.ListObjectsResponse{Objects: objects}, nil
}

func (s *service) IsDirectory(ctx context.Context, req *artifact.IsDirectoryRequest) (*artifact.IsDirectoryResponse, error) {
	ctx = s.callContext(ctx)
	drv, art, err := s.driver(ctx, req.Artifact)
	var isDir bool
	if err == nil {
		isDir, err = drv.IsDirectory(ctx, art)
	}
	if err != nil {
		return &artifact.IsDirectoryResponse{Error: s.fail(ctx, err)}, nil
	}
	return &artifact.IsDirectoryResponse{IsDirectory: isDir}, nil
}

// OpenStream sends the driver's stream in frames of at most maxFrame bytes, then is_end;
// a failure (before or during the stream) is one frame carrying `error`.
func (s *service) OpenStream(req *artifact.OpenStreamRequest, stream artifact.ArtifactService_OpenStreamServer) error {
	ctx := s.callContext(stream.Context())
	fail := func(err error) error {
		stream.SetTrailer(errorTrailer(ctx, err))
		return stream.Send(&artifact.OpenStreamResponse{Error: err.Error()})
	}
	drv, art, err := s.driver(ctx, req.Artifact)
	if err != nil {
		return fail(err)
	}
	rc, err := drv.OpenStream(ctx, art)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = rc.Close() }()
	buf := make([]byte, maxFrame)
	for {
		n, err := io.ReadFull(rc, buf) // full frames: fewer, larger messages
		if n > 0 {
			if sendErr := stream.Send(&artifact.OpenStreamResponse{Data: buf[:n]}); sendErr != nil {
				return sendErr // the client went away: nothing left to tell it
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return stream.Send(&artifact.OpenStreamResponse{IsEnd: true})
		}
		if err != nil {
			return fail(err)
		}
	}
}
