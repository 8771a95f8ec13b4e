// Talking to the deployment that serves this page: every request carries the admin key in
// the Authorization header (never a cookie), so other sites cannot forge a request.

const STORAGE_KEY = "bayou.dashboard.adminKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function adminKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setAdminKey(key) {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}

export async function call(method, path, body, { signal, raw = false, key, bytes } = {}) {
  const headers = {
    Authorization: `Convex ${key ?? adminKey() ?? ""}`,
    "Convex-Client": "bayou-dashboard",
  };
  const init = { method, headers, signal, cache: "no-store" };
  if (bytes !== undefined) {
    headers["Content-Type"] = "application/octet-stream";
    init.body = bytes;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "NetworkError", "The server cannot be reached (it may be restarting).");
  }
  if (!response.ok) {
    let code = "HttpError";
    let message = `${response.status} ${response.statusText}`;
    try {
      const data = await response.json();
      code = data.code ?? code;
      message = data.message ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, code, message);
  }
  if (raw) return response;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, options) => call("GET", path, undefined, options);
export const post = (path, body, options) => call("POST", path, body ?? {}, options);

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// Where a URL the server made (upload, file) points on *this* origin: the page may only
// connect to its own origin, whatever public URL the server was configured with.
export function local(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}
