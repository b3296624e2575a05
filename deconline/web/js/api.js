/**
 * The service's API from the browser: the token in a header (never in a URL), submissions sent as
 * signed envelopes (issue 24): the request body is the statement's exact bytes (line, action,
 * created, nonce and body in canonical JSON), the header its signature. A request whose answer
 * was lost is sent again byte for byte: the service answers a repeated envelope with its first
 * answer (Idempotent-Replayed: true), so a retried write is made once.
 */
import { actionFor } from './actions.js';
import { PAYLOAD_TYPE, sealStatement } from './signing.js';

export const SIGNATURE_HEADER = 'X-Deconline-Signature';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
// an envelope whose answer was lost (network error, 502/503/504) is sent again, the same bytes
const ATTEMPTS = 3;
const BACKOFF_MS = [500, 1000];
const RETRY_STATUS = new Set([502, 503, 504]);

// What an envelope's refusal means when the service gave no detail of its own.
const ENVELOPE_REFUSALS = {
  401: "the service refused the signed statement: this computer's clock may differ from the service's by too much",
  403: 'the service refused the signed statement: it was signed for another line or another action',
  422: 'the service refused the signed statement: its nonce was already used for other bytes',
};

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
  /** ``line``: the line id statements are signed for; when not given, read from GET /v1/whoami before the first signed request. */
  constructor({ token, key = null, base = '', line = null }) {
    this.token = token;
    this.key = key;
    this.base = base;
    this.line = line;
    this.linePending = null;
  }

  /** The line this service keeps (whoami's ``line``), asked for once and kept. */
  async lineId() {
    if (this.line) return this.line;
    if (!this.linePending) {
      this.linePending = (async () => {
        try {
          const me = await this.request('GET', '/v1/whoami');
          if (!me || typeof me.line !== 'string' || !me.line) {
            throw new ApiError(
              0,
              'the service did not say which line it keeps (no "line" in GET /v1/whoami): it is older than this console, so nothing can be signed for it',
            );
          }
          this.line = me.line;
          return me.line;
        } finally {
          this.linePending = null;
        }
      })();
    }
    return this.linePending;
  }

  /** The request's headers and body: a signed envelope for a write with a key, plain JSON otherwise. */
  async prepare(method, path, body, sign) {
    const headers = { Authorization: `Bearer ${this.token}` };
    const action = sign && this.key ? actionFor(method, path) : null;
    if (action !== null) {
      const line = await this.lineId();
      const sealed = await sealStatement(this.key, { line, action, body: body === undefined ? {} : body });
      headers['Content-Type'] = PAYLOAD_TYPE;
      headers[SIGNATURE_HEADER] = sealed.signature;
      return { headers, payload: sealed.statement, sealed: true };
    }
    if (body === undefined) return { headers, payload: undefined, sealed: false };
    headers['Content-Type'] = 'application/json';
    return { headers, payload: JSON.stringify(body), sealed: false };
  }

  async request(method, path, body, { sign = true, text = false } = {}) {
    const { headers, payload, sealed } = await this.prepare(method, path, body, sign);
    // only an envelope is safe to send twice: its nonce makes the service answer a repeat as the first
    const attempts = sealed ? ATTEMPTS : 1;
    let response = null;
    let failure = null;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS[attempt - 2]));
      failure = null;
      try {
        response = await fetch(this.base + path, { method, headers, body: payload, cache: 'no-store' });
      } catch (e) {
        failure = e;
        continue;
      }
      if (!RETRY_STATUS.has(response.status)) break;
    }
    if (failure !== null) {
      throw new ApiError(0, `cannot reach the service (${failure.message || failure}); is it running?`);
    }
    if (!response.ok) {
      let parsed = null;
      try {
        parsed = await response.json();
      } catch {
        parsed = null;
      }
      const hasDetail = parsed && typeof parsed === 'object' && parsed.detail;
      const message = sealed && !hasDetail && ENVELOPE_REFUSALS[response.status] ? ENVELOPE_REFUSALS[response.status] : readableDetail(response.status, parsed);
      throw new ApiError(response.status, message, parsed);
    }
    if (text) return { text: await response.text(), headers: response.headers };
    if (response.status === 204) return null;
    const answer = await response.json();
    if (method === 'GET' && path === '/v1/whoami' && answer && typeof answer.line === 'string' && answer.line) {
      this.line = answer.line;
    }
    return answer;
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
