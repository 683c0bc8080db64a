"""Answers checked against docs/openapi.yaml.

    from testenv.openapi import assert_matches
    r = http.get(stack.url("list-calls"), headers=stack.auth(user))
    body = assert_matches(r, "/list-calls", "get")

assert_matches fails unless the answer's status is documented for that path and method, its
Content-Type is one the status documents, the headers it marks required are there, and a JSON
body validates against the documented schema (with `$ref`s resolved in the same document and
the formats uuid, date and date-time checked). It returns the parsed JSON (or the raw bytes).

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable: true` becomes "or null" here, and the
rest is validated as JSON Schema draft 4 (the draft OpenAPI 3.0's schema objects build on).
Uses Debian's python3-yaml and python3-jsonschema.
"""
import copy
import datetime
import functools
import re
from pathlib import Path

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
PREFIX = "/functions/v1"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


# ---------------------------------------------------------------- the document

def _schema(schema):
    """An OpenAPI 3.0 schema object as JSON Schema: `nullable: true` admits null."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _schema(sub) for name, sub in value.items()}
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = _schema(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_schema(sub) for sub in value]
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def _convert(node, in_schemas=False):
    """Every schema object of the document converted; everything else as it is."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if in_schemas:
                out[key] = _schema(value)
            elif key == "schema":
                out[key] = _schema(value)
            else:
                out[key] = _convert(value, in_schemas=key == "schemas")
        return out
    if isinstance(node, list):
        return [_convert(item) for item in node]
    return node


@functools.lru_cache(maxsize=None)
def spec():
    """docs/openapi.yaml as loaded (do not modify)."""
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.lru_cache(maxsize=None)
def _json_schema_document():
    return _convert(copy.deepcopy(spec()))


def _format_checker():
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        if not DATE_TIME.match(value):
            return False
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return True
    return checker


def resolve(node):
    """Follows a `$ref` (local, "#/...") to what it names, repeatedly."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are supported: {ref}"
        node = spec()
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
        assert seen < 32, f"reference loop at {ref}"
    return node


def operations():
    """Every documented (path, method), method in lower case, in document order."""
    return [(path, method) for path, item in spec()["paths"].items()
            for method in item if method in METHODS]


def functions():
    """The function names the document covers (first segment of each path)."""
    return sorted({path.strip("/").split("/")[0] for path in spec()["paths"]})


def template_for(path):
    """The documented path for a template or a concrete path (with or without /functions/v1,
    with or without a query): "/retell-webhook/6f1c..." -> "/retell-webhook/{user_id}"."""
    path = path.split("?", 1)[0]
    if path.startswith(PREFIX + "/"):
        path = path[len(PREFIX):]
    paths = spec()["paths"]
    if path in paths:
        return path
    for template in paths:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not a documented path")


def operation(path, method):
    template = template_for(path)
    item = spec()["paths"][template]
    method = method.lower()
    assert method in item, f"{method.upper()} {template} is not documented"
    return item[method]


def response_spec(path, method, status):
    """The documented response object for a status (exact, then 2XX-style, then default)."""
    responses = operation(path, method)["responses"]
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return resolve(responses[key])
    raise AssertionError(f"{method.upper()} {template_for(path)} does not document status {status}"
                         f" (documented: {', '.join(responses)})")


def _media_matches(documented, actual):
    if documented == actual:
        return True
    kind, _, sub = documented.partition("/")
    return sub == "*" and actual.startswith(kind + "/") or documented == "*/*"


def validate(instance, schema, what="answer"):
    """Validates instance against an OpenAPI schema object of the document (may be a $ref)."""
    converted = _schema(copy.deepcopy(schema))
    resolver = jsonschema.RefResolver.from_schema(_json_schema_document())
    validator = jsonschema.Draft4Validator(converted, resolver=resolver,
                                           format_checker=_format_checker())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors[:5]:
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            lines.append(f"  at {where}: {error.message}")
            for sub in sorted(error.context or [], key=lambda e: len(e.absolute_path))[:6]:
                sub_where = "/".join(str(p) for p in sub.absolute_path) or "(top)"
                lines.append(f"      (branch {list(sub.schema_path)[:1]}) at {sub_where}: {sub.message}")
        raise AssertionError(f"{what} does not match its schema:\n" + "\n".join(lines) +
                             f"\n  instance: {str(instance)[:1500]}")


def assert_error_shape(response):
    """An error answer in the shared Error shape, whatever the path (e.g. nginx's 404 or 405)."""
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    validate(response.json(), {"$ref": "#/components/schemas/Error"}, f"{response.status_code} error")
    return response.json()


# ---------------------------------------------------------------- the check

def assert_matches(response, path, method=None):
    """Checks a `requests` response against the document; returns its JSON body, or its bytes
    when the documented media type is not JSON (audio), or None when it has no content."""
    method = (method or response.request.method).lower()
    template = template_for(path)
    status = response.status_code
    documented = response_spec(template, method, status)
    what = f"{method.upper()} {template} -> {status}"

    for name, header in (documented.get("headers") or {}).items():
        header = resolve(header)
        if header.get("required"):
            assert name.lower() in {h.lower() for h in response.headers}, \
                f"{what}: required header {name} missing"

    content = documented.get("content")
    if not content:
        assert not response.content, f"{what}: documented without a body, got {response.content[:200]!r}"
        return None
    actual = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    media = next((m for m in content if _media_matches(m.lower(), actual)), None)
    assert media is not None, f"{what}: Content-Type {actual!r} is not documented ({', '.join(content)})"
    if not (media == "application/json" or media.endswith("+json")):
        return response.content
    try:
        body = response.json()
    except ValueError as err:
        raise AssertionError(f"{what}: body is not JSON: {response.text[:300]!r}") from err
    schema = content[media].get("schema")
    if schema is not None:
        validate(body, schema, what)
    return body
