"""The `<external_id:…>` URL converter (docs/api.md#external-ids).

New external ids are limited to [A-Za-z0-9._:-] (core.validation), but rows written before that rule may hold
any text, a "/" included, which `<str:>` cannot reverse (every page linking to such a customer was a 500).
Rather than rewrite ids that the customer's own systems own and push again, this converter escapes, in the
URL only, every character outside the charset as "~XX" per UTF-8 byte ("~" itself is outside it, so the
escape is unambiguous and every new id's URL is the id itself). An id made only of dots is escaped too: "."
and ".." are path segments that browsers collapse.
"""

from __future__ import annotations

import re

from django.urls import register_converter

from .validation import EXTERNAL_ID_RE

_ESCAPED = re.compile(r"(?:~[0-9A-F]{2})+")


class ExternalIdConverter:
    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return _ESCAPED.sub(lambda m: _unescape(m.group()), value)

    def to_url(self, value: str) -> str:
        value = str(value)
        if EXTERNAL_ID_RE.fullmatch(value) and set(value) != {"."}:
            return value
        return "".join(
            ch if EXTERNAL_ID_RE.fullmatch(ch) and ch != "." else "".join(f"~{b:02X}" for b in ch.encode())
            for ch in value
        )


def _unescape(text: str) -> str:
    return bytes(int(text[i + 1 : i + 3], 16) for i in range(0, len(text), 3)).decode("utf-8", "replace")


register_converter(ExternalIdConverter, "external_id")
