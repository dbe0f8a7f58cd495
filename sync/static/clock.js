// The hybrid logical clock of docs/sync-protocol.md, as pure functions on a
// state `{wall, counter}`: no storage, no Date.now(), so it is tested alone.
// Stamps sort as strings and never go backwards on a device, even when its
// clock does; the caller keeps the state durable and passes the corrected time.

export const MAX_COUNTER = 99999;  // five digits in the stamp
export const ZERO = Object.freeze({ wall: 0, counter: 0 });

const pad = (n, width) => String(n).padStart(width, "0");

/** The state after stamping one op at wall time `now` (ms): a later time
 * resets the counter, otherwise the counter counts on, carrying into the
 * wall time rather than growing past five digits. */
export function tick(state, now) {
  const next = now > state.wall ? { wall: now, counter: 0 } : { wall: state.wall, counter: state.counter + 1 };
  return next.counter > MAX_COUNTER ? { wall: next.wall + 1, counter: 0 } : next;
}

/** True when `a` is later than `b`. */
export function after(a, b) {
  return a.wall > b.wall || (a.wall === b.wall && a.counter > b.counter);
}

/** The state moved past every stamp seen (strings, any of the forms `parse`
 * reads; others are ignored), so an edit made after seeing them sorts after them. */
export function observe(state, ...stamps) {
  let latest = state;
  for (const seen of stamps.map(parse)) {
    if (seen && after(seen, latest)) latest = { wall: seen.wall, counter: seen.counter };
  }
  return latest;
}

/** `WWWWWWWWWWWWWWW:CCCCC:DEVICE`, or without the device when none is given. */
export function format(state, device = null) {
  const stamp = `${pad(state.wall, 15)}:${pad(state.counter, 5)}`;
  return device ? `${stamp}:${device}` : stamp;
}

/** `{wall, counter, device}` from a stamp (`W:C`, `W:C:DEVICE`, or the
 * server's order string `W:C:DEVICE OP_ID`); null when it is not one. */
export function parse(stamp) {
  const m = /^(\d{15}):(\d{5})(?::([A-Za-z0-9_-]+))?(?: |$)/.exec(stamp || "");
  return m ? { wall: Number(m[1]), counter: Number(m[2]), device: m[3] || null } : null;
}
