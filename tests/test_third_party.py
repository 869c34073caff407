"""A third-party driver outside the repo runs through `--artconf-target python:...` from the
built wheel, installed in a separate virtual environment, with no other configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from conformance.records import read_records
from tests.matrix_runs import REPO, endpoints_file

THIRD_PARTY = '''
    """A tiny independent S3 driver: files only, written straight on boto3."""
    import boto3
    from botocore.config import Config
    from drivers.core.errors import NotFound

    CAPABILITIES = ["load", "save", "open_stream", "delete", "list_objects"]


    class TinyS3:
        def __init__(self, artifact, secrets, context):
            s3 = artifact.s3
            access = secrets.get(s3.access_key_secret.name, s3.access_key_secret.key)
            secret = secrets.get(s3.secret_key_secret.name, s3.secret_key_secret.key)
            scheme = "http" if s3.insecure else "https"
            self.client = boto3.client(
                "s3", endpoint_url=f"{scheme}://{s3.endpoint}", region_name="us-east-1",
                aws_access_key_id=access.reveal(), aws_secret_access_key=secret.reveal(),
                config=Config(request_checksum_calculation="when_required",
                              response_checksum_validation="when_required"),
            )

        def _get(self, artifact):
            try:
                return self.client.get_object(Bucket=artifact.s3.bucket, Key=artifact.s3.key)
            except self.client.exceptions.NoSuchKey:
                raise NotFound(f"no key {artifact.s3.key}") from None

        def load(self, artifact, path):
            with open(path, "wb") as out:
                out.write(self._get(artifact)["Body"].read())

        def open_stream(self, artifact):
            return self._get(artifact)["Body"]

        def save(self, path, artifact):
            self.client.upload_file(path, artifact.s3.bucket, artifact.s3.key)

        def save_stream(self, stream, artifact):
            raise NotImplementedError

        def delete(self, artifact):
            self.client.delete_object(Bucket=artifact.s3.bucket, Key=artifact.s3.key)

        def list_objects(self, artifact):
            prefix = artifact.s3.key.rstrip("/") + "/"
            listed = self.client.list_objects_v2(Bucket=artifact.s3.bucket, Prefix=prefix)
            return [o["Key"] for o in listed.get("Contents", [])]

        def is_directory(self, artifact):
            return bool(self.list_objects(artifact))


    def make_driver(artifact, secrets, context):
        return TinyS3(artifact, secrets, context)


    make_driver.capabilities = CAPABILITIES
'''


def test_wheel_in_a_fresh_venv_runs_a_third_party_target(tmp_path, artconf_server):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("artifact_conformance-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]  # fmt: skip
    subprocess.run([*pip, "--require-hashes", "-r", str(REPO / "requirements.lock")],
                   check=True, capture_output=True, timeout=900)  # fmt: skip
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"  # neither the repo nor its tests are importable here
    elsewhere.mkdir()
    (elsewhere / "tinys3.py").write_text(textwrap.dedent(THIRD_PARTY))
    endpoints = endpoints_file(artconf_server, ["minio"], tmp_path / "endpoints.json")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(elsewhere)
    result = subprocess.run(
        [str(venv / "bin" / "artconf"), "run", "--target", "python:tinys3:make_driver",
         "--backends", "minio", "--tls", "off", "--endpoints", str(endpoints),
         "--reports", str(tmp_path / "reports"), "-n", "2"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    records_path = tmp_path / "reports" / "latest" / "records.jsonl"
    assert records_path.exists(), result.stdout + result.stderr
    records = read_records(records_path)
    assert {r.target for r in records} == {"python:tinys3:make_driver"}
    by_capability: dict[str, set[str]] = {}
    for record in records:
        by_capability.setdefault(record.capability, set()).add(record.outcome)
    assert "pass" in by_capability["save"] and "pass" in by_capability["load"]
    undeclared = [r for r in records if r.capability == "save_stream"]
    assert undeclared and all(r.skip_by == "driver" for r in undeclared)
    assert json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())["target"] == (
        "python:tinys3:make_driver"
    )
