#!/usr/bin/env python3
"""Writes highlevel.json, our distilled contract of the HighLevel endpoints we call, from a
checkout of github:GoHighLevel/highlevel-api-docs (its files are not kept in this repository).

usage: distill_highlevel.py DOCS_GIT_DIR [COMMIT] > highlevel.json

For each endpoint: method, path, path parameters, query parameters (type, required, enum,
minimum/maximum), required headers with their allowed values (Version), the form fields of the
token endpoint, and the documented statuses. Refresh it when HighLevel changes the documents and
review the diff: the fake provider and test_contract_highlevel.py read this file.
"""

import json
import subprocess
import sys
from datetime import datetime, timezone

REPOSITORY = "github:GoHighLevel/highlevel-api-docs"
# (document, method, path): every HighLevel endpoint callbridge calls
ENDPOINTS = (
    ("apps/oauth.json", "post", "/oauth/token"),
    ("apps/voice-ai.json", "get", "/voice-ai/agents"),
    ("apps/voice-ai.json", "get", "/voice-ai/agents/{agentId}"),
    ("apps/voice-ai.json", "get", "/voice-ai/dashboard/call-logs"),
    ("apps/voice-ai.json", "get", "/voice-ai/dashboard/call-logs/{callId}"),
    ("apps/conversations.json", "get",
     "/conversations/messages/{messageId}/locations/{locationId}/recording"),
)
SCHEMA_KEYS = ("type", "enum", "minimum", "maximum", "default")


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def schema_of(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def parameter(doc: dict, prm: dict) -> dict:
    schema = schema_of(doc, prm.get("schema", {}))
    out = {"required": bool(prm.get("required"))}
    out.update({k: schema[k] for k in SCHEMA_KEYS if k in schema})
    if prm.get("description"):
        out["description"] = prm["description"]
    return out


def form_fields(doc: dict, op: dict) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    if "application/x-www-form-urlencoded" not in content:
        return None
    schema = schema_of(doc, content["application/x-www-form-urlencoded"]["schema"])
    required = set(schema.get("required", []))
    return {name: {"required": name in required, **{k: v for k, v in prop.items() if k in SCHEMA_KEYS}}
            for name, prop in schema["properties"].items()}


def endpoint(doc: dict, file: str, method: str, path: str) -> dict:
    op = doc["paths"][path][method]
    groups = {"path": {}, "query": {}, "header": {}}
    for prm in op.get("parameters", []):
        groups[prm["in"]][prm["name"]] = parameter(doc, prm)
    out = {"file": file, "operationId": op.get("operationId"), "method": method.upper(), "path": path,
           "path_params": groups["path"], "query": groups["query"], "headers": groups["header"],
           "security": op.get("security"), "statuses": sorted(op.get("responses", {}))}
    form = form_fields(doc, op)
    if form is not None:
        out["form"] = form
    return out


def main(repo: str, commit: str = "HEAD") -> None:
    sha = git(repo, "rev-parse", commit).strip()
    committed = git(repo, "show", "-s", "--format=%cI", sha).strip()
    docs = {}
    for file, _, _ in ENDPOINTS:
        docs.setdefault(file, json.loads(git(repo, "show", f"{sha}:{file}")))
    auth_md = git(repo, "show", f"{sha}:docs/oauth/Authorization.md")
    urls = sorted({line.strip().rstrip("?") for line in auth_md.splitlines() if "/oauth/chooselocation" in line})
    contract = {
        "source": {"repository": REPOSITORY, "commit": sha, "committed": committed,
                   "files": sorted({f for f, _, _ in ENDPOINTS} | {"docs/oauth/Authorization.md"}),
                   "distilled": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                   "by": "test/integration/contracts/distill_highlevel.py"},
        "authorize_urls": urls,
        "rate_limit_headers": [line.split("'")[1] for line in auth_md.splitlines()
                               if line.startswith("'X-RateLimit-")],
        "endpoints": [endpoint(docs[f], f, m, p) for f, m, p in ENDPOINTS],
    }
    json.dump(contract, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
