"""The `plugin.configuration` string the kit's plugins read: the real location, and its secrets.

Argo sends a plugin an opaque string (spec 1.4: "YAML is recommended") and the key apart, in
`plugin.key`. The kit's plugins (`artconf plugin serve`, the `argo-go` program) read this YAML:

    s3:                                  # exactly one location, Argo's field names, no key
      endpoint: 127.0.0.1:9000
      bucket: my-bucket
      insecure: true
      accessKeySecret: {name: my-s3-credentials, key: accessKey}
      secretKeySecret: {name: my-s3-credentials, key: secretKey}
    secrets:                             # optional: the values of the selectors above
      my-s3-credentials: {accessKey: ..., secretKey: ...}

Without `secrets:` a plugin reads them from a directory, as a pod does (`DirectorySecretSource`).
The configuration holds secret values in clear: it travels only over the local unix socket,
and no record, log or message of the kit ever prints it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from drivers.core.errors import ArtifactError, BadRequest
from drivers.core.model import Artifact, ArtifactLocation
from drivers.core.model.base import ArgoModel, SecretKeySelector
from drivers.core.model.locations import KEY_FIELD
from drivers.core.secrets import REVEAL_SECRETS, MemorySecretSource, SecretSource

SECRETS = "secrets"


def selectors(model: ArgoModel) -> Iterator[SecretKeySelector]:
    """Every SecretKeySelector set in `model`, depth first."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretKeySelector):
            yield value
        elif isinstance(value, ArgoModel):
            yield from selectors(value)


def kind_of(location: ArtifactLocation) -> str:
    """The location type set in `location` (BadRequest when none or a plugin one)."""
    kinds = location.location_types()
    if len(kinds) != 1 or kinds[0] == "plugin":
        raise BadRequest(
            "a plugin configuration carries exactly one location that is not a plugin "
            f"(found {kinds or 'none'})"
        )
    return kinds[0]


def encode(location: ArtifactLocation, secrets: SecretSource | None) -> tuple[str, str]:
    """(configuration, key) for the plugin wire: the location without its key, its secrets.

    A selector whose value `secrets` cannot give is left out of `secrets:`, so the plugin
    fails on it the way the driver would have.
    """
    kind = kind_of(location)
    concrete = getattr(location, kind)
    key_field = KEY_FIELD.get(type(concrete))
    if key_field == "url":  # the key is the URL's path: the URL stays, with its origin
        key, omit = concrete.get_key(), set()
    else:  # Raw has no key at all
        key, omit = (getattr(concrete, key_field), {key_field}) if key_field else ("", set())
    # Credentials written in the location itself (OSS securityToken) travel in clear, as the
    # selectors' values do below: the plugin must be able to use them.
    body = concrete.model_dump(
        mode="json",
        exclude_none=True,
        exclude_defaults=True,
        exclude=omit,
        context={REVEAL_SECRETS: True},
    )
    document: dict[str, Any] = {kind: body}
    if secrets is not None:
        values: dict[str, dict[str, str]] = {}
        for selector in selectors(concrete):
            try:
                value = secrets.get(selector.name, selector.key)
            except ArtifactError:  # the plugin reports the missing secret itself
                continue
            values.setdefault(selector.name, {})[selector.key] = value.reveal()
        if values:
            document[SECRETS] = values
    return yaml.safe_dump(document, sort_keys=False), key or ""


def decode(configuration: str, key: str) -> tuple[ArtifactLocation, MemorySecretSource | None]:
    """The location (with `key` set) and inline secrets of a configuration string."""
    try:
        document = yaml.safe_load(configuration) if configuration.strip() else None
    except yaml.YAMLError as exc:
        raise BadRequest(f"plugin.configuration is not YAML: {exc}") from None
    if not isinstance(document, Mapping):
        raise BadRequest(
            "plugin.configuration must be a YAML mapping holding one location, e.g. "
            "'s3: {endpoint: ..., bucket: ...}' (see drivers/plugin/configuration.py)"
        )
    document = dict(document)
    inline = document.pop(SECRETS, None)
    try:
        location = ArtifactLocation.model_validate(document)
    except ValidationError as exc:
        raise BadRequest(f"plugin.configuration: {exc}") from None
    kind_of(location)
    if key and location.get_key() != key:  # an URL already holds its key; Raw has none
        location.set_key(key)
    if inline is None:
        return location, None
    if not isinstance(inline, Mapping) or not all(isinstance(v, Mapping) for v in inline.values()):
        raise BadRequest("plugin.configuration: secrets must map secret name -> {key: value}")
    return location, MemorySecretSource({str(n): dict(v) for n, v in inline.items()})


def with_location(artifact: Artifact, location: ArtifactLocation) -> Artifact:
    """`artifact` (name, path, mode, ...) with its location replaced by `location`."""
    fields = {name: getattr(location, name) for name in type(location).model_fields}
    return artifact.model_copy(update=fields)
