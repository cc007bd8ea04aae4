const memos = new WeakMap<object, WeakMap<object, unknown>>();

/**
 * `encoder(target)`, computed the first time a given encoder sees a given object and
 * reused afterwards. Hub events and batches are shared by every subscriber that receives
 * them, so a transport that encodes through this pays once per event, not once per
 * subscriber. The encoder must be a stable function (defined once, not an inline arrow),
 * since it is part of the key; memos go with the objects when the history drops them.
 */
export function encodeOnce<T extends object, R>(target: T, encoder: (target: T) => R): R {
  let byTarget = memos.get(encoder);
  if (byTarget === undefined) {
    byTarget = new WeakMap();
    memos.set(encoder, byTarget);
  }
  if (byTarget.has(target)) return byTarget.get(target) as R;
  const encoded = encoder(target);
  byTarget.set(target, encoded);
  return encoded;
}
