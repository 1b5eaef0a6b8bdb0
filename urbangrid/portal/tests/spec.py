"""Reading Open311 answers the way a client does: XML by the spec's element names, JSON as
bare arrays; both turned into the same Python lists/dicts so every test runs on both formats."""

from __future__ import annotations

import json
import re
from datetime import datetime
from xml.etree import ElementTree as ET

LIST_TAGS = {
    "services",
    "service_requests",
    "errors",
    "attributes",
    "values",
    "endpoints",
    "formats",
    "service_request_updates",
}
# The spec's W3C datetime: must carry a zone (Z or ±HH:MM).
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _el(node):
    children = list(node)
    if node.tag in LIST_TAGS:
        return [_el(c) for c in children]
    if not children:
        return node.text or ""
    return {c.tag: _el(c) for c in children}


def parse(response, fmt: str):
    """Body of an Open311 response as Python data; checks the content type and encoding."""
    ctype = response["Content-Type"]
    text = response.content.decode("utf-8")
    if fmt == "json":
        assert ctype.startswith("application/json"), ctype
        return json.loads(text)
    assert ctype.startswith("text/xml"), ctype
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(text.encode())
    return root.tag, _el(root)


def body(response, fmt: str):
    """The payload without the XML root name."""
    data = parse(response, fmt)
    return data[1] if fmt == "xml" else data


def as_bool(value) -> bool:
    return value is True or value == "true"


def is_w3c(value: str) -> bool:
    if not W3C.match(value or ""):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def errors(response, fmt: str) -> list[dict]:
    data = parse(response, fmt)
    if fmt == "xml":
        assert data[0] == "errors"
        data = data[1]
    assert isinstance(data, list) and data, data
    for e in data:
        assert set(e) == {"code", "description"}
        assert int(e["code"]) == response.status_code
        assert e["description"]
    return data
