"""JSON objects in a model's reply, as local models write them.

Models asked for "one JSON object" often wrap it in a code fence, put prose before or after
it, or write several objects (a draft, then the answer). :func:`json_objects` finds every
top-level object in order with the standard decoder (so nested braces and braces inside
strings are read correctly); :func:`first_json_object` is the first of them. The judge and
``kotae eval synth`` both read their model's replies with these.

>>> first_json_object('Sure! ```json\\n{"a": {"b": 1}}\\n``` Anything else?')
{'a': {'b': 1}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_FENCE = re.compile(r"```[A-Za-z0-9_-]*")
_DECODER = json.JSONDecoder()


def json_objects(reply: str) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``reply`` that parses, in order; objects nested in a parsed one
    are part of it, not yielded again. Code fences are ignored, text that is not JSON is
    skipped."""
    text = _FENCE.sub("", reply)
    start = text.find("{")
    while start != -1:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        yield value  # raw_decode from "{" gives a dict or fails
        start = text.find("{", end)


def first_json_object(reply: str) -> dict[str, Any] | None:
    """The first JSON object in ``reply`` that parses, or ``None``."""
    return next(json_objects(reply), None)
