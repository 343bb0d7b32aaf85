// The JSON API from a page: same-origin fetch with the session cookie, the CSRF token
// on unsafe methods, errors as ApiError.
//
// api(path, {method, body, query})  the decoded JSON answer (null for 204)
// get(path, query), post(path, body), put(path, body), patch(path, body), del(path)
// csrfToken()                       the session's CSRF token (cookie palier_csrf)
// ApiError                          .status (0: no answer), .message (the API's detail),
//                                   .errors (422: [{loc, msg}]), .code (the rights' reason)

export class ApiError extends Error {
  constructor(status, detail, { errors = [], code = null } = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.code = code;
  }
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "palier_csrf") return decodeURIComponent(rest.join("="));
  }
  return document.querySelector('meta[name="csrf-token"]')?.content || "";
}

export function loginAgain() {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, String(error));
  }
  if (response.status === 401) {
    loginAgain();
    throw new ApiError(401, "not logged in");
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, payload?.detail || response.statusText,
      { errors: payload?.errors || [], code: payload?.code || null });
  }
  return payload;
}

export const get = (path, query) => api(path, { query });
export const post = (path, body = {}) => api(path, { method: "POST", body });
export const put = (path, body = {}) => api(path, { method: "PUT", body });
export const patch = (path, body = {}) => api(path, { method: "PATCH", body });
export const del = (path) => api(path, { method: "DELETE" });
