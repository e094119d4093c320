// The staff key (STAFF_API_KEY), when the server has one: asked for once, kept for this tab
// only (sessionStorage), sent as `Authorization: Bearer <key>` with every data request.
// The public health route says whether a key is needed, so the page asks before its first
// data request instead of after a 401 (which the browser would log as an error).

const STORAGE = "steprunner.staffKey";
let needed = null; // Promise<boolean>, asked once per page

export function staffKeyNeeded() {
  needed ??= fetch("/__steprunner/health").then((r) => r.json()).then((h) => Boolean(h.staffKey)).catch(() => false);
  return needed;
}

function storedKey() {
  return sessionStorage.getItem(STORAGE) || null;
}

function askForKey(refused) {
  const text = refused ? "That staff key was refused. Staff key (STAFF_API_KEY):" : "This server needs its staff key (STAFF_API_KEY):";
  const key = (window.prompt(text) || "").trim();
  if (key) sessionStorage.setItem(STORAGE, key);
  else sessionStorage.removeItem(STORAGE);
  return key || null;
}

/** The key's UTF-8 bytes, one character each: a header sends each character as one byte (Latin-1), and the
 * server matches the key's UTF-8 bytes (steprunner/staff_key.py), as `?authToken=` sends them too. */
function wireText(key) {
  return Array.from(new TextEncoder().encode(key), (b) => String.fromCharCode(b)).join("");
}

/** The Authorization header to send ({} when the server needs no key, or none was given). */
export async function authHeaders() {
  const key = await staffKey();
  return key ? { Authorization: `Bearer ${wireText(key)}` } : {};
}

/** The staff key as typed (null when the server needs none, or none was given): `?authToken=` takes it as is. */
export async function staffKey() {
  if (!(await staffKeyNeeded())) return null;
  return storedKey() ?? askForKey(false); // prompt() blocks: concurrent callers find the key stored
}

/** fetch() with the staff key; on a 401 the key is asked for again and the request sent once more. */
export async function authFetch(url, options = {}) {
  const send = async () => {
    const headers = await authHeaders();
    const response = await fetch(url, { ...options, headers: { ...(options.headers || {}), ...headers } });
    return { response, sentKey: headers.Authorization ?? null };
  };
  const first = await send();
  if (first.response.status !== 401) return first.response;
  const current = storedKey();
  const changed = current && `Bearer ${wireText(current)}` !== first.sentKey; // another request already asked
  if (!changed && !askForKey(true)) return first.response;
  return (await send()).response;
}
