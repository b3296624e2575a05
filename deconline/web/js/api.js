/** The service's API from the browser: the token in a header (never in a URL), submissions signed. */
import { signDocument } from './signing.js';

export const SIGNATURE_HEADER = 'X-Deconline-Signature';

export class ApiError extends Error {
  constructor(status, message, detail = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
  }
}

/** One readable line from FastAPI's error bodies ({detail: "…"} or {detail: [{loc, msg}]}). */
export function readableDetail(status, body) {
  const detail = body && typeof body === 'object' ? body.detail : body;
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((e) => {
        const where = Array.isArray(e.loc) ? e.loc.filter((p) => p !== 'body').join('.') : '';
        return where ? `${where}: ${e.msg}` : String(e.msg);
      })
      .join('; ');
  }
  return `the service answered ${status}`;
}

export class Api {
  constructor({ token, key = null, base = '' }) {
    this.token = token;
    this.key = key;
    this.base = base;
  }

  async request(method, path, body, { sign = true, text = false } = {}) {
    const headers = { Authorization: `Bearer ${this.token}` };
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
      if (sign && this.key) headers[SIGNATURE_HEADER] = await signDocument(this.key, body);
    }
    let response;
    try {
      response = await fetch(this.base + path, { method, headers, body: payload, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, `cannot reach the service (${e.message || e}); is it running?`);
    }
    if (!response.ok) {
      let parsed = null;
      try {
        parsed = await response.json();
      } catch {
        parsed = null;
      }
      throw new ApiError(response.status, readableDetail(response.status, parsed), parsed);
    }
    if (text) return { text: await response.text(), headers: response.headers };
    if (response.status === 204) return null;
    return response.json();
  }

  get(path) {
    return this.request('GET', path);
  }

  getText(path) {
    return this.request('GET', path, undefined, { text: true });
  }

  post(path, body = {}) {
    return this.request('POST', path, body);
  }

  put(path, body) {
    return this.request('PUT', path, body);
  }

  del(path) {
    return this.request('DELETE', path);
  }
}
