"""`drivers.raw.RawDriver`: the artifact's `data` is its content; it is input only."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from drivers import new_driver
from drivers.controller.gc import ERR_DELETE_NOT_SUPPORTED
from drivers.core.capabilities import Capability
from drivers.core.context import DriverContext
from drivers.core.errors import LIST_OBJECTS_NOT_SUPPORTED, ArtifactError, BadRequest, Code
from drivers.core.model import Artifact
from drivers.core.secrets import MemorySecretSource
from drivers.raw import RawDriver

DATA = "héllo\n  wörld ☃\ttabs\r\nno newline at the end"


def raw(data: str = DATA) -> Artifact:
    return Artifact.model_validate({"name": "art", "raw": {"data": data}})


@pytest.fixture
def driver(tmp_path):
    with new_driver(raw(), MemorySecretSource({}), DriverContext(temp_dir=tmp_path)) as made:
        yield made


def raises(fn: Callable[[], object], code: Code) -> str:
    with pytest.raises(ArtifactError) as info:
        fn()
    assert info.value.code is code
    return str(info.value)


def test_the_factory_builds_it_with_its_capabilities(driver):
    assert type(driver) is RawDriver and driver.kind == "raw"
    assert RawDriver.capabilities == {
        Capability.LOAD,
        Capability.OPEN_STREAM,
        Capability.REFUSES_UNSUPPORTED,
    }


def test_load_writes_the_data_verbatim(driver, tmp_path):
    out = tmp_path / "deep" / "out.txt"
    driver.load(raw(), str(out))
    assert out.read_bytes() == DATA.encode("utf-8")
    out.write_bytes(b"a much longer previous content than the data")
    driver.load(raw("short"), str(out))
    assert out.read_bytes() == b"short"
    driver.load(raw(""), str(out))
    assert out.read_bytes() == b""


def test_open_stream_gives_the_same_bytes(driver):
    with driver.open_stream(raw()) as stream:
        assert stream.read() == DATA.encode("utf-8")


def test_saving_is_a_bad_request(driver, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("x")
    message = "Raw output artifacts unsupported"
    assert raises(lambda: driver.save(str(path), raw()), Code.BAD_REQUEST) == message
    assert raises(lambda: driver.save_stream(io.BytesIO(b"x"), raw()), Code.BAD_REQUEST) == message


def test_the_other_operations_give_argos_texts(driver):
    assert raises(lambda: driver.delete(raw()), Code.INTERNAL) == ERR_DELETE_NOT_SUPPORTED
    assert raises(lambda: driver.list_objects(raw()), Code.INTERNAL) == LIST_OBJECTS_NOT_SUPPORTED
    assert (
        raises(lambda: driver.is_directory(raw()), Code.NOT_IMPLEMENTED)
        == "IsDirectory currently unimplemented for raw"
    )


def test_an_artifact_without_raw_data_is_refused(driver, tmp_path):
    other = Artifact.model_validate({"name": "art", "http": {"url": "http://x/y"}})
    with pytest.raises(BadRequest, match="has no raw location"):
        RawDriver(other, MemorySecretSource({}), DriverContext(temp_dir=tmp_path))
    with pytest.raises(BadRequest, match="has no raw location"):
        driver.load(other, str(tmp_path / "o"))
