"""Label selectors (=, ==, !=, in, notin, exists, !key) and field selectors (metadata.name,
metadata.namespace with =, ==, !=), parsed as the real API server parses them."""

from __future__ import annotations

import re


class SelectorError(ValueError):
    pass


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def _split_top(text: str) -> list[str]:
    """Splits on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_labels(text: str | None):
    """Returns a predicate over a labels dict."""
    reqs = []
    for part in _split_top(text or ""):
        m = re.fullmatch(rf"({_KEY})\s+(?:in|notin)\s+\((.*)\)", part)
        if m:
            values = {v.strip() for v in m.group(m.lastindex).split(",") if v.strip()}
            for v in values:
                if not re.fullmatch(_VALUE, v):
                    raise SelectorError(f"invalid label value: {v!r}")
            op = part[len(m.group(1)):].split("(")[0].strip()
            reqs.append((m.group(1), op, values))
            continue
        m = re.fullmatch(rf"({_KEY})\s*(==|!=|=)\s*(.*)", part)
        if m:
            value = m.group(len(m.groups())).strip()
            if not re.fullmatch(_VALUE, value):
                raise SelectorError(f"invalid label value: {value!r}")
            op = re.match(rf"{_KEY}\s*(==|!=|=)", part).group(2)
            reqs.append((m.group(1), "!=" if op == "!=" else "=", value))
            continue
        m = re.fullmatch(rf"(!?)\s*({_KEY})", part)
        if m:
            reqs.append((m.group(2), "!" if m.group(1) else "exists", None))
            continue
        raise SelectorError(f"unable to parse requirement: {part!r}")

    def match(labels: dict | None) -> bool:
        labels = labels or {}
        for key, op, value in reqs:
            have = key in labels
            v = labels.get(key)
            if op == "=" and (not have or v != value):
                return False
            if op == "!=" and have and v == value:
                return False
            if op == "in" and (not have or v not in value):
                return False
            if op == "notin" and have and v in value:
                return False
            if op == "exists" and not have:
                return False
            if op == "!" and have:
                return False
        return True

    return match


FIELDS = {"metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
          "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", "")}


def parse_fields(text: str | None):
    reqs = []
    for part in _split_top(text or ""):
        m = re.fullmatch(r"([A-Za-z.]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise SelectorError(f"invalid field selector: {part!r}")
        if m.group(1) not in FIELDS:
            raise SelectorError(f'field label not supported: {m.group(1)}')
        reqs.append((FIELDS[m.group(1)], m.group(2) == "!=", m.group(3)))

    def match(obj: dict) -> bool:
        return all((get(obj) != value) if negate else (get(obj) == value) for get, negate, value in reqs)

    return match
