"""conformance.kinds: one adapter per location kind, one profile per backend, nothing else.

The last test adds a fourth object-store kind from outside the kit (an adapter module and a
profile over the existing MinIO server, found through ARTCONF_KIND_MODULES and
ARTCONF_PROFILE_DIRS) and runs the whole matrix for it: no other edit is needed.
"""

from __future__ import annotations

import pytest
import yaml

from conformance import kinds
from conformance.kinds.base import Kind
from conformance.matrix import cells
from conformance.profiles import ProfileError, load_profiles, parse_profile, profile_dir
from conformance.session import check_registry
from drivers.core.capabilities import Capability
from drivers.core.model.repository import ArtifactRepository
from drivers.factory import FACTORY_ORDER
from tests.matrix_runs import REPO, failing_cells, run_matrix

FAKE_KIND = '''
"""A fourth object-store kind for a kit test: S3 under another name, on MinIO."""

from conformance.kinds.s3 import S3


class S3Again(S3):
    name = "s3again"
    location_type = "s3"


KIND = S3Again()
'''

FAKE_TARGET = '''
"""The reference S3 driver, declared for the kind `s3again`."""

from drivers import new_driver
from drivers.s3 import S3Driver


def make_driver(artifact, secrets, context):
    return new_driver(artifact, secrets, context)


make_driver.capabilities = {"s3again": sorted(S3Driver.capabilities)}
'''


def test_every_reference_driver_has_its_adapter_and_a_profile():
    """A location type the reference can drive is a kind with an adapter and a backend."""
    served = {p.driver for p in load_profiles().values()}
    for location_type, driver in FACTORY_ORDER.items():
        if driver is None:
            continue
        kind = kinds.get(location_type)
        assert kind.type == location_type
        assert location_type in served, f"no profile in {profile_dir()} serves {location_type}"


@pytest.mark.parametrize("name", list(kinds.all_kinds()))
def test_each_adapter_takes_its_fields_from_the_model(name):
    kind = kinds.get(name)
    assert kind.argo_capabilities <= frozenset(Capability)
    # repo: a clone, no key; path: HDFS
    assert kind.key_field in ("key", "blob", "url", "data", "repo", "path")
    if kind.type in ArtifactRepository.model_fields:  # http, git and raw never are one
        assert kind.key_format_field in ("keyFormat", "blobNameFormat", "pathFormat")
    # the container is a field, or a part of what places the key (an URL's path, a table)
    assert kind.container_field or type(kind).in_container is not Kind.in_container


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(kinds.KindError, match="no adapter for location kind 'teleport'; known"):
        kinds.get("teleport")


def test_a_profile_for_a_kind_without_adapter_is_an_error():
    data = {"server": "minio", "driver": "teleport", "kind": "real", "description": "d"}
    with pytest.raises(ProfileError, match=r"x\.yaml: driver: no adapter for location kind"):
        parse_profile(data, "x.yaml")


def test_a_kind_without_a_profile_is_an_error_at_start(tmp_path, monkeypatch):
    (tmp_path / "orphan_kind.py").write_text(FAKE_KIND)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(kinds.EXTRA_MODULES, "orphan_kind")
    with pytest.raises(ValueError, match=r"location kind\(s\) s3again have no backend profile"):
        check_registry(load_profiles())


def test_a_kind_module_without_kind_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "not_a_kind.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(kinds.EXTRA_MODULES, "not_a_kind")
    with pytest.raises(kinds.KindError, match="not_a_kind must define KIND"):
        kinds.all_kinds()


def test_a_fourth_kind_from_an_adapter_and_a_profile_runs_the_whole_matrix(
    tmp_path, artconf_server
):
    code = tmp_path / "code"
    code.mkdir()
    (code / "s3again_kind.py").write_text(FAKE_KIND)
    (code / "s3again_target.py").write_text(FAKE_TARGET)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    minio = yaml.safe_load((profile_dir() / "minio.yaml").read_text())
    minio.update(backend="minio-again", driver="s3again", description="MinIO as s3again")
    (profiles / "minio-again.yaml").write_text(yaml.safe_dump(minio))
    env = {
        kinds.EXTRA_MODULES: "s3again_kind",
        "ARTCONF_PROFILE_DIRS": str(profiles),
        "PYTHONPATH": f"{code}:{REPO}",
    }
    result, records = run_matrix(
        artconf_server,
        tmp_path,
        target="python:s3again_target:make_driver",
        backends=("minio-again",),
        tls="both",
        env=env,
    )
    assert records, result.stdout[-3000:] + result.stderr[-3000:]
    assert {r.driver for r in records} == {"s3again"}
    assert failing_cells(records) == set(), result.stdout[-5000:]
    table = cells(records)
    verified = set(table[table.state == "verified"]["capability"])
    # Every suite family reached the new kind.
    # (`save` itself is a known-deviation cell: the copied profile keeps MinIO's known bug.)
    assert {"save_directory", "load_directory", "open_stream", "delete_directory"} <= verified
    assert {"archive_tar", "save_stream"} <= verified
    assert {"tls_custom_ca", "auth_static_keys", "list_objects"} <= verified
    assert len(verified) >= 25, sorted(verified)
