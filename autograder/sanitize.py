"""Sanitise: every string a submission controls, made safe to write, in one place.

A student decides what their kernel prints, displays and raises, and what their notebook file
holds: lone surrogates (which no UTF-8 write accepts), control characters, megabytes of text,
values of any JSON type where nbformat wants a string. Whatever arrives, what is stored must
write: the executor cleans each output as it collects it, the worker cleans the submission
before it reaches a kernel and the autograded notebook before it is serialised, and the
gradebook writer and the reports clean what they write. The string part is `wire.clip`'s:
lone surrogates and control characters (but newline and tab) become U+FFFD, sizes are bounded.
"""
import json
import re

from . import wire

_SURROGATE = re.compile("[\ud800-\udfff]")
_SGR = re.compile(r"(\x1b\[[0-9;]{0,32}m)")   # a terminal colour, as tracebacks carry them
MAX_DEPTH = 50                                # JSON nesting kept in display data and metadata
MAX_ITEMS = 10_000                            # keys or items kept per JSON container


def unicode(value: str) -> str:
    """`value` with every lone surrogate replaced by U+FFFD: encodable as UTF-8, nothing else changed."""
    return _SURROGATE.sub("\ufffd", value)


def text(value, limit: int = 2000) -> str:
    """A bounded, printable string (`wire.clip`, also past its 1 MiB per call), lone surrogates as U+FFFD."""
    value = value if isinstance(value, str) else str(value)
    if len(value) <= limit and _printable(value):
        return value  # what wire.clip would return, without its per-character pass
    head = unicode(value[:limit])
    step = wire.MAX_STRING
    clean = "".join(wire.clip(head[i:i + step], step) for i in range(0, len(head), step))
    return clean if len(value) <= limit else clean + " ..."


def _printable(value: str) -> bool:
    return value.isprintable() or value.replace("\n", "").replace("\t", "").isprintable()


def with_colours(value, limit: int) -> str:
    """`text`, keeping terminal colour codes (a traceback as Jupyter shows it); other escapes become U+FFFD."""
    value = value if isinstance(value, str) else str(value)
    parts = _SGR.split(value[:limit])
    return "".join(part if i % 2 else text(part, limit) for i, part in enumerate(parts))


def tree(value, limit: int = 2000, depth: int = 0):
    """JSON data with every string (keys too) through `text`; other types as text; nesting and size bounded."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return text(value, limit)
    if depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH} levels]"
    if isinstance(value, dict):
        return {text(k, 200): tree(v, limit, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, (list, tuple)):
        return [tree(v, limit, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return text(repr(value), limit)


def unicode_tree(value):
    """Parsed JSON (a submitted notebook) with `unicode` applied to every string, in place; nothing bounded."""
    if isinstance(value, str):
        return unicode(value)
    stack = [value]
    while stack:  # no recursion: a file may nest as deep as the JSON parser allowed
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, item in items:
            if isinstance(key, str) and _SURROGATE.search(key):
                del node[key]
                key = unicode(key)
            if isinstance(item, str):
                node[key] = unicode(item)
            else:
                node[key] = item
                stack.append(item)
    return value


# -- notebook outputs -----------------------------------------------------------------------------------------

def output(kind: str, content, text_limit: int, data_limit: int = 2_000_000) -> dict | None:
    """One nbformat output from a kernel message's content, every field of the type nbformat wants, or None."""
    if not isinstance(content, dict):
        return None
    if kind == "stream":
        name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": text(content.get("text", ""), text_limit)}
    if kind == "error":
        return {"output_type": "error", "ename": text(content.get("ename", ""), 200),
                "evalue": text(content.get("evalue", ""), 2000),
                "traceback": traceback(content.get("traceback"), text_limit)}
    if kind in ("display_data", "execute_result"):
        return _display(kind, content, data_limit)
    return None


def _display(kind: str, content: dict, limit: int) -> dict | None:
    data = content.get("data")
    if not isinstance(data, dict):
        return None
    metadata = content.get("metadata")
    out = {"output_type": kind, "data": {text(k, 200): mime_value(k, v, limit) for k, v in list(data.items())[:100]},
           "metadata": tree(metadata, limit) if isinstance(metadata, dict) else {}}
    if kind == "execute_result":
        count = content.get("execution_count")
        out["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
    return out


def mime_value(mimetype, value, limit: int):
    """A mimebundle value: JSON data under a JSON mimetype, else one string (nbformat's rule)."""
    if isinstance(mimetype, str) and re.fullmatch(r"application/(.*\+)?json", mimetype):
        return tree(value, limit)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)
    elif not isinstance(value, str):
        value = json.dumps(value, default=repr)
    return text(value, limit)


def traceback(lines, limit: int) -> list[str]:
    """At most 200 lines and `limit` characters in all, colours kept."""
    out, left = [], limit
    for line in list(lines)[:200] if isinstance(lines, list) else []:
        if left <= 0:
            break
        out.append(with_colours(line, left))
        left -= len(out[-1])
    return out
