"""drivers.core.secrets: redaction everywhere, sources, selectors and the redact helper."""

from __future__ import annotations

import base64
import copy
import logging
import pickle
import urllib.parse
from pathlib import Path

import pytest
from pydantic import BaseModel

from drivers.core.errors import BadRequest
from drivers.core.model import SecretKeySelector
from drivers.core.secrets import (
    REDACTED,
    REVEAL_SECRETS,
    DirectorySecretSource,
    MemorySecretSource,
    SecretSource,
    SecretValue,
    handed_out,
    read_selector,
    redact,
)

VALUE = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"


def test_secret_value_never_shows_itself() -> None:
    s = SecretValue(VALUE)
    shown = [repr(s), str(s), f"{s}", f"{s!s}", f"{s!r}", "%s" % s, f"{s}", f"{s:>12}"]  # noqa: UP031
    assert all(VALUE not in text for text in shown)
    assert str(s) == REDACTED
    assert f"{s:>12}" == "  <redacted>"
    assert repr(s) == "SecretValue('<redacted>')"
    assert VALUE not in repr([s, {"k": s}])


def test_secret_value_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("key is %s / %r", SecretValue(VALUE), SecretValue(VALUE))
    assert VALUE not in caplog.text
    assert REDACTED in caplog.text


def test_reveal_and_bytes() -> None:
    s = SecretValue(VALUE)
    assert s.reveal() == VALUE
    assert s.reveal_bytes() == VALUE.encode()
    binary = SecretValue(b"\xff\x00abc")
    assert binary.reveal_bytes() == b"\xff\x00abc"
    assert binary.reveal().encode("utf-8", "surrogateescape") == b"\xff\x00abc"
    assert SecretValue(s) == s


def test_equality_hash_len_bool() -> None:
    assert SecretValue("a") == SecretValue(b"a")
    assert SecretValue("a") == "a"
    assert SecretValue("a") == b"a"
    assert SecretValue("a") != SecretValue("b")
    assert SecretValue("a") != 1
    assert hash(SecretValue("a")) == hash(SecretValue(b"a"))
    assert len(SecretValue("abc")) == 3
    assert not SecretValue("")
    assert SecretValue("x")


def test_strip_returns_a_trimmed_secret() -> None:
    s = SecretValue("AKIAEXAMPLE\n")
    assert s.strip() == "AKIAEXAMPLE"
    assert s == "AKIAEXAMPLE\n"


def test_rejects_other_types_and_mutation() -> None:
    with pytest.raises(TypeError):
        SecretValue(42)  # type: ignore[arg-type]
    s = SecretValue("x")
    with pytest.raises(AttributeError):
        s._raw = b"y"  # type: ignore[misc]


def test_never_pickled_but_copyable() -> None:
    s = SecretValue(VALUE)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


class Holder(BaseModel):
    token: SecretValue


def test_pydantic_serialises_redacted() -> None:
    h = Holder(token=VALUE)
    assert isinstance(h.token, SecretValue)
    assert h.token.reveal() == VALUE
    assert h.model_dump() == {"token": REDACTED}
    assert VALUE not in h.model_dump_json()
    assert VALUE not in repr(h)
    assert Holder(token=b"x").token == "x"
    assert Holder(token=SecretValue("y")).token == "y"
    with pytest.raises(ValueError, match="string secret"):
        Holder(token=3)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ sources


@pytest.fixture
def secrets_root(tmp_path: Path) -> Path:
    (tmp_path / "my-s3").mkdir()
    (tmp_path / "my-s3" / "accessKey").write_text("AKIA\n")
    (tmp_path / "my-s3" / "secretKey").write_bytes(b"s3cr3t")
    return tmp_path


def test_directory_source_reads_verbatim(secrets_root: Path) -> None:
    source = DirectorySecretSource(secrets_root)
    assert isinstance(source, SecretSource)
    assert source.get("my-s3", "accessKey") == "AKIA\n"
    assert source.get("my-s3", "secretKey").reveal() == "s3cr3t"
    assert str(secrets_root) in repr(source)


def test_directory_source_missing_key_names_both(secrets_root: Path) -> None:
    with pytest.raises(BadRequest) as info:
        DirectorySecretSource(secrets_root).get("my-s3", "sessionToken")
    message = str(info.value)
    assert message.startswith("secret 'my-s3' has no key 'sessionToken' (looked in ")
    assert str(secrets_root / "my-s3" / "sessionToken") in message


def test_directory_source_missing_secret_names_both(secrets_root: Path) -> None:
    with pytest.raises(BadRequest, match=r"secret 'other' not found.*key 'secretKey'"):
        DirectorySecretSource(secrets_root).get("other", "secretKey")


@pytest.mark.parametrize(("name", "key"), [("..", "x"), ("my-s3", ".."), ("a/b", "k"), ("s", "")])
def test_directory_source_refuses_paths_outside_the_root(
    secrets_root: Path, name: str, key: str
) -> None:
    with pytest.raises(BadRequest, match="not a valid"):
        DirectorySecretSource(secrets_root).get(name, key)


def test_directory_source_unreadable_key(secrets_root: Path) -> None:
    (secrets_root / "my-s3" / "adir").mkdir()
    with pytest.raises(BadRequest, match="cannot be read"):
        DirectorySecretSource(secrets_root).get("my-s3", "adir")


def test_memory_source() -> None:
    source = MemorySecretSource({"creds": {"a": "one", "b": b"2"}})
    assert isinstance(source, SecretSource)
    assert source.get("creds", "b") == "2"
    assert sorted(v.reveal() for v in source.values()) == ["2", "one"]
    with pytest.raises(BadRequest, match=r"secret 'creds' has no key 'c' .*it has a, b"):
        source.get("creds", "c")
    with pytest.raises(BadRequest, match=r"secret 'nope' not found.*key 'c'"):
        source.get("nope", "c")
    assert "one" not in repr(source)


def test_read_selector() -> None:
    source = MemorySecretSource({"creds": {"a": "1"}})
    assert read_selector(source, None, field="s3.accessKeySecret") is None
    assert read_selector(source, SecretKeySelector(key="a"), field="x") is None
    assert read_selector(source, SecretKeySelector(name="creds", key="a"), field="x") == "1"
    optional = SecretKeySelector(name="gone", key="a", optional=True)
    assert read_selector(source, optional, field="gcs.serviceAccountKeySecret") is None
    with pytest.raises(BadRequest, match=r"^s3\.secretKeySecret: secret 'creds' has no key 'b'"):
        read_selector(source, SecretKeySelector(name="creds", key="b"), field="s3.secretKeySecret")


# ------------------------------------------------------------------------------- redact


def test_redact_raw_base64_and_url_encoded() -> None:
    raw = VALUE.encode()
    text = " | ".join(
        [
            f"raw={VALUE}",
            f"b64={base64.b64encode(raw).decode()}",
            f"b64url={base64.urlsafe_b64encode(raw).decode().rstrip('=')}",
            f"url={urllib.parse.quote(VALUE, safe='')}",
            f"plus={urllib.parse.quote_plus('pa ss/word')}",
        ]
    )
    cleaned = redact(text, [SecretValue(VALUE), "pa ss/word"])
    assert VALUE not in cleaned
    assert base64.b64encode(raw).decode() not in cleaned
    assert urllib.parse.quote(VALUE, safe="") not in cleaned
    assert "pa+ss%2Fword" not in cleaned
    assert cleaned.count(REDACTED) == 5


def test_redact_longest_first_and_no_rematch() -> None:
    assert redact("token=abcdef", ["abc", "abcdef"]) == f"token={REDACTED}"
    # "red" occurs inside the replacement text; it must not be replaced again.
    assert redact("red", ["red"]) == REDACTED


def test_redact_ignores_empty_and_leaves_other_text() -> None:
    assert redact("nothing to see", ["", "  ", SecretValue("")]) == "nothing to see"
    assert redact("nothing to see", ["s3cr3t"]) == "nothing to see"


def test_redact_trailing_newline_secret() -> None:
    assert redact("key AKIA in log", [SecretValue("AKIA\n")]) == f"key {REDACTED} in log"


def test_pydantic_reveals_only_when_the_context_asks() -> None:
    h = Holder(token=VALUE)
    assert h.model_dump(context={REVEAL_SECRETS: True}) == {"token": VALUE}
    assert VALUE in h.model_dump_json(context={REVEAL_SECRETS: True})
    assert h.model_dump(context={REVEAL_SECRETS: "yes"}) == {"token": REDACTED}
    assert h.model_dump(context={"other": True}) == {"token": REDACTED}


def test_sources_record_what_they_hand_out(tmp_path: Path) -> None:
    (tmp_path / "dir-secret").mkdir()
    (tmp_path / "dir-secret" / "k").write_text("from-a-directory-" + VALUE)
    memory = MemorySecretSource({"s": {"k": "from-memory-" + VALUE, "unread": "never-" + VALUE}})
    memory.get("s", "k")
    DirectorySecretSource(tmp_path).get("dir-secret", "k")
    given = [value.reveal() for value in handed_out()]
    assert given[-2:] == ["from-memory-" + VALUE, "from-a-directory-" + VALUE]
    assert "never-" + VALUE not in given


def test_redact_leaves_text_without_secrets_as_it_is() -> None:
    text = "no secret here, only <redacted> and ..."
    assert redact(text, [VALUE, "other"]) is text
