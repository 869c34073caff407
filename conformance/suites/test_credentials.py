"""Credentials: static keys, session tokens, AssumeRole, the SDK chain, SAS and service-account
keys (spec 1.2, 2.1 credentials, 2.2, 2.3, 6.3).

Cases that read the AWS default chain set its environment explicitly (monkeypatch): the shared
config and credentials files point at empty files and instance metadata is disabled, so nothing
of the machine's own is ever read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from conformance.cases import requires, verifies
from drivers.core.errors import ArtifactError, Code
from drivers.core.secrets import MemorySecretSource
from conformance.kinds.gcs import throwaway_service_account

CREDS = "artconf-creds"
ROLE_ARN = "arn:aws:iam::000000000000:role/artconf-conformance"
# Everything the AWS default chain could read besides what a case sets.
AWS_CHAIN_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CREDENTIAL_EXPIRATION",
)


# --------------------------------------------------------------------------- helpers


def round_trip(store, driver, artifact, data: bytes = b"credentials \x00\xff") -> None:
    """save then load through `driver`; the server must hold exactly `data`."""
    key = artifact.get_key()
    path = store.local_file("in.bin", data)
    driver.save(str(path), artifact)
    assert store.objects.get(key) == data
    out = store.tmp / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == data


def _fast(store):
    return dataclasses.replace(store.context, sleep=lambda _: None)


def _rejected(call) -> ArtifactError:
    with pytest.raises(ArtifactError) as caught:
        call()
    error = caught.value
    assert error.code in (Code.FORBIDDEN, Code.UNAUTHORIZED), f"{error.code}: {error}"
    assert not error.transient
    return error


def _without_static_keys(store, key: str, **fields):
    return store.artifact_with(key, accessKeySecret=None, secretKeySecret=None, **fields)


def clean_aws_chain(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """An AWS default chain that finds nothing unless the case adds it."""
    for name in AWS_CHAIN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def chain_keys(store) -> tuple[str, str]:
    """Keys for the SDK chain: the server's non-root user where it has one, else its root."""
    creds = store.backend.endpoint.credentials
    if "user_access_key" in creds:
        return creds["user_access_key"], creds["user_secret_key"]
    return creds["access_key"], creds["secret_key"]


def minio_user(store) -> tuple[str, str]:
    creds = store.backend.endpoint.credentials
    if "user_access_key" not in creds:
        pytest.fail(f"{store.backend.key} has no non-root user (user_access_key) for STS")
    return creds["user_access_key"], creds["user_secret_key"]


def sts_session_credentials(store) -> dict[str, str]:
    """Temporary key, secret and token from the server's STS AssumeRole, as the non-root user."""
    access, secret = minio_user(store)
    endpoint = store.backend.endpoint
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        verify=endpoint.ca_bundle if endpoint.tls else True,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    answer = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="artconf-case")["Credentials"]
    return {
        "accessKey": answer["AccessKeyId"],
        "secretKey": answer["SecretAccessKey"],
        "sessionToken": answer["SessionToken"],
    }


def _s3_secrets(store, values: dict[str, str]) -> MemorySecretSource:
    """The store's secrets (CA included) plus `values` under CREDS."""
    return MemorySecretSource({**store.location.secrets, CREDS: values})


def _selector(key: str) -> dict[str, str]:
    return {"name": CREDS, "key": key}


# --------------------------------------------------------------------------- static keys


@verifies("auth_static_keys")
@requires("save", "load")
def test_static_keys_round_trip(store):
    """accessKeySecret/secretKeySecret (S3) or an account key (Azure) authenticate (2.1, 2.3)."""
    round_trip(store, store.driver, store.artifact("static/in.bin"))


@verifies("auth_static_keys")
@requires("save", "load")
def test_static_keys_are_stripped(store):
    """Keys read from a Secret with a trailing newline still authenticate (deviation 6.3)."""
    secrets = {name: dict(keys) for name, keys in store.location.secrets.items()}
    for keys in secrets.values():
        for field in ("accessKey", "secretKey", "accountKey"):
            if field in keys:
                keys[field] += "\n"
    driver = store.new_driver(secrets=MemorySecretSource(secrets))
    round_trip(store, driver, store.artifact("static/stripped.bin"))


# --------------------------------------------------------------------------- session token


@verifies("auth_session_token")
@requires("save", "load")
def test_session_token_round_trip(store):
    """sessionTokenSecret with STS temporary keys authenticates (2.1 sessionTokenSecret)."""
    creds = sts_session_credentials(store)
    artifact = store.artifact_with(
        "session/in.bin",
        accessKeySecret=_selector("accessKey"),
        secretKeySecret=_selector("secretKey"),
        sessionTokenSecret=_selector("sessionToken"),
    )
    driver = store.new_driver(artifact, _s3_secrets(store, creds))
    round_trip(store, driver, artifact)


@verifies("auth_session_token")
@requires("load")
def test_temporary_keys_without_token_are_rejected(store):
    """The same temporary key and secret without the token are refused (negative control, 2.1)."""
    creds = sts_session_credentials(store)
    store.objects.put("session/file.txt", b"x")
    artifact = store.artifact_with(
        "session/file.txt",
        accessKeySecret=_selector("accessKey"),
        secretKeySecret=_selector("secretKey"),
    )
    driver = store.new_driver(artifact, _s3_secrets(store, creds), _fast(store))
    _rejected(lambda: driver.load(artifact, str(store.tmp / "out")))


# --------------------------------------------------------------------------- AssumeRole


@verifies("auth_assume_role")
@requires("save", "load")
def test_assume_role_with_environment_source_credentials(store, monkeypatch):
    """roleARN: AssumeRole with source credentials from the default chain's env vars (2.1, 6.3)."""
    access, secret = minio_user(store)
    clean_aws_chain(monkeypatch, store.tmp)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    artifact = _without_static_keys(store, "role/in.bin", roleARN=ROLE_ARN)
    driver = store.new_driver(artifact)
    round_trip(store, driver, artifact)


@verifies("auth_assume_role")
@requires("load")
def test_assume_role_without_source_credentials_fails(store, monkeypatch):
    """roleARN with nothing in the default chain fails as unauthenticated, at once (6.3)."""
    clean_aws_chain(monkeypatch, store.tmp)
    store.objects.put("role/file.txt", b"x")
    artifact = _without_static_keys(store, "role/file.txt", roleARN=ROLE_ARN)
    driver = store.new_driver(artifact, store.secrets, _fast(store))
    _rejected(lambda: driver.load(artifact, str(store.tmp / "out")))


# --------------------------------------------------------------------------- SDK chain


@verifies("auth_sdk_chain")
@requires("save", "load")
def test_sdk_creds_from_environment(store, monkeypatch):
    """useSDKCreds reads the SDK's default chain: environment variables (2.1, 2.2, 2.3, 6.3)."""
    artifact = _sdk_chain_artifact(store, "sdk/env.bin", monkeypatch)
    driver = store.new_driver(artifact)
    round_trip(store, driver, artifact)


@verifies("auth_sdk_chain")
@requires("save", "load")
def test_sdk_creds_from_shared_credentials_file(store, monkeypatch):
    """useSDKCreds reads the SDK's default chain: a credentials file it finds (2.1, 2.2, 6.3)."""
    if store.location.driver == "s3":  # the shared credentials file
        access, secret = chain_keys(store)
        clean_aws_chain(monkeypatch, store.tmp)
        shared = store.tmp / "aws-credentials"
        shared.write_text(
            f"[default]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n"
        )
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
        artifact = _without_static_keys(store, "sdk/file.bin", useSDKCreds=True)
    elif store.location.driver == "gcs":  # gcloud's application_default_credentials.json
        config = store.tmp / "gcloud"
        config.mkdir()
        adc = config / "application_default_credentials.json"
        adc.write_text(json.dumps(throwaway_service_account()))
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(config))
        artifact = store.artifact_with("sdk/file.bin", serviceAccountKeySecret=None)
    else:
        artifact = _sdk_chain_artifact(store, "sdk/file.bin", monkeypatch)
    driver = store.new_driver(artifact)
    round_trip(store, driver, artifact)


def _sdk_chain_artifact(store, key: str, monkeypatch: pytest.MonkeyPatch):
    """The location with its credential fields removed, and the chain fed through env vars."""
    driver = store.location.driver
    if driver == "s3":
        access, secret = chain_keys(store)
        clean_aws_chain(monkeypatch, store.tmp)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        return _without_static_keys(store, key, useSDKCreds=True)
    if driver == "gcs":  # Application Default Credentials from a key file
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(store.tmp / "no-gcloud"))
        adc = store.tmp / "adc.json"
        adc.write_text(json.dumps(throwaway_service_account()))
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
        return store.artifact_with(key, serviceAccountKeySecret=None)
    # Azure: DefaultAzureCredential; nothing here can issue an Entra ID token (profile gap).
    return store.artifact_with(key, accountKeySecret=None, useSDKCreds=True)


# --------------------------------------------------------------------------- Azure SAS


def _sas(store, *, write: bool, expires_in: dt.timedelta) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    creds = store.backend.endpoint.credentials
    return generate_container_sas(
        account_name=creds["account_name"],
        container_name=store.bucket,
        account_key=creds["account_key"],
        permission=ContainerSasPermissions(read=True, list=True, write=write, create=write),
        start=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        expiry=dt.datetime.now(dt.UTC) + expires_in,
    )


def _sas_driver(store, token: str, artifact, context=None):
    secrets = MemorySecretSource({CREDS: {"sas": token}})
    sas_artifact = store.artifact_with(artifact.get_key(), accountKeySecret=_selector("sas"))
    return store.new_driver(sas_artifact, secrets, context), sas_artifact


@verifies("auth_sas")
@requires("save", "load")
def test_sas_token_round_trip(store):
    """An accountKeySecret holding a read-write SAS token authenticates (2.3)."""
    token = _sas(store, write=True, expires_in=dt.timedelta(hours=1))
    driver, artifact = _sas_driver(store, token, store.artifact("sas/in.bin"))
    round_trip(store, driver, artifact)


@verifies("auth_sas")
@requires("save", "load")
def test_read_only_sas_cannot_write(store):
    """A read-only SAS loads but a save with it is ERR_FORBIDDEN and writes nothing (2.3)."""
    store.objects.put("sas/present.txt", b"readable")
    token = _sas(store, write=False, expires_in=dt.timedelta(hours=1))
    driver, artifact = _sas_driver(store, token, store.artifact("sas/present.txt"), _fast(store))
    out = store.tmp / "out.txt"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"readable"
    path = store.local_file("in.txt", b"new")
    _, target = _sas_driver(store, token, store.artifact("sas/new.txt"))
    error = _rejected(lambda: driver.save(str(path), target))
    assert error.code is Code.FORBIDDEN, f"{error.code}: {error}"
    assert store.objects.get("sas/new.txt") is None


@verifies("auth_sas")
@requires("load")
def test_expired_sas_is_rejected(store):
    """An expired SAS token is refused (ERR_FORBIDDEN or ERR_UNAUTHORIZED), not retried (2.3)."""
    store.objects.put("sas/present.txt", b"readable")
    token = _sas(store, write=False, expires_in=dt.timedelta(minutes=-1))
    driver, artifact = _sas_driver(store, token, store.artifact("sas/present.txt"), _fast(store))
    _rejected(lambda: driver.load(artifact, str(store.tmp / "out.txt")))


# --------------------------------------------------------------------------- GCS key


@verifies("auth_service_account_key")
@requires("save", "load")
def test_service_account_key_round_trip(store):
    """serviceAccountKeySecret (a service-account JSON key) authenticates (2.2)."""
    round_trip(store, store.driver, store.artifact("sa/in.bin"))
