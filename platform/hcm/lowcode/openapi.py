"""drf-spectacular post-processing: make the schema say what the API really sends."""

# Django and DRF write times of day as "08:30:00" (microseconds when not zero) and read
# "08:30" too. JSON Schema's "time" format is RFC 3339's full-time, which requires a UTC
# offset, so a client or validator that trusts `format: time` rejects every answer we send.
# RFC 3339 calls what we send a partial-time.
TIME_OF_DAY = {
    "type": "string",
    "format": "partial-time",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "example": "08:30:00",
}


def _rewrite_times(node) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            node.update(TIME_OF_DAY)
        for value in node.values():
            _rewrite_times(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite_times(value)


def times_of_day(result, generator, request, public):
    """Every `format: time` becomes a local time of day without an offset, as DRF serialises it."""
    _rewrite_times(result)
    return result
