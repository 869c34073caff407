package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/argoproj/argo-workflows/v4/pkg/apiclient/artifact"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
)

// The two experimental RPCs of Argo's main branch that v4.0.5's generated code lacks
// (field numbers: drivers/plugin/artifact.proto). They are framed by hand with protowire
// and sent through a codec that passes bytes through untouched.
const (
	methodGetCapabilities = "/artifact.ArtifactService/GetCapabilities"
	methodSaveStream      = "/artifact.ArtifactService/SaveStream"
)

// rawCodec sends and receives already-encoded protobuf messages (*[]byte).
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" } // the content-subtype servers expect

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

// dial connects to the plugin socket the way Argo's plugin client does.
func dial(socket string, timeout time.Duration, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+socket, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: timeout}).DialContext(ctx, "unix", socket)
		}),
	}, opts...)...)
}

// dialRaw is dial with rawCodec, for the hand-framed RPCs.
func dialRaw(socket string, timeout time.Duration) (*grpc.ClientConn, error) {
	return dial(socket, timeout, grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
}

// errorTrailers repeats a failed read-only call (Load or IsDirectory) with the generated
// client to read the kit's trailers, which Argo's plugin client drops: the plugin's Argo
// error code and transient flag (both empty from a plugin without the kit extension).
func errorTrailers(ctx context.Context, conn *grpc.ClientConn, method string, a *artifact.Artifact, loadPath string) (code, transient string) {
	client := artifact.NewArtifactServiceClient(conn)
	var trailer metadata.MD
	switch method {
	case "Load":
		_, _ = client.Load(ctx, &artifact.LoadArtifactRequest{InputArtifact: a, Path: loadPath}, grpc.Trailer(&trailer))
	case "IsDirectory":
		_, _ = client.IsDirectory(ctx, &artifact.IsDirectoryRequest{Artifact: a}, grpc.Trailer(&trailer))
	}
	first := func(key string) string {
		if values := trailer.Get(key); len(values) > 0 {
			return values[0]
		}
		return ""
	}
	return first(codeTrailer), first(transientTrailer)
}

// getCapabilities returns supports_save_stream (field 1), or unimplemented=true when the
// plugin does not know the RPC (a v4.0.5 plugin).
func getCapabilities(ctx context.Context, conn *grpc.ClientConn) (supports, unimplemented bool, err error) {
	request, response := []byte{}, []byte{}
	if err := conn.Invoke(ctx, methodGetCapabilities, &request, &response); err != nil {
		if status.Code(err) == codes.Unimplemented {
			return false, true, nil
		}
		return false, false, err
	}
	err = eachField(response, func(num protowire.Number, typ protowire.Type, value []byte, varint uint64) {
		if num == 1 && typ == protowire.VarintType {
			supports = varint != 0
		}
	})
	return supports, false, err
}

// saveStream sends SaveStreamArtifactRequest frames: the artifact alone (field 1), then the
// payload in chunks (field 2) of at most maxFrame bytes; the answer is a SaveArtifactResponse.
func saveStream(ctx context.Context, conn *grpc.ClientConn, a *artifact.Artifact, payload []byte) error {
	desc := &grpc.StreamDesc{StreamName: "SaveStream", ClientStreams: true}
	stream, err := conn.NewStream(ctx, desc, methodSaveStream)
	if err != nil {
		return err
	}
	encoded, err := a.Marshal()
	if err != nil {
		return err
	}
	first := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), encoded)
	if err := stream.SendMsg(&first); err != nil {
		return sendError(stream, err)
	}
	for start := 0; start < len(payload); start += maxFrame {
		end := min(start+maxFrame, len(payload))
		frame := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), payload[start:end])
		if err := stream.SendMsg(&frame); err != nil {
			return sendError(stream, err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	response := []byte{}
	if err := stream.RecvMsg(&response); err != nil {
		return err
	}
	var success bool
	var message string
	err = eachField(response, func(num protowire.Number, typ protowire.Type, value []byte, varint uint64) {
		switch {
		case num == 1 && typ == protowire.VarintType:
			success = varint != 0
		case num == 2 && typ == protowire.BytesType:
			message = string(value)
		}
	})
	if err != nil {
		return err
	}
	if !success {
		return fmt.Errorf("SaveStream failed: %s", message)
	}
	return nil
}

// sendError turns io.EOF from SendMsg (the server ended the stream) into the real status.
func sendError(stream grpc.ClientStream, err error) error {
	if errors.Is(err, io.EOF) {
		response := []byte{}
		return stream.RecvMsg(&response)
	}
	return err
}

// eachField walks the top-level fields of an encoded message.
func eachField(b []byte, visit func(num protowire.Number, typ protowire.Type, value []byte, varint uint64)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var value []byte
		var varint uint64
		switch typ {
		case protowire.VarintType:
			varint, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			value, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		visit(num, typ, value, varint)
	}
	return nil
}

// grpcArtifact is the wire Artifact Argo's plugin client sends (its convertToGRPC is private).
func grpcArtifact(a *wfv1.Artifact) *artifact.Artifact {
	out := &artifact.Artifact{
		Name: a.Name, Path: a.Path, From: a.From, Optional: a.Optional, SubPath: a.SubPath,
		RecurseMode: a.RecurseMode, FromExpression: a.FromExpression, Deleted: a.Deleted,
	}
	if a.Mode != nil {
		out.Mode = *a.Mode
	}
	if p := a.Plugin; p != nil {
		out.Plugin = &artifact.PluginArtifact{
			Name: string(p.Name), Configuration: p.Configuration,
			ConnectionTimeoutSeconds: p.ConnectionTimeoutSeconds, Key: p.Key,
		}
	}
	return out
}
