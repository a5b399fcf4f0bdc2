"""Orderhub-Signature: the hub's signer, and the verification snippets of docs/webhooks.md run
against it (the Python one in process, the JavaScript one with node when it is installed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.webhook_signature import signature, verify

DOC = Path(__file__).parents[3] / "docs" / "webhooks.md"
SECRET = "0f" * 32
BODY = json.dumps({"event_id": "e1", "event_type": "OrderBooked", "note": "naïve"}).encode()


def snippet(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    assert len(found) == 1, f"one {language} snippet in docs/webhooks.md"
    return str(found[0])


def test_the_signature_is_the_hmac_of_the_timestamp_dot_body() -> None:
    header = signature(SECRET, 1_700_000_000, b"{}")
    digest = hmac.new(SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={digest}"


def test_a_tampered_body_an_old_timestamp_or_another_secret_do_not_verify() -> None:
    now = int(time.time())
    header = signature(SECRET, now, BODY)
    assert verify(SECRET, header, BODY, now)
    assert not verify(SECRET, header, BODY + b" ", now)
    assert not verify("another", header, BODY, now)
    assert not verify(SECRET, header, BODY, now + 301)
    assert not verify(SECRET, "v1=abc", BODY, now)


def test_the_python_snippet_of_the_docs_verifies_what_the_hub_signs() -> None:
    scope: dict[str, object] = {}
    exec(snippet("python"), scope)
    check = scope["verify"]
    assert callable(check)
    verify_doc: Callable[[str, str, bytes], bool] = check  # type: ignore[assignment]
    header = signature(SECRET, int(time.time()), BODY)
    assert verify_doc(SECRET, header, BODY)
    assert not verify_doc(SECRET, header, BODY.replace(b"e1", b"e2"))
    assert not verify_doc(SECRET, signature(SECRET, int(time.time()) - 3600, BODY), BODY)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_snippet_of_the_docs_verifies_what_the_hub_signs(tmp_path: Path) -> None:
    now = int(time.time())
    cases = {
        "good": (signature(SECRET, now, BODY), BODY),
        "tampered": (signature(SECRET, now, BODY), BODY + b"x"),
        "old": (signature(SECRET, now - 3600, BODY), BODY),
    }
    script = tmp_path / "verify.js"
    script.write_text(
        snippet("javascript")
        + "\nconst cases = "
        + json.dumps({k: [h, b.decode()] for k, (h, b) in cases.items()})
        + ";\nconst out = {};\nfor (const [k, [h, b]] of Object.entries(cases)) "
        + f"out[k] = verify({json.dumps(SECRET)}, h, Buffer.from(b, 'utf8'));\n"
        + "console.log(JSON.stringify(out));\n"
    )
    done = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    assert json.loads(done.stdout) == {"good": True, "tampered": False, "old": False}
