// The one way the console talks to the platform: the gateway's public /v1 API under the signed-in
// credential. The credential lives in sessionStorage (this tab only), never in a cookie, so no other site
// can make the browser call the API on the user's behalf.

export class ApiError extends Error {
  constructor(status, body) {
    const message = body && typeof body === "object" ? body.message || JSON.stringify(body) : String(body || "");
    super(message);
    this.status = status;
    this.code = body && body.code;
    this.hint = body && body.hint;
  }
}

const KEY = "zt.credential";
let onUnauthorized = () => {};

export function credential() { return sessionStorage.getItem(KEY); }
export function setCredential(value) { if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY); }
export function whenUnauthorized(callback) { onUnauthorized = callback; }

export async function api(path, { method = "GET", body, query, headers = {}, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
  }
  const sent = { ...headers };
  const cred = credential();
  if (cred) sent.Authorization = `Bearer ${cred}`;
  if (body !== undefined) sent["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(url, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { message: "unreachable" });
  }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const error = new ApiError(res.status, data);
    if (res.status === 401) onUnauthorized(error);
    throw error;
  }
  return data;
}
