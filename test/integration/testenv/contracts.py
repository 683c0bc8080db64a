"""Checks the requests our C clients sent to the fake provider against what the providers
themselves define, not against our own reading: HighLevel's OpenAPI documents distilled in
contracts/highlevel.json, and retell-sdk's parameter types (node/check-requests.mjs reads them
from the installed SDK). Each check answers a list of messages, empty when the request conforms."""
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs

INTEGRATION = Path(__file__).resolve().parents[1]
HL_CONTRACT = json.loads((INTEGRATION / "contracts" / "highlevel.json").read_text())
NODE_DIR = INTEGRATION / "node"
NUMBER = re.compile(r"-?\d+(\.\d+)?")

# Retell endpoints callbridge calls: (method, path pattern) -> the retell-sdk type of their
# parameters (None: the SDK sends neither query nor body)
RETELL_ENDPOINTS = {
    ("POST", "/v2/list-agents"): "retell-sdk/resources/agent#AgentListParams",
    ("GET", "/get-agent/{agent_id}"): "retell-sdk/resources/agent#AgentRetrieveParams",
    ("POST", "/v3/list-calls"): "retell-sdk/resources/call#CallListParams",
    ("GET", "/v2/get-call/{call_id}"): None,
}


def template_match(template: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path) is not None


def highlevel_endpoint(req: dict) -> dict | None:
    return next((e for e in HL_CONTRACT["endpoints"]
                 if e["method"] == req["method"] and template_match(e["path"], req["path"])), None)


def check_value(where: str, rule: dict, value: str) -> list[str]:
    errors = []
    if "enum" in rule and value not in rule["enum"]:
        errors.append(f"{where}={value!r} is not one of {rule['enum']}")
    if rule.get("type") == "number":
        if not NUMBER.fullmatch(value):
            errors.append(f"{where}={value!r} is not a number")
        elif ("minimum" in rule and float(value) < rule["minimum"]) or \
                ("maximum" in rule and float(value) > rule["maximum"]):
            errors.append(f"{where}={value!r} is outside [{rule.get('minimum')}, {rule.get('maximum')}]")
    return errors


def check_fields(kind: str, rules: dict, sent: dict[str, list[str]]) -> list[str]:
    errors = []
    for name, values in sent.items():
        if name not in rules:
            errors.append(f"{kind} {name!r} is not defined by the documents")
        elif len(values) != 1:
            errors.append(f"{kind} {name!r} sent {len(values)} times")
        else:
            errors += check_value(f"{kind} {name}", rules[name], values[0])
    errors += [f"required {kind} {name!r} is missing" for name, rule in rules.items()
               if rule["required"] and name not in sent]
    return errors


def check_highlevel_request(req: dict) -> list[str]:
    """A recorded request (fake.requests) against HighLevel's documents."""
    endpoint = highlevel_endpoint(req)
    where = f"{req['method']} {req['path']}"
    if endpoint is None:
        return [f"{where}: no such endpoint in the documents"]
    errors = check_fields("query parameter", endpoint["query"], req["query"])
    headers = req["headers"]
    for name, rule in endpoint["headers"].items():
        value = headers.get(name.lower())
        if value is None:
            if rule["required"]:
                errors.append(f"required header {name} is missing")
        else:
            errors += check_value(f"header {name}", rule, value)
    if endpoint["security"] and not headers.get("authorization", "").startswith("Bearer "):
        errors.append("Authorization: Bearer is missing")
    if "form" in endpoint:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            errors.append("the body is not application/x-www-form-urlencoded")
        form = parse_qs(req["body"].decode(errors="replace"), keep_blank_values=True)
        errors += check_fields("form field", endpoint["form"], form)
    return [f"{where}: {e}" for e in errors]


def retell_endpoint(req: dict):
    """((method, template), SDK type) of a recorded Retell request, or None."""
    return next(((key, sdk_type) for key, sdk_type in RETELL_ENDPOINTS.items()
                 if key[0] == req["method"] and template_match(key[1], req["path"])), None)


def check_retell_requests(reqs: list[dict]) -> list[list[str]]:
    """Recorded Retell requests against retell-sdk's parameter types, one list per request."""
    out, typed = [], []
    for req in reqs:
        found = retell_endpoint(req)
        where = f"{req['method']} {req['path']}"
        errors = [] if req["headers"].get("authorization", "").startswith("Bearer ") \
            else [f"{where}: Authorization: Bearer is missing"]
        query = {k: v[0] for k, v in req["query"].items()}
        if found is None:
            errors.append(f"{where}: not an endpoint callbridge is known to call")
        elif found[1] is None:
            if query or req["body"].strip():
                errors.append(f"{where}: the SDK sends no parameters here")
        else:
            typed.append((len(out), {"type": found[1], "query": query, "body": req["json"]}))
        out.append(errors)
    if typed:
        answer = subprocess.run(["node", str(NODE_DIR / "check-requests.mjs")], cwd=NODE_DIR,
                                input=json.dumps([t for _, t in typed]).encode(), capture_output=True,
                                check=True, timeout=300)
        for (i, _), errors in zip(typed, json.loads(answer.stdout)):
            where = f"{reqs[i]['method']} {reqs[i]['path']}"
            out[i] += [f"{where}: {e}" for e in errors]
    return out
