"""call-stats: the dashboard's figures (totals, by platform, by day) against a reference
computed here from the 10,000 seeded calls, for admins, the service role and clients."""
import json
from collections import Counter, defaultdict
from datetime import timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from testenv.seeded_calls import LABELS, REAL_NAMES, instant

def figures(rows):
    """What call-stats answers for a set of calls, computed independently of the SQL."""
    q2, q4 = Decimal("0.01"), Decimal("0.0001")
    seconds = [r["duration_seconds"] for r in rows if r["duration_seconds"] is not None]
    judged = [r["call_successful"] for r in rows if r["call_successful"] is not None]
    moods = Counter((r["sentiment"] or "").lower() for r in rows)
    known = {k: moods[k] for k in ("positive", "negative", "neutral")}
    return {
        "calls": len(rows),
        "minutes": str((Decimal(sum(seconds)) / 60).quantize(q2, ROUND_HALF_UP)),
        "cost": str(sum((r["cost"] for r in rows if r["cost"] is not None), Decimal(0))
                    .quantize(q4, ROUND_HALF_UP)),
        "average_duration_seconds":
            (Decimal(sum(seconds)) / len(seconds)).quantize(q2, ROUND_HALF_UP) if seconds else None,
        "success_rate": (Decimal(sum(judged)) / len(judged)).quantize(q4, ROUND_HALF_UP) if judged else None,
        "sentiment": dict(known, unknown=len(rows) - sum(known.values())),
    }


def reference_stats(rows, names):
    by_platform, by_day = defaultdict(list), defaultdict(list)
    for r in rows:
        by_platform[names[r["source_platform"]]].append(r)
        by_day[r["started_at"].astimezone(timezone.utc).date().isoformat()].append(r)
    return {"totals": figures(rows),
            "by_platform": {k: figures(v) for k, v in by_platform.items()},
            "by_day": [dict(figures(by_day[d]), date=d) for d in sorted(by_day)]}


STATS_CASES = [
    ("admin", {}, None),
    ("admin", {"user_id": "a"}, None),
    ("service", {"source_platform": "retell"}, lambda r: r["source_platform"] == "retell"),
    ("a", {}, None),
    ("b", {}, None),
    ("a", {"from": "2024-02-24T00:00:00Z", "to": "2024-02-27T12:00:00Z", "source_platform": "highlevel"},
     lambda r: instant("2024-02-24T00:00:00Z") <= r["started_at"] < instant("2024-02-27T12:00:00Z")
     and r["source_platform"] == "highlevel"),
]


@pytest.mark.parametrize("who,params,keep", STATS_CASES,
                         ids=[f"{c[0]}-{json.dumps(c[1])}" for c in STATS_CASES])
def test_stats_equal_a_reference_computed_from_the_rows(seeded_calls, stack, http, who, params, keep):
    params = dict(params)
    if params.get("user_id") == "a":
        params["user_id"] = seeded_calls.a
    if who == "service":
        headers, scope = stack.service_headers(), None
    elif who == "admin":
        headers, scope = stack.auth(seeded_calls.admin), params.get("user_id")
    else:
        headers, scope = stack.auth(getattr(seeded_calls, who)), getattr(seeded_calls, who)
    names = LABELS if who in ("a", "b") else REAL_NAMES
    rows = [r for r in seeded_calls.visible(scope) if keep is None or keep(r)]
    r = http.get(stack.url("call-stats"), params=params, headers=headers)
    assert r.status_code == 200, r.text
    got = r.json(parse_float=Decimal)
    assert got == reference_stats(rows, names)
    assert got["totals"]["calls"] > 0 and len(got["by_day"]) > 1
