/** DOM and formatting helpers shared by the panels. Text goes in as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export const utc = (iso) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '—');
export const fl = (metres) => `FL${String(Math.round(metres / 0.3048 / 100)).padStart(3, '0')}`;
export const nm = (metres) => `${(metres / 1852).toFixed(1)} NM`;
export const ft = (metres) => `${Math.round(metres / 0.3048)} ft`;

/** "4:07" for seconds (negative: "-0:12"). */
export function clock(seconds) {
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(Math.round(seconds));
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export const short = (id) => (id && id.length > 14 ? `${id.slice(0, 11)}…` : id);

/** Run an API action, showing its failure next to the control (never an unhandled rejection). */
export async function attempt(ctx, where, action) {
  if (where) where.textContent = '';
  try {
    return await action();
  } catch (e) {
    const message = e && e.message ? e.message : String(e);
    if (where) where.textContent = message;
    else ctx.toast(message, 'error');
    return undefined;
  }
}

/**
 * ``fn`` run at most once at a time; calls while it runs fold into one more run after it. A burst
 * of events (a thousand alerts in one evaluation) costs two requests, not a thousand.
 */
export function coalesce(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

const ROW_KEYS = ['data-message-id', 'data-alert-id', 'data-track', 'data-operation-id'];

/**
 * Re-render ``root`` without taking the keyboard focus away: the control that had it (found again
 * by its row's id) gets it back. Lists that redraw every second stay usable from the keyboard.
 */
export function keepingFocus(root, render) {
  const active = document.activeElement;
  let found = null;
  if (active && active !== document.body && root.contains(active)) {
    const row = active.closest(ROW_KEYS.map((k) => `[${k}]`).join(','));
    if (row) {
      const name = ROW_KEYS.find((k) => row.hasAttribute(k));
      const controls = [...row.querySelectorAll('button, [tabindex], input, select, textarea')];
      found = { name, value: row.getAttribute(name), at: row === active ? -1 : controls.indexOf(active) };
    }
  }
  render();
  if (!found) return;
  const row = root.querySelector(`[${found.name}="${CSS.escape(found.value)}"]`);
  if (!row) return;
  const target = found.at < 0 ? row : row.querySelectorAll('button, [tabindex], input, select, textarea')[found.at];
  target?.focus({ preventScroll: true });
}
