"""Round trips: what is saved is what is loaded, byte for byte (spec 1.1, 1.3)."""

from __future__ import annotations

import pytest

from conformance.cases import requires, verifies


@verifies("save")
def test_save_then_server_has_the_bytes(store):
    """save uploads a file to exactly the artifact's key (spec 1.1 Save)."""
    path = store.local_file("in.bin", b"hello \x00\xff")
    store.driver.save(str(path), store.artifact("dir/in.bin"))
    assert store.objects.get("dir/in.bin") == b"hello \x00\xff"


@verifies("load")
@requires("save")
def test_load_returns_saved_bytes(store):
    """load materialises a file artifact at the given path (spec 1.1 Load)."""
    store.objects.put("file.bin", b"payload")
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact("file.bin"), str(out))
    assert out.read_bytes() == b"payload"


@verifies("load")
@pytest.mark.parametrize("key", ["with space/ä ü.txt", "../dot-dot/kept.txt"])
def test_load_keeps_unusual_keys_verbatim(store, key):
    """Keys with spaces, unicode and `../` are stored and read verbatim (spec 2.1 key)."""
    store.objects.put(key, b"x")
    out = store.tmp / "out.bin"
    store.driver.load(store.artifact(key), str(out))
    assert out.read_bytes() == b"x"
