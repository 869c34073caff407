"""`new_driver`: the location type picks the driver, in the order of Argo's factory (spec 1.2)."""

from __future__ import annotations

import importlib

from drivers.base import Driver
from drivers.core.context import DriverContext
from drivers.core.errors import BadRequest, Unimplemented
from drivers.core.model import Artifact
from drivers.core.secrets import SecretSource

# Argo's NewDriver order; a type maps to "module:class" of its reference driver, or None.
FACTORY_ORDER: dict[str, str | None] = {
    "s3": "drivers.s3:S3Driver",
    "http": "drivers.http:HTTPDriver",
    "git": "drivers.git:GitDriver",
    "artifactory": "drivers.http:ArtifactoryDriver",
    "hdfs": "drivers.hdfs:HDFSDriver",
    "raw": "drivers.raw:RawDriver",
    "oss": "drivers.oss:OSSDriver",
    "gcs": "drivers.gcs:GCSDriver",
    "azure": "drivers.azure:AzureDriver",
    "plugin": None,
}


def new_driver(
    artifact: Artifact, secrets: SecretSource, context: DriverContext | None = None
) -> Driver:
    """The reference driver for the artifact's location type, built with its secrets."""
    for name, target in FACTORY_ORDER.items():
        if getattr(artifact, name) is None:
            continue
        if target is None:
            raise Unimplemented(f"no reference driver for {name} artifacts yet ({artifact.name})")
        module, cls = target.split(":")
        driver_class: type[Driver] = getattr(importlib.import_module(module), cls)
        return driver_class(artifact, secrets, context or DriverContext.from_environment())
    raise BadRequest(f"Unsupported artifact driver for {artifact.name}")
