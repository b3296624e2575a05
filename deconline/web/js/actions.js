/**
 * What a signed statement is for: one action per write route (issue 24).
 *
 * A mirror of deconline/record/actions.py's ACTIONS (tests/web/test_envelope_js.py checks that
 * both give the same action for every route): the action names the route's purpose and, for a
 * route on one subject, that subject's id ("operation.revise:op_1a2b"), so an envelope signed to
 * revise one operation cannot be sent to revise another. Derived from the method and path alone.
 */

export const ACTIONS = Object.freeze(
  [
    { method: 'POST', route: '/v1/operations', name: 'operation.file', subject: null },
    { method: 'PUT', route: '/v1/operations/{op_id}', name: 'operation.revise', subject: 'op_id' },
    { method: 'POST', route: '/v1/operations/{op_id}/check', name: 'operation.check', subject: 'op_id' },
    { method: 'POST', route: '/v1/operations/{op_id}/state', name: 'operation.state', subject: 'op_id' },
    { method: 'POST', route: '/v1/operations/{op_id}/notices/{notice_id}/request', name: 'notice.request', subject: 'notice_id' },
    { method: 'POST', route: '/v1/hazards', name: 'hazard.declare', subject: null },
    { method: 'PUT', route: '/v1/hazards/{hazard_id}', name: 'hazard.change', subject: 'hazard_id' },
    { method: 'DELETE', route: '/v1/hazards/{hazard_id}', name: 'hazard.withdraw', subject: 'hazard_id' },
    { method: 'POST', route: '/v1/tracks', name: 'tracks.post', subject: null },
    { method: 'POST', route: '/v1/messages', name: 'message.send', subject: null },
    { method: 'POST', route: '/v1/messages/{message_id}/ack', name: 'message.ack', subject: 'message_id' },
    { method: 'POST', route: '/v1/messages/{message_id}/answer', name: 'message.answer', subject: 'message_id' },
    { method: 'POST', route: '/v1/parties/{party_id}/keys', name: 'key.rotate', subject: 'party_id' },
    { method: 'POST', route: '/v1/agreements', name: 'agreement.propose', subject: null },
    { method: 'POST', route: '/v1/agreements/{version}/signatures', name: 'agreement.sign', subject: 'version' },
  ].map((a) => Object.freeze(a)),
);

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The route template as an anchored pattern, one named group per {param} (as actions.py's _pattern). */
function pattern(route) {
  const parts = route.split(/\{(\w+)\}/);
  const regex = parts.map((p, i) => (i % 2 === 0 ? escapeRegExp(p) : `(?<${p}>[^/]+)`)).join('');
  return new RegExp(`^${regex}$`);
}

const MATCHERS = ACTIONS.map((a) => [a, pattern(a.route)]);

/**
 * The action a request to ``path`` must be signed for, or null when the route takes no statement.
 * The query string is not part of it; the path is read percent-decoded, as the service reads it.
 */
export function actionFor(method, path) {
  let bare = String(path).split('?', 1)[0].split('#', 1)[0];
  try {
    bare = decodeURIComponent(bare);
  } catch {
    // a malformed escape: match the path as written
  }
  bare = bare.replace(/\/+$/, '') || '/';
  const verb = String(method).toUpperCase();
  for (const [action, regex] of MATCHERS) {
    if (action.method !== verb) continue;
    const found = regex.exec(bare);
    if (found) return action.subject === null ? action.name : `${action.name}:${found.groups[action.subject]}`;
  }
  return null;
}
