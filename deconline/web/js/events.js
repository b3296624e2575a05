/**
 * The live event stream over fetch (EventSource cannot send an Authorization header).
 *
 * Every event carries an id; after a cut the stream reconnects with Last-Event-ID and the service
 * replays what was missed from what it persisted. A silent connection (no heartbeat for 40 s) is
 * treated as cut.
 */
const SILENCE_MS = 40_000;
const MAX_BACKOFF_MS = 10_000;

export class EventStream {
  constructor({ token, onEvent, onStatus, url = '/v1/events' }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.url = url;
    this.lastEventId = null;
    this.running = false;
    this.controller = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.controller?.abort();
  }

  /** Drop the current connection (it reconnects and catches up); for tests and the "reconnect" button. */
  reconnect() {
    this.controller?.abort();
  }

  async loop() {
    let backoff = 500;
    while (this.running) {
      this.onStatus({ state: 'connecting', lastEventId: this.lastEventId });
      try {
        await this.connectOnce(() => {
          backoff = 500;
        });
      } catch (e) {
        if (e && e.fatal) {
          this.running = false;
          this.onStatus({ state: 'refused', lastEventId: this.lastEventId, message: e.message });
          return;
        }
      }
      if (!this.running) return;
      this.onStatus({ state: 'lost', lastEventId: this.lastEventId });
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async connectOnce(onOpen) {
    const controller = new AbortController();
    this.controller = controller;
    const headers = { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' };
    if (this.lastEventId !== null) headers['Last-Event-ID'] = String(this.lastEventId);
    let watchdog = null;
    const feed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    try {
      feed();
      const response = await fetch(this.url, { headers, signal: controller.signal, cache: 'no-store' });
      if (response.status === 401 || response.status === 403) {
        const error = new Error(`the service refused the event stream (${response.status})`);
        error.fatal = true;
        throw error;
      }
      if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
      onOpen();
      this.onStatus({ state: 'live', lastEventId: this.lastEventId });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        feed();
        buffer += value;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          this.dispatch(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
        }
      }
    } catch (e) {
      if (e && e.fatal) throw e;
      // aborted or network error: the loop reconnects
    } finally {
      clearTimeout(watchdog);
    }
  }

  dispatch(block) {
    let type = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (id) this.lastEventId = id; // 'party:n', the party's own numbering
    if (!data.length) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      console.warn('ignored an event whose data is not JSON');
      return;
    }
    this.onEvent(type, parsed, this.lastEventId);
  }
}
