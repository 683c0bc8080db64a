// page.js: what the dashboard does, as functions run.mjs calls with page.evaluate. The config
// (the stack's URL, the anon key, a token per role) comes in the URL's fragment.
/* global supabase */
const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const noSession = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

const clients = {};

// One supabase client per role, as a page keeps one (several would share auth storage).
function client(who) {
	const token = cfg.tokens[who];
	const global = token ? { headers: { Authorization: `Bearer ${token}` } } : {};
	clients[who] ??= supabase.createClient(cfg.url, cfg.anonKey, { auth: noSession, global });
	return clients[who];
}

// One functions.invoke, reported as the dashboard would read it: the answer's status, its JSON
// (error.context.json() for an error) and X-Request-Id. A FunctionsFetchError (what a CORS
// refusal looks like) has no Response: no status.
async function invoke([label, who, name, options]) {
	const start = performance.now();
	const { data, error, response } = await client(who).functions.invoke(name, options || {});
	const res = error ? error.context : response;
	const out = { label, name, who, error: error ? error.name : null, ms: performance.now() - start };
	if (res instanceof Response) {
		out.status = res.status;
		out.requestId = res.headers.get('x-request-id');
		out.body = error ? await res.json().catch((e) => `not JSON: ${e}`) : data;
	} else if (error) {
		out.message = String(error.message || error);
	}
	return out;
}

window.runCalls = async (calls) => {
	const out = [];
	for (const c of calls) out.push(await invoke(c));
	return out;
};

// Plays a recording through a playback link (an <audio> element cannot send a bearer token),
// as a CORS request (crossorigin) so the audio's headers must pass the browser's checks too.
window.play = (path, timeoutMs) =>
	new Promise((resolve) => {
		const audio = document.createElement('audio');
		const done = (outcome) => {
			resolve({
				outcome,
				currentTime: audio.currentTime,
				duration: audio.duration,
				error: audio.error ? audio.error.code : null,
			});
			audio.pause();
		};
		const timer = setTimeout(() => done('timeout'), timeoutMs);
		audio.crossOrigin = 'anonymous';
		audio.muted = true; // autoplay without a user gesture
		audio.addEventListener('timeupdate', () => {
			if (audio.currentTime > 0.2) {
				clearTimeout(timer);
				done('played');
			}
		});
		audio.addEventListener('error', () => {
			clearTimeout(timer);
			done('error');
		});
		document.body.append(audio);
		audio.src = new URL(path, cfg.url).href;
		audio.play().catch((e) => {
			clearTimeout(timer);
			resolve({ outcome: `play() refused: ${e}` });
		});
	});

window.ready = true;
