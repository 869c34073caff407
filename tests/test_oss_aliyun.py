"""Opt-in: the reference OSS driver's essential round trip against a real OSS bucket.

Not part of the default run: it needs Alibaba Cloud. Set ARTCONF_OSS_ENDPOINT (e.g.
https://oss-cn-hangzhou.aliyuncs.com), ARTCONF_OSS_BUCKET (an existing bucket the key may
write to), ARTCONF_OSS_ACCESS_KEY_ID and ARTCONF_OSS_ACCESS_KEY_SECRET. Everything it writes
goes under a fresh `artconf-<id>/` prefix and is deleted at the end. The fleet has no server for
it (the harness starts only local servers), so the lane is this test, not an `artconf run`
backend.
"""

from __future__ import annotations

import os
import uuid

import pytest

from conformance.kinds.oss import OSSAdmin
from drivers.core.context import DriverContext
from drivers.core.errors import Code, NotFound
from drivers.core.model import parse_artifact
from drivers.core.secrets import MemorySecretSource
from drivers.oss import OSSDriver
from drivers.oss.connection import region_of
from emulators.endpoint import Endpoint

VARIABLES = (
    "ARTCONF_OSS_ENDPOINT",
    "ARTCONF_OSS_BUCKET",
    "ARTCONF_OSS_ACCESS_KEY_ID",
    "ARTCONF_OSS_ACCESS_KEY_SECRET",
)

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(v) for v in VARIABLES),
    reason="set ARTCONF_OSS_ENDPOINT, ARTCONF_OSS_BUCKET, ARTCONF_OSS_ACCESS_KEY_ID and "
    "ARTCONF_OSS_ACCESS_KEY_SECRET to run against a real OSS bucket",
)


@pytest.fixture
def real(tmp_path):
    url = os.environ["ARTCONF_OSS_ENDPOINT"]
    url = url if "://" in url else "https://" + url
    endpoint = Endpoint(
        name="oss-aliyun",
        server="oss-aliyun",
        url=url,
        host=url.split("://", 1)[1].split("/")[0],
        port=443,
        tls=url.startswith("https://"),
        ca_bundle=None,
        credentials={
            "access_key": os.environ["ARTCONF_OSS_ACCESS_KEY_ID"],
            "secret_key": os.environ["ARTCONF_OSS_ACCESS_KEY_SECRET"],
            "region": region_of(url),
        },
        version="aliyun",
        profile="oss",
    )
    admin = OSSAdmin(endpoint)
    bucket = os.environ["ARTCONF_OSS_BUCKET"]
    prefix = f"artconf-{uuid.uuid4().hex[:12]}"
    yield endpoint, admin, bucket, prefix
    for key in admin.keys(bucket, prefix + "/"):
        admin.delete(bucket, key)


def test_round_trip_on_a_real_bucket(real, tmp_path):
    endpoint, admin, bucket, prefix = real
    fields = {
        "endpoint": endpoint.url,
        "bucket": bucket,
        "key": f"{prefix}/file.bin",
        "accessKeySecret": {"name": "oss", "key": "accessKey"},
        "secretKeySecret": {"name": "oss", "key": "secretKey"},
    }
    secrets = MemorySecretSource(
        {
            "oss": {
                "accessKey": endpoint.credentials["access_key"],
                "secretKey": endpoint.credentials["secret_key"],
            }
        }
    )
    artifact = parse_artifact({"name": "real", "oss": fields})
    driver = OSSDriver(artifact, secrets, DriverContext(temp_dir=tmp_path / "private"))
    source = tmp_path / "in.bin"
    source.write_bytes(b"real oss \x00\xff")
    driver.save(str(source), artifact)
    assert admin.get(bucket, f"{prefix}/file.bin") == b"real oss \x00\xff"
    out = tmp_path / "out.bin"
    driver.load(artifact, str(out))
    assert out.read_bytes() == b"real oss \x00\xff"
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a.txt").write_bytes(b"a")
    directory = parse_artifact({"name": "dir", "oss": {**fields, "key": f"{prefix}/dir"}})
    driver.save(str(tree), directory)
    assert driver.is_directory(directory)
    assert driver.list_objects(directory) == [f"{prefix}/dir/sub/a.txt"]
    driver.delete(directory)
    driver.delete(artifact)
    with pytest.raises(NotFound) as caught:
        driver.load(artifact, str(tmp_path / "gone"))
    assert caught.value.code is Code.NOT_FOUND
