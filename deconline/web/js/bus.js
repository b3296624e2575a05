/** A tiny publish/subscribe between the console's modules; a failing listener never stops the others. */
export class Bus {
  constructor() {
    this.listeners = new Map();
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
    return () => this.listeners.get(topic)?.delete(fn);
  }

  emit(topic, detail) {
    for (const fn of [...(this.listeners.get(topic) ?? [])]) {
      try {
        const result = fn(detail);
        if (result && typeof result.catch === 'function') result.catch((e) => reportError(topic, e));
      } catch (e) {
        reportError(topic, e);
      }
    }
  }
}

function reportError(topic, error) {
  // A listener's failure is shown as a warning, not an uncaught error that ends the page's work.
  console.warn(`listener for "${topic}" failed:`, error);
}
