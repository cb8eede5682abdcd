"""PATCH bodies: JSON merge patch (RFC 7386), a subset of Kubernetes strategic merge patch, and
JSON patch (RFC 6902)."""

from __future__ import annotations

import copy


class PatchError(ValueError):
    pass


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# Lists merged by key in strategic merge patch (patchMergeKey in the Kubernetes types), by path.
# Lists of scalars listed with None merge as sets. Every other list is replaced.
MERGE_KEYS = {
    ("spec", "ports"): "port",                      # Service
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): None,
    ("spec", "finalizers"): None,                   # Namespace
}


def strategic_merge_patch(target, patch, path=()):
    """Kubernetes strategic merge patch for the fields listed in MERGE_KEYS, with the directives
    kubectl apply sends: null deletes, `$patch: replace|delete` on maps and list items,
    `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`, `$retainKeys`."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            out[field] = [x for x in out.get(field) or [] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
            continue
        sub = path + (k,)
        if isinstance(v, list) and sub in MERGE_KEYS:
            out[k] = _merge_list(out.get(k) or [], v, MERGE_KEYS[sub], patch.get(f"$setElementOrder/{k}"), sub)
        elif isinstance(v, dict):
            merged = strategic_merge_patch(out.get(k), v, sub)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        else:
            out[k] = copy.deepcopy(v)
    if retain is not None:
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(current: list, patch: list, key, order, path):
    if key is None:  # set of scalars
        out = list(current)
        for x in patch:
            if x not in out:
                out.append(x)
    else:
        out = [copy.deepcopy(x) for x in current]
        for item in patch:
            if not isinstance(item, dict):
                raise PatchError(f"{'.'.join(path)}: expected objects in a list merged by {key!r}")
            if item.get("$patch") == "replace":
                return [copy.deepcopy({k: v for k, v in i.items() if k != "$patch"}) for i in patch]
            idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == item.get(key)), None)
            if item.get("$patch") == "delete":
                if idx is not None:
                    out.pop(idx)
                continue
            if idx is None:
                out.append(strategic_merge_patch({}, item, path))
            else:
                out[idx] = strategic_merge_patch(out[idx], item, path)
    if order:
        ident = (lambda x: x) if key is None else (lambda x: x.get(key) if isinstance(x, dict) else x)
        wanted = [ident(x) for x in order]
        ranked = sorted(out, key=lambda x: wanted.index(ident(x)) if ident(x) in wanted else len(wanted))
        out = ranked
    return out


def _pointer(doc, path: str):
    if path == "":
        return None, None
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    parent = doc
    for p in parts[:-1]:
        try:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise PatchError(f"path {path!r} does not exist") from e
    return parent, parts[-1]


def json_patch(doc, ops):
    """RFC 6902: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind in ("move", "copy"):
            src_parent, src_key = _pointer(doc, op.get("from", ""))
            value = _get(src_parent, src_key)
            if kind == "move":
                _remove(src_parent, src_key)
            doc = _add(doc, path, copy.deepcopy(value))
        elif kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            parent, key = _pointer(doc, path)
            _remove(parent, key)
        elif kind == "replace":
            parent, key = _pointer(doc, path)
            _get(parent, key)
            if isinstance(parent, list):
                parent[int(key)] = copy.deepcopy(op.get("value"))
            else:
                parent[key] = copy.deepcopy(op.get("value"))
        elif kind == "test":
            parent, key = _pointer(doc, path)
            if _get(parent, key) != op.get("value"):
                raise PatchError(f"test failed at {path!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


def _get(parent, key):
    try:
        return parent[int(key)] if isinstance(parent, list) else parent[key]
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise PatchError(f"path element {key!r} does not exist") from e


def _remove(parent, key):
    _get(parent, key)
    if isinstance(parent, list):
        parent.pop(int(key))
    else:
        del parent[key]


def _add(doc, path, value):
    parent, key = _pointer(doc, path)
    if parent is None and key is None:
        return value
    if isinstance(parent, list):
        if key == "-":
            parent.append(value)
        else:
            parent.insert(int(key), value)
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise PatchError(f"cannot add at {path!r}")
    return doc
