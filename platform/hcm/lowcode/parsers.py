"""The API's JSON parser: a body is a JSON object nested no deeper than MAX_DEPTH.

Python's json module recurses once per level, so `[[[[...` 100,000 deep ends in a RecursionError
(a 500) and anything merely deep costs stack in every serializer after it. The nesting is counted
on the raw bytes first, skipping strings, and a deeper body is refused before it is parsed.
Every endpoint reads an object (or nothing), so any other top-level value is refused as well.
"""

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

MAX_DEPTH = 32  # the deepest body of the API is 3 levels (checkout: {"items": [{...}]})

# A whole string (its escapes included) or one bracket: strings are consumed whole, so their
# brackets never count. UTF-8 never puts `"` or `\` inside a multi-byte character.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING = frozenset(b"[{")


def nesting_depth(raw: bytes, *, limit: int) -> int:
    """How deep `raw` nests arrays and objects, counting no further than `limit` + 1."""
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
            if depth > limit:
                break
        else:
            depth -= 1
    return deepest


class JSONObjectParser(JSONParser):
    """JSON bodies of at most MAX_DEPTH levels whose top level is an object."""

    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: errors imports rest_framework.views, which loads the parser classes.
        from hcm.lowcode.errors import ApiError

        raw = stream.read()
        if nesting_depth(raw, limit=self.max_depth) > self.max_depth:
            raise ApiError(_("The request body is nested too deeply."), code="malformed_request")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = raw.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except (ValueError, LookupError):
            raise ParseError() from None
        if not isinstance(data, dict):
            raise ApiError(_("The request body must be a JSON object."), code="malformed_request")
        return data
