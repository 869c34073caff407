"""drivers.core.model: Argo YAML parsing, validation messages, Get/HasLocation/keys/Relocate."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.core.errors import BadRequest
from drivers.core.model import (
    DEFAULT_ARCHIVE_PATTERN,
    NIL_LOCATION_ERROR,
    NO_TEMPLATE_LOCATION_ERROR,
    NOT_CONFIGURED_ERROR,
    Artifact,
    ArtifactLocation,
    ArtifactoryArtifact,
    AzureArtifact,
    GCSArtifact,
    GitArtifact,
    HDFSArtifact,
    HTTPArtifact,
    OSSArtifact,
    PluginArtifact,
    RawArtifact,
    S3Artifact,
    SecretKeySelector,
    archive_logs_enabled,
    get_location,
    go_path_clean,
    go_path_join,
    parse_artifact,
    parse_location,
    parse_repository,
)

S3_INPUT = """
name: my-art
path: /my-artifact
mode: 0755
s3:
  endpoint: storage.googleapis.com
  bucket: my-bucket-name
  key: path/in/bucket/my-art.tgz
  region: us-west-2
  insecure: false
  accessKeySecret:
    name: my-s3-credentials
    key: accessKey
  secretKeySecret:
    name: my-s3-credentials
    key: secretKey
  roleARN: arn:aws:iam::123456789012:role/argo
  encryptionOptions:
    enableEncryption: true
    kmsKeyId: alias/argo
    kmsEncryptionContext: '{"team": "ml"}'
  createBucketIfNotPresent:
    objectLocking: true
  caSecret:
    name: my-ca
    key: ca.crt
  addressingStyle: path
"""

OUTPUT_DIR = """
name: results
path: /tmp/results
archive:
  none: {}
optional: true
globalName: all-results
artifactGC:
  strategy: OnWorkflowDeletion
  serviceAccountName: gc-sa
  podMetadata:
    labels: {team: ml}
s3:
  key: results/
"""

REPOSITORY_CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: artifact-repositories
  annotations:
    workflows.argoproj.io/default-artifact-repository: default-v1
data:
  default-v1: |
    archiveLogs: true
    s3:
      bucket: my-bucket
      endpoint: minio:9000
      insecure: true
      accessKeySecret:
        name: my-minio-cred
        key: accesskey
      secretKeySecret:
        name: my-minio-cred
        key: secretkey
  with-key-format: |
    s3:
      bucket: my-bucket
      endpoint: minio:9000
      keyFormat: "{{workflow.creationTimestamp.Y}}/{{workflow.name}}/{{pod.name}}"
  gcs: |
    gcs:
      bucket: my-gcs
      keyFormat: prefix/{{workflow.name}}
      serviceAccountKeySecret:
        name: gcs-sa
        key: serviceAccountKey
  azure: |
    azure:
      endpoint: https://myaccount.blob.core.windows.net
      container: my-container
      blobNameFormat: "{{workflow.name}}"
      accountKeySecret: {name: azure-key, key: account-access-key}
  artifactory: |
    artifactory:
      repoURL: http://artifactory:8081/artifactory/generic-local
      usernameSecret: {name: art-cred, key: username}
      passwordSecret: {name: art-cred, key: password}
  oss: |
    oss:
      endpoint: http://oss-cn-hangzhou-zmf.aliyuncs.com
      bucket: test-bucket-name
      createBucketIfNotPresent: true
      lifecycleRule: {markInfrequentAccessAfterDays: 30, markDeletionAfterDays: 60}
      accessKeySecret: {name: oss-cred, key: accessKey}
      secretKeySecret: {name: oss-cred, key: secretKey}
  hdfs: |
    hdfs:
      addresses: [my-hdfs-namenode-0.my-hdfs-namenode.default.svc.cluster.local:8020]
      hdfsUser: root
      pathFormat: /argo/{{workflow.name}}
      force: true
  plugin: |
    plugin:
      name: my-plugin
      configuration: "bucket: x"
      connectionTimeoutSeconds: 10
"""


def bad(fn: Any, data: Any) -> str:
    with pytest.raises(BadRequest) as info:
        fn(data)
    return str(info.value)


# ----------------------------------------------------------------------------- parsing


def test_parse_s3_input_artifact() -> None:
    art = parse_artifact(S3_INPUT)
    assert art.mode == 0o755
    assert isinstance(art.get(), S3Artifact)
    s3 = art.s3
    assert s3 is not None
    assert s3.role_arn == "arn:aws:iam::123456789012:role/argo"
    assert s3.insecure is False and s3.secure
    assert s3.access_key_secret == SecretKeySelector(name="my-s3-credentials", key="accessKey")
    assert s3.encryption_options and s3.encryption_options.kms_key_id == "alias/argo"
    assert s3.create_bucket_if_not_present and s3.create_bucket_if_not_present.object_locking
    assert s3.addressing_style == "path"
    assert art.has_location()
    assert art.get_key() == "path/in/bucket/my-art.tgz"


def test_round_trip_keeps_argo_names() -> None:
    data = yaml.safe_load(S3_INPUT)
    assert parse_artifact(data).to_dict() == data
    out = yaml.safe_load(OUTPUT_DIR)
    assert parse_artifact(out).to_dict() == out


def test_parse_output_with_archive_none_and_gc() -> None:
    art = parse_artifact(OUTPUT_DIR)
    assert art.archive is not None and art.archive.none is not None
    assert art.archive.tar is None
    assert art.artifact_gc and art.artifact_gc.strategy == "OnWorkflowDeletion"
    assert art.artifact_gc.pod_metadata and art.artifact_gc.pod_metadata.labels == {"team": "ml"}
    assert art.optional and art.global_name == "all-results"
    assert not art.has_location()


@pytest.mark.parametrize(
    ("snippet", "cls"),
    [
        (
            "git: {repo: 'https://github.com/argoproj/argo-workflows.git', revision: v3.5.0, "
            "depth: 1, insecureSkipTLS: true, sshPrivateKeySecret: {name: g, key: k}}",
            GitArtifact,
        ),
        (
            "http: {url: 'https://example.com/x.tgz', headers: [{name: Auth, value: v}], "
            "auth: {basicAuth: {usernameSecret: {name: u, key: u}, "
            "passwordSecret: {name: p, key: p}},"
            " oauth2: {clientIDSecret: {name: o, key: id}, tokenURLSecret: {name: o, key: url}, "
            "scopes: [a], endpointParams: [{key: k, value: v}]}}}",
            HTTPArtifact,
        ),
        (
            "artifactory: {url: 'http://art/repo/x.tgz', usernameSecret: {name: a, key: u}}",
            ArtifactoryArtifact,
        ),
        ("raw: {data: hello}", RawArtifact),
        ("gcs: {bucket: b, key: k}", GCSArtifact),
        (
            "azure: {endpoint: 'https://a.blob.core.windows.net', container: c, blob: b, "
            "useSDKCreds: true}",
            AzureArtifact,
        ),
        ("oss: {endpoint: e, bucket: b, key: k, securityToken: t, useSDKCreds: true}", OSSArtifact),
        (
            "hdfs: {addresses: [nn:8020], path: /a, krbCCacheSecret: {name: c, key: k}, "
            "krbConfigConfigMap: {name: m, key: krb5.conf}, krbServicePrincipalName: hdfs/nn}",
            HDFSArtifact,
        ),
        (
            "plugin: {name: p, configuration: c, key: k, connectionTimeoutSeconds: 5}",
            PluginArtifact,
        ),
    ],
)
def test_parse_every_location_type(snippet: str, cls: type) -> None:
    art = parse_artifact(f"name: a\n{snippet}\n")
    assert isinstance(art.get(), cls)
    assert art.has_location()
    assert parse_artifact(art.to_dict()) == art


def test_python_names_are_accepted_too() -> None:
    art = Artifact.model_validate({"name": "a", "s3": {"role_arn": "r", "use_sdk_creds": True}})
    assert art.s3 and art.s3.use_sdk_creds


def test_nulls_are_unset() -> None:
    art = parse_artifact("name: a\ns3:\n  region:\n  key: k\n")
    assert art.s3 and art.s3.region == ""


def test_repository_configmap_values() -> None:
    cm = yaml.safe_load(REPOSITORY_CONFIGMAP)
    repos = {key: parse_repository(value) for key, value in cm["data"].items()}
    default = repos["default-v1"]
    assert default.archive_logs is True
    loc = default.to_artifact_location()
    assert loc.archive_logs is True
    assert loc.s3 and loc.s3.bucket == "my-bucket" and loc.s3.insecure is True
    assert loc.get_key() == DEFAULT_ARCHIVE_PATTERN
    expected = {
        "with-key-format": "{{workflow.creationTimestamp.Y}}/{{workflow.name}}/{{pod.name}}",
        "gcs": "prefix/{{workflow.name}}",
        "azure": "{{workflow.name}}",
        "artifactory": "/artifactory/generic-local/{{workflow.name}}/{{pod.name}}",
        "oss": DEFAULT_ARCHIVE_PATTERN,
        "hdfs": "/argo/{{workflow.name}}",
        "plugin": DEFAULT_ARCHIVE_PATTERN,
    }
    for key, want in expected.items():
        assert repos[key].to_artifact_location().get_key() == want, key
    hdfs = repos["hdfs"].to_artifact_location().hdfs
    assert hdfs and hdfs.force and hdfs.hdfs_user == "root"
    azure = repos["azure"].to_artifact_location().azure
    assert azure and azure.account_key_secret and azure.account_key_secret.name == "azure-key"
    plugin = repos["plugin"].to_artifact_location().plugin
    assert (
        plugin and plugin.connection_timeout_seconds == 10 and plugin.configuration == "bucket: x"
    )


def test_s3_key_prefix_only_without_key_format() -> None:
    repo = parse_repository({"s3": {"bucket": "b", "keyPrefix": "pre/fix/"}})
    assert repo.to_artifact_location().get_key() == "pre/fix/" + DEFAULT_ARCHIVE_PATTERN
    repo = parse_repository(
        {"s3": {"bucket": "b", "keyPrefix": "p", "keyFormat": "k/{{pod.name}}"}}
    )
    assert repo.to_artifact_location().get_key() == "k/{{pod.name}}"


@pytest.mark.parametrize(
    ("repo_url", "url"),
    [
        ("http://my-repo", "http://my-repo/{{workflow.name}}/{{pod.name}}"),
        ("http://my-repo/", "http://my-repo/{{workflow.name}}/{{pod.name}}"),
    ],
)
def test_artifactory_repository_url(repo_url: str, url: str) -> None:
    loc = parse_repository({"artifactory": {"repoURL": repo_url}}).to_artifact_location()
    assert loc.artifactory and loc.artifactory.url == url


def test_repository_precedence_and_empty() -> None:
    repo = parse_repository(
        {"s3": {"bucket": "b"}, "gcs": {"bucket": "g"}, "artifactory": {"repoURL": "http://a"}}
    )
    assert repo.repository_types() == ["artifactory", "gcs", "s3"]
    assert repo.get() is repo.artifactory
    assert parse_repository({"s3": {}, "plugin": {"name": "p"}}).get().__class__.__name__ == (
        "PluginArtifactRepository"
    )
    empty = parse_repository({"archiveLogs": False})
    with pytest.raises(BadRequest, match="artifact repository is not configured"):
        empty.get()
    loc = empty.to_artifact_location()
    assert loc.archive_logs is False and loc.location_types() == []


def test_repository_location_is_a_copy() -> None:
    repo = parse_repository(yaml.safe_load(REPOSITORY_CONFIGMAP)["data"]["default-v1"])
    loc = repo.to_artifact_location()
    assert loc.s3 and repo.s3
    loc.s3.access_key_secret.name = "changed"  # type: ignore[union-attr]
    assert repo.s3.access_key_secret and repo.s3.access_key_secret.name == "my-minio-cred"


# -------------------------------------------------------------------------- validation


def test_access_key_without_secret_key() -> None:
    msg = bad(parse_artifact, {"name": "a", "s3": {"accessKeySecret": {"name": "c", "key": "a"}}})
    assert msg == "s3.secretKeySecret: required when accessKeySecret is set"
    msg = bad(parse_repository, {"s3": {"secretKeySecret": {"name": "c", "key": "s"}}})
    assert msg == "s3.accessKeySecret: required when secretKeySecret is set"
    msg = bad(parse_repository, {"oss": {"accessKeySecret": {"name": "c", "key": "a"}}})
    assert msg == "oss.secretKeySecret: required when accessKeySecret is set"


def test_sse_c_rules() -> None:
    ssec = {"name": "k", "key": "k"}
    msg = bad(
        parse_artifact,
        {
            "name": "a",
            "s3": {
                "encryptionOptions": {
                    "enableEncryption": True,
                    "serverSideCustomerKeySecret": ssec,
                    "kmsKeyId": "x",
                }
            },
        },
    )
    assert msg.startswith(
        "s3.encryptionOptions: serverSideCustomerKeySecret and kmsKeyId cannot be set together"
    )
    msg = bad(
        parse_artifact,
        {
            "name": "a",
            "s3": {
                "insecure": True,
                "encryptionOptions": {
                    "enableEncryption": True,
                    "serverSideCustomerKeySecret": ssec,
                },
            },
        },
    )
    assert msg.startswith("s3.encryptionOptions.serverSideCustomerKeySecret: SSE-C requires TLS")
    assert "remove insecure: true" in msg
    msg = bad(
        parse_artifact,
        {"name": "a", "s3": {"encryptionOptions": {"serverSideCustomerKeySecret": ssec}}},
    )
    assert msg.startswith("s3.encryptionOptions.enableEncryption: must be true")
    ok = parse_artifact(
        {
            "name": "a",
            "s3": {
                "insecure": False,
                "encryptionOptions": {
                    "enableEncryption": True,
                    "serverSideCustomerKeySecret": ssec,
                },
            },
        }
    )
    assert ok.s3 and ok.s3.secure


def test_kms_context_must_be_a_json_object() -> None:
    for context in ["{not json", "[1, 2]"]:
        msg = bad(
            parse_artifact,
            {"name": "a", "s3": {"encryptionOptions": {"kmsEncryptionContext": context}}},
        )
        assert msg.startswith("s3.encryptionOptions.kmsEncryptionContext: failed to parse KMS")


def test_oss_lifecycle_rule() -> None:
    msg = bad(parse_repository, {"oss": {"lifecycleRule": {"markInfrequentAccessAfterDays": 5}}})
    assert msg.startswith("oss.lifecycleRule.markInfrequentAccessAfterDays: ")
    assert "cannot be large than markDeletionAfterDays" in msg


def test_unknown_fields_are_named_with_the_allowed_ones() -> None:
    msg = bad(parse_artifact, {"name": "a", "s3": {"foo": 1}})
    assert msg.startswith("s3.foo: unknown field; allowed fields: endpoint, bucket, region,")
    assert "roleARN" in msg and "useSDKCreds" in msg and "key" in msg
    msg = bad(parse_artifact, {"name": "a", "colour": "red"})
    assert msg.startswith("colour: unknown field; allowed fields: archiveLogs, s3,")
    assert "fromExpression" in msg and "artifactGC" in msg
    msg = bad(parse_repository, {"s3": {"key": "k"}})
    assert msg.startswith("s3.key: unknown field; allowed fields:")
    assert "keyFormat" in msg
    msg = bad(
        parse_artifact,
        {"name": "a", "http": {"url": "u", "headers": [{"name": "n", "value": "v", "x": 1}]}},
    )
    assert msg == "http.headers[0].x: unknown field; allowed fields: name, value"
    msg = bad(parse_location, {"s3": {"encryptionOptions": {"kmsKeyID": "x"}}})
    assert msg.startswith("s3.encryptionOptions.kmsKeyID: unknown field; allowed fields: kmsKeyId")


def test_at_most_one_location_type() -> None:
    msg = bad(parse_artifact, {"name": "a", "s3": {"key": "k"}, "gcs": {"key": "k"}})
    assert msg.startswith("gcs, s3: at most one location type may be set")


def test_at_most_one_archive_strategy() -> None:
    msg = bad(parse_artifact, {"name": "a", "archive": {"tar": {}, "zip": {}}})
    assert msg.startswith("archive.tar, archive.zip: at most one archive strategy")
    art = parse_artifact({"name": "a", "archive": {"tar": {"compressionLevel": 9}}})
    assert art.archive and art.archive.tar and art.archive.tar.compression_level == 9
    assert parse_artifact({"name": "a", "archive": {}}).archive is not None
    msg = bad(parse_artifact, {"name": "a", "archive": {"tar": {"compressionLevel": 10}}})
    assert msg.startswith("archive.tar.compressionLevel: ")


@pytest.mark.parametrize(
    ("data", "prefix"),
    [
        ({"name": "has space"}, "name: must match ^[-a-zA-Z0-9_{}.]+$"),
        ({"name": "{{inputs.x}}.out-1_a"}, None),
        ({}, "name: required"),
        ({"name": "a", "mode": 512}, "mode: "),
        ({"name": "a", "mode": -1}, "mode: "),
        ({"name": "a", "mode": "0755"}, "mode: "),
        ({"name": "a", "optional": "true"}, "optional: "),
        ({"name": "a", "s3": {"insecure": "yes"}}, "s3.insecure: "),
        ({"name": "a", "s3": {"addressingStyle": "auto"}}, "s3.addressingStyle: must be one of"),
        ({"name": "a", "s3": "bucket"}, "s3: expected a mapping of fields, got a string"),
        ({"name": "a", "artifactGC": {"strategy": "Always"}}, "artifactGC.strategy: must be one"),
        ({"name": "a", "git": {}}, "git.repo: required"),
        ({"name": "a", "raw": {}}, "raw.data: required"),
        (
            {"name": "a", "s3": {"accessKeySecret": {"name": "x"}}},
            "s3.accessKeySecret.key: required",
        ),
        ({"name": "a", 3: "x"}, "artifact: field name 3 is not a string"),
    ],
)
def test_validation_messages_name_the_field(data: dict[str, Any], prefix: str | None) -> None:
    if prefix is None:
        parse_artifact(data)
        return
    assert bad(parse_artifact, data).startswith(prefix)


def test_yaml_and_shape_errors() -> None:
    assert bad(parse_artifact, "name: [").startswith("artifact: invalid YAML at line")
    assert bad(parse_artifact, "- a\n- b") == (
        "artifact: expected a mapping of Artifact fields, got a list"
    )
    assert bad(parse_repository, "").startswith("artifactRepository: expected a mapping")
    assert bad(parse_artifact, b"\xff\xfe\x00").startswith("artifact: invalid YAML")


def test_many_problems_are_truncated() -> None:
    data = {"name": "a", **{f"x{i}": i for i in range(15)}}
    msg = bad(parse_artifact, data)
    assert msg.count("unknown field") == 10
    assert msg.endswith("... and 5 more")


# ---------------------------------------------------------------- Get and HasLocation


def test_get_order_follows_argo() -> None:
    # Bypass the parse-time "at most one" rule to observe Get()'s order, as in Argo's Go test.
    loc = ArtifactLocation.model_construct(
        s3=S3Artifact(key="s"), raw=RawArtifact(data="d"), plugin=PluginArtifact(key="p")
    )
    assert isinstance(loc.get(), RawArtifact)
    loc = ArtifactLocation.model_construct(
        s3=S3Artifact(key="s"), gcs=GCSArtifact(key="g"), azure=AzureArtifact(blob="b")
    )
    assert isinstance(loc.get(), AzureArtifact)
    loc = ArtifactLocation.model_construct(
        s3=S3Artifact(key="s"), artifactory=ArtifactoryArtifact(url="http://a/b")
    )
    assert isinstance(loc.get(), ArtifactoryArtifact)


def test_get_errors() -> None:
    with pytest.raises(BadRequest) as info:
        get_location(None)
    assert str(info.value) == NIL_LOCATION_ERROR
    with pytest.raises(BadRequest) as info:
        ArtifactLocation().get()
    assert str(info.value) == NOT_CONFIGURED_ERROR
    assert get_location(ArtifactLocation(gcs=GCSArtifact(key="k"))).get_key() == "k"
    assert not ArtifactLocation().has_location()


SECRET = SecretKeySelector(name="s", key="k")


@pytest.mark.parametrize(
    ("location", "has"),
    [
        (S3Artifact(endpoint="e", bucket="b", key="k"), True),
        (S3Artifact(bucket="b", key="k"), False),
        (S3Artifact(endpoint="e", key="k"), False),
        (S3Artifact(endpoint="e", bucket="b"), False),
        (GCSArtifact(bucket="b", key="k"), True),
        (GCSArtifact(key="k"), False),
        (AzureArtifact(endpoint="e", container="c", blob="b"), True),
        (AzureArtifact(endpoint="e", blob="b"), False),
        (OSSArtifact(endpoint="e", bucket="b", key="k"), True),
        (OSSArtifact(bucket="b", key="k"), False),
        (ArtifactoryArtifact(url="http://a/b", username_secret=SECRET), True),
        (ArtifactoryArtifact(url="http://a/b"), False),
        (HTTPArtifact(url="http://a/b"), True),
        (HTTPArtifact(url=""), False),
        (HDFSArtifact(addresses=["nn:8020"]), True),
        (HDFSArtifact(path="/a"), False),
        (PluginArtifact(name="p", configuration="c", key="k"), True),
        (PluginArtifact(name="p", key="k"), False),
        (GitArtifact(repo="https://g/r.git"), True),
        (GitArtifact(repo=""), False),
        (RawArtifact(data=""), True),
    ],
)
def test_has_location_table(location: Any, has: bool) -> None:
    assert location.has_location() is has


# ---------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("location", "key", "attr"),
    [
        (S3Artifact(key="a"), "a", "key"),
        (GCSArtifact(key="a"), "a", "key"),
        (AzureArtifact(blob="a"), "a", "blob"),
        (OSSArtifact(key="a"), "a", "key"),
        (HDFSArtifact(path="/a"), "/a", "path"),
        (PluginArtifact(key="a"), "a", "key"),
    ],
)
def test_get_and_set_key(location: Any, key: str, attr: str) -> None:
    assert location.get_key() == key
    location.set_key("new/key")
    assert getattr(location, attr) == "new/key"


@pytest.mark.parametrize("cls", [HTTPArtifact, ArtifactoryArtifact])
def test_url_keys(cls: type) -> None:
    loc = cls(url="https://host:8443/repo/a%20b.tgz?token=x#frag")
    assert loc.get_key() == "/repo/a b.tgz"
    loc.set_key("other/dir/file name.tgz")
    assert loc.url == "https://host:8443/other/dir/file%20name.tgz?token=x#frag"
    loc.set_key("/abs/$&+,:;=@")
    assert loc.url == "https://host:8443/abs/$&+,:;=@?token=x#frag"
    assert cls(url="http://host").get_key() == ""


def test_unparseable_url_key() -> None:
    with pytest.raises(BadRequest, match="cannot be parsed"):
        HTTPArtifact(url="http://[::1").get_key()
    with pytest.raises(BadRequest, match="cannot be parsed"):
        HTTPArtifact(url="http://[::1").set_key("x")


@pytest.mark.parametrize("location", [GitArtifact(repo="r"), RawArtifact(data="d")])
def test_git_and_raw_have_no_key(location: Any) -> None:
    with pytest.raises(BadRequest, match=r"^key unsupported: "):
        location.get_key()
    with pytest.raises(BadRequest, match=r"^key unsupported: "):
        location.set_key("k")


@pytest.mark.parametrize(
    ("key", "element", "expected"),
    [
        ("a/b", "c", "a/b/c"),
        ("a/b/", "c/", "a/b/c"),
        ("a", "../x", "x"),
        ("", "c", "c"),
        ("a", "", "a"),
        ("/a", "..", "/"),
    ],
)
def test_append_to_key(key: str, element: str, expected: str) -> None:
    loc = ArtifactLocation(s3=S3Artifact(key=key))
    loc.append_to_key(element)
    assert loc.get_key() == expected


@pytest.mark.parametrize(
    ("path", "clean"),
    [
        ("", "."),
        ("//a//b/./c/..", "/a/b"),
        ("../../a", "../../a"),
        ("a/../..", ".."),
        ("/..", "/"),
        ("./", "."),
        ("a/b/", "a/b"),
    ],
)
def test_go_path_clean(path: str, clean: str) -> None:
    assert go_path_clean(path) == clean


def test_go_path_join() -> None:
    assert go_path_join() == ""
    assert go_path_join("", "") == ""
    assert go_path_join("a", "", "b") == "a/b"
    assert go_path_join("", "/x/") == "/x"


# ---------------------------------------------------------------------------- relocate


def archive_location() -> ArtifactLocation:
    return parse_location(
        {
            "archiveLogs": True,
            "s3": {
                "endpoint": "minio:9000",
                "bucket": "repo-bucket",
                "key": "{{workflow.name}}/{{pod.name}}",
                "accessKeySecret": {"name": "repo-cred", "key": "a"},
                "secretKeySecret": {"name": "repo-cred", "key": "s"},
            },
        }
    )


def test_relocate_leaves_a_complete_location_alone() -> None:
    art = parse_artifact({"name": "a", "s3": {"endpoint": "e", "bucket": "b", "key": "k"}})
    before = art.model_dump()
    art.relocate(archive_location())
    art.relocate(None)
    assert art.model_dump() == before


def test_relocate_key_only_takes_the_archive_location() -> None:
    archive = archive_location()
    art = parse_artifact({"name": "a", "s3": {"key": "my/key.tgz"}})
    art.relocate(archive)
    assert art.s3 and art.s3.bucket == "repo-bucket" and art.s3.endpoint == "minio:9000"
    assert art.get_key() == "my/key.tgz"
    assert art.archive_logs is True
    assert art.has_location()
    art.s3.bucket = "mutated"
    assert archive.s3 and archive.s3.bucket == "repo-bucket" and archive.get_key() != "my/key.tgz"


def test_relocate_without_archive_location() -> None:
    art = parse_artifact({"name": "a", "s3": {"key": "k"}})
    with pytest.raises(BadRequest) as info:
        art.relocate(None)
    assert str(info.value) == NO_TEMPLATE_LOCATION_ERROR


def test_relocate_partial_location_keeps_its_fields_by_default() -> None:
    art = parse_artifact({"name": "a", "s3": {"bucket": "my-bucket", "key": "k"}})
    art.relocate(archive_location())
    assert art.s3 and art.s3.bucket == "my-bucket"
    assert art.s3.endpoint == "minio:9000"
    assert art.s3.access_key_secret and art.s3.access_key_secret.name == "repo-cred"
    assert art.get_key() == "k"


def test_relocate_partial_location_argo_compatible_discards_it() -> None:
    art = parse_artifact({"name": "a", "s3": {"bucket": "my-bucket", "key": "k"}})
    art.relocate(archive_location(), argo_compatible=True)
    assert art.s3 and art.s3.bucket == "repo-bucket"
    assert art.get_key() == "k"


def test_relocate_partial_location_of_another_type() -> None:
    art = parse_artifact({"name": "a", "gcs": {"bucket": "g", "key": "k"}})
    art.gcs.bucket = ""  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"^gcs: the artifact sets bucket but the archive"):
        art.relocate(archive_location())
    key_only = parse_artifact({"name": "a", "gcs": {"key": "k"}})
    key_only.relocate(archive_location())
    assert key_only.location_types() == ["s3"] and key_only.get_key() == "k"


def test_relocate_artifactory_url_keeps_the_path() -> None:
    archive = parse_repository(
        {"artifactory": {"repoURL": "http://art/repo", "usernameSecret": SECRET.model_dump()}}
    ).to_artifact_location()
    art = parse_artifact({"name": "a", "artifactory": {"url": "http://elsewhere/x/y.tgz"}})
    art.relocate(archive, argo_compatible=True)
    assert art.artifactory and art.artifactory.url == "http://art/x/y.tgz"


def test_location_copy_from_artifact() -> None:
    art = parse_artifact({"name": "a", "archiveLogs": False, "s3": {"key": "k"}})
    loc = art.location()
    assert type(loc) is ArtifactLocation
    assert loc.archive_logs is False and loc.get_key() == "k"


# ---------------------------------------------------------------------- property test

FIELD_NAMES = sorted(
    {
        info.alias or name
        for model in (Artifact, S3Artifact, HTTPArtifact, GitArtifact, HDFSArtifact, OSSArtifact)
        for name, info in model.model_fields.items()
    }
    | {"tar", "none", "zip", "compressionLevel", "name", "key", "optional", "headers"}
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8), st.integers(-3, 3))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)
artifact_like = st.dictionaries(keys, values, max_size=8)


def names_a_field(message: str, data: Any) -> bool:
    head = message.split(": ", 1)[0]
    known = set(FIELD_NAMES) | {"artifact"}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                known.add(str(k))
                collect(v)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(data)
    return bool(head) and any(name and name in head for name in known)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=artifact_like)
def test_random_artifact_dicts_parse_or_raise_bad_request(data: dict[Any, Any]) -> None:
    try:
        parse_artifact(data)
    except BadRequest as exc:
        assert names_a_field(str(exc), data), str(exc)


@settings(max_examples=200, deadline=None)
@given(data=artifact_like)
def test_random_artifact_yaml_parses_or_raises_bad_request(data: dict[Any, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        parse_artifact(text)
    except BadRequest as exc:
        assert names_a_field(str(exc), yaml.safe_load(text)), str(exc)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=string.printable, max_size=60))
def test_random_text_parses_or_raises_bad_request(text: str) -> None:
    try:
        parse_artifact(text)
    except BadRequest as exc:
        assert re.match(r"^[^\s:][^:]*: ", str(exc)), str(exc)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["s3", "gcs", "azure", "oss", "artifactory", "hdfs", "plugin"]),
    body=st.dictionaries(keys, values, max_size=5),
)
def test_random_repositories_parse_or_raise_bad_request(name: str, body: dict[Any, Any]) -> None:
    try:
        repo = parse_repository({name: body})
    except BadRequest as exc:
        assert str(exc).startswith(name), str(exc)
    else:
        assert repo.to_artifact_location().location_types() == [name]


@pytest.mark.parametrize("configured", [None, False, True])
@pytest.mark.parametrize("template", [None, "unset", False, True])
@pytest.mark.parametrize("workflow", [None, False, True])
def test_archive_logs_decision(
    configured: bool | None, template: bool | str | None, workflow: bool | None
) -> None:
    if template is None:
        location = None
    elif template == "unset":
        location = ArtifactLocation()
    else:
        location = ArtifactLocation(archive_logs=bool(template))
    if configured:
        expected = True
    elif isinstance(template, bool):
        expected = template
    else:
        expected = bool(workflow)
    assert archive_logs_enabled(configured, location, workflow) is expected


# ---------------------------------------------------------------- secret values in the YAML

TOKEN, BEARER, CLIENT_SECRET = "sts-TOPSECRET-1", "Bearer TOPSECRET-2", "TOPSECRET-3"
SECRET_FIELDS_YAML = {
    "name": "a",
    "http": {
        "url": "https://example.com/x.tgz",
        "headers": [
            {"name": "Authorization", "value": BEARER},
            {"name": "Accept", "value": "application/gzip"},
        ],
        "auth": {
            "oauth2": {
                "endpointParams": [
                    {"key": "client_secret", "value": CLIENT_SECRET},
                    {"key": "audience", "value": "storage"},
                ]
            }
        },
    },
}


def test_secret_bearing_fields_never_show_their_values() -> None:
    oss = parse_artifact({"name": "a", "oss": {"bucket": "b", "key": "k", "securityToken": TOKEN}})
    http = parse_artifact(SECRET_FIELDS_YAML)
    repository = parse_repository({"oss": {"bucket": "b", "securityToken": TOKEN}})
    for model in (oss, oss.oss, http, http.http, repository):
        shown = [repr(model), str(model), str(model.model_dump()), model.model_dump_json()]
        for text in shown:
            assert TOKEN not in text and "TOPSECRET" not in text, text
    assert "<redacted>" in oss.model_dump_json() and "<redacted>" in http.model_dump_json()
    # Plain headers and parameters stay plain.
    assert http.http and http.http.headers[1].value == "application/gzip"
    assert "application/gzip" in repr(http) and "storage" in http.model_dump_json()


def test_secret_bearing_fields_give_their_values_explicitly() -> None:
    oss = parse_artifact({"name": "a", "oss": {"bucket": "b", "key": "k", "securityToken": TOKEN}})
    assert oss.oss and oss.oss.security_token.reveal() == TOKEN
    http = parse_artifact(SECRET_FIELDS_YAML)
    assert http.http and http.http.headers[0].value.reveal() == BEARER  # type: ignore[union-attr]
    # to_dict is Argo's own data, to be parsed again: the values round-trip.
    assert oss.to_dict()["oss"]["securityToken"] == TOKEN
    assert parse_artifact(http.to_dict()) == http
    assert http.to_dict() == SECRET_FIELDS_YAML
    assert parse_artifact({"name": "a", "oss": {"key": "k"}}).to_dict() == {
        "name": "a",
        "oss": {"key": "k"},
    }


def test_relocate_keeps_a_security_token() -> None:
    archive = parse_repository(
        {"oss": {"endpoint": "e", "bucket": "repo", "securityToken": TOKEN}}
    ).to_artifact_location()
    art = parse_artifact({"name": "a", "oss": {"bucket": "mine", "key": "k"}})
    art.relocate(archive)
    assert art.oss and art.oss.bucket == "mine" and art.oss.security_token.reveal() == TOKEN


def test_a_bad_secret_value_is_named_not_quoted() -> None:
    for data in (
        {"name": "a", "oss": {"securityToken": 7}},
        {"name": "a", "http": {"url": "u", "headers": [{"name": "Authorization", "value": 7}]}},
    ):
        with pytest.raises(BadRequest, match="Input should be a valid string") as info:
            parse_artifact(data)
        assert "7" not in str(info.value.__cause__)  # the ValidationError hides its input
