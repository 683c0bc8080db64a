// retell-webhook.ts: the bench peer. The plan's retell-webhook written as a Supabase Edge Function
// would be (TypeScript on Deno): retell-sdk's Retell.verify over the raw body, postgres.js with a
// pool of 16, the agent -> user_agents -> api_keys lookup, one upsert of the plan's columns.
// It runs on its own database (the plan's schema: migrations 0001 + 0002) in the bench's cluster.
// usage: deno run -A retell-webhook.ts   (PEER_PORT, PEER_PG_HOST (socket dir), PEER_PG_DB)
import { Retell } from "retell-sdk";
import postgres from "postgres";

const sql = postgres({
  host: Deno.env.get("PEER_PG_HOST"),
  database: Deno.env.get("PEER_PG_DB"),
  username: "postgres",
  max: 16,
});

// The plan's billing: duration rounded up to the account's increment, times the per-minute rate.
function callCost(seconds: number, call: Record<string, unknown>, b: Record<string, string> | null) {
  if (!b) return null;
  const rate = call.call_type === "web_call"
    ? Number(b.web_call_rate_per_minute)
    : call.direction === "outbound"
    ? Number(b.outbound_rate_per_minute)
    : Number(b.inbound_rate_per_minute);
  const inc = Number(b.billing_increment_seconds);
  return Math.round((rate * Math.ceil(seconds / inc) * inc / 60) * 10000) / 10000;
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

async function handle(req: Request): Promise<Response> {
  if (req.method !== "POST") return json(405, { error: "method_not_allowed" });
  const raw = await req.text();
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return json(400, { error: "bad_request" });
  }
  const call = body?.call;
  if (!call?.call_id || !call?.agent_id) return json(400, { error: "bad_request" });
  // agent_id -> agents.id -> user_agents.user_id -> that user's Retell key (and billing account)
  const rows = await sql`
    SELECT a.id AS agent_uuid, ua.user_id, k.access_token, b.inbound_rate_per_minute,
           b.outbound_rate_per_minute, b.web_call_rate_per_minute, b.billing_increment_seconds
    FROM agents a
    JOIN user_agents ua ON ua.agent_id = a.id
    JOIN api_keys k ON k.user_id = ua.user_id AND k.service = 'retell' AND k.is_active
    LEFT JOIN billing_accounts b ON b.user_id = ua.user_id
    WHERE a.retell_agent_id = ${call.agent_id}
    LIMIT 1`;
  if (rows.length === 0) return json(404, { error: "unknown_agent" });
  const owner = rows[0];
  const signature = req.headers.get("x-retell-signature") ?? "";
  if (!(await Retell.verify(raw, owner.access_token, signature))) {
    return json(401, { error: "bad_signature" });
  }
  if (body.event !== "call_ended" && body.event !== "call_analyzed") {
    return json(200, { received: true });
  }
  const seconds = call.duration_ms != null ? Math.ceil(call.duration_ms / 1000) : null;
  const record = {
    retell_call_id: call.call_id,
    source_platform: "retell",
    user_id: owner.user_id,
    agent_id: owner.agent_uuid,
    from_number: call.from_number ?? null,
    to_number: call.to_number ?? null,
    started_at: call.start_timestamp ? new Date(call.start_timestamp) : null,
    ended_at: call.end_timestamp ? new Date(call.end_timestamp) : null,
    duration_seconds: seconds,
    cost: seconds != null ? callCost(seconds, call, owner) : null,
    transcript: call.transcript ?? null,
    recording_url: call.recording_url ?? null,
    summary: call.call_analysis?.call_summary ?? null,
  };
  await sql`
    INSERT INTO calls ${sql(record)}
    ON CONFLICT (retell_call_id) DO UPDATE SET
      from_number = EXCLUDED.from_number, to_number = EXCLUDED.to_number,
      started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
      duration_seconds = EXCLUDED.duration_seconds, cost = EXCLUDED.cost,
      transcript = EXCLUDED.transcript, recording_url = EXCLUDED.recording_url,
      summary = COALESCE(EXCLUDED.summary, calls.summary), updated_at = now()`;
  return json(200, { received: true });
}

Deno.serve({ port: Number(Deno.env.get("PEER_PORT") ?? 8000), hostname: "127.0.0.1" }, async (req) => {
  try {
    return await handle(req);
  } catch (e) {
    console.error(e);
    return json(500, { error: "internal" });
  }
});
