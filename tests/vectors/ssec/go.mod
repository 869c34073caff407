module artconf/tests/vectors/ssec

go 1.24

require github.com/minio/minio-go/v7 v7.0.91

require (
	github.com/goccy/go-json v0.10.5 // indirect
	golang.org/x/sys v0.32.0 // indirect
)

// The module cache the kit's MinIO build left behind holds x/crypto v0.37.0, not the v0.36.0
// minio-go asks for; requiring it lets the program build offline (GOPROXY=off). Argon2id's
// output is fixed by RFC 9106, so the x/crypto version does not change the vectors.
require golang.org/x/crypto v0.37.0 // indirect
