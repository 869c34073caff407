// Command ssec prints SSE-C keys derived by minio-go's encrypt.DefaultPBKDF, the derivation
// Argo's S3 driver applies to serverSideCustomerKeySecret (salt = bucket + key). Its output is
// committed as vectors.json and checked by tests/test_driver_s3.py, which never needs Go.
//
// Regenerate (offline, from the kit's Go module cache):
//
//	GOMODCACHE=~/.cache/artifact-conformance/tools/go/mod GOFLAGS=-mod=mod GOTOOLCHAIN=local \
//	  GOPROXY=off go run . > vectors.json
package main

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/minio/minio-go/v7/pkg/encrypt"
)

type vector struct {
	Password  string `json:"password"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	KeyBase64 string `json:"sse_customer_key"`
	KeyMD5    string `json:"sse_customer_key_md5"`
}

func main() {
	inputs := [][3]string{
		{"correct horse battery staple", "my-bucket", "path/to/my-artifact.tgz"},
		{"p", "b", "k"},
		{"a password with trailing newline\n", "artconf-bucket", "dir/file.txt"},
		{"pässwörd-ünïcode", "bucket.with.dots", "key with spaces/and/ünïcode"},
		{"", "empty-password-bucket", "key"},
	}
	out := make([]vector, 0, len(inputs))
	for _, in := range inputs {
		sse := encrypt.DefaultPBKDF([]byte(in[0]), []byte(in[1]+in[2]))
		h := http.Header{}
		sse.Marshal(h)
		out = append(out, vector{
			Password:  in[0],
			Bucket:    in[1],
			Key:       in[2],
			KeyBase64: h.Get(encrypt.SseCustomerKey),
			KeyMD5:    h.Get(encrypt.SseCustomerKeyMD5),
		})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	doc := map[string]any{
		"generator": "tests/vectors/ssec/main.go with github.com/minio/minio-go/v7 " + minioGoVersion(),
		"salt":      "bucket + key",
		"vectors":   out,
	}
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
}

// minioGoVersion is the minio-go version this binary was built with, as recorded by the linker.
func minioGoVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/minio/minio-go/v7" {
				return dep.Version
			}
		}
	}
	return "(unknown)"
}
