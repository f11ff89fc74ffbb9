// Namespaced JSON storage on localStorage, falling back to memory when storage
// is disabled (private mode, sandboxed iframes) so the widget still works.

export function createStore(prefix) {
  const memory = new Map();
  let ls = null;
  try {
    ls = window.localStorage;
    ls.setItem(`${prefix}:probe`, '1');
    ls.removeItem(`${prefix}:probe`);
  } catch (_) {
    ls = null;
  }
  const full = (key) => `${prefix}:${key}`;
  return {
    key: full,
    get(key) {
      const raw = ls ? ls.getItem(full(key)) : memory.get(key);
      if (raw == null) return null;
      try {
        return JSON.parse(raw);
      } catch (_) {
        return null;
      }
    },
    set(key, value) {
      const raw = JSON.stringify(value);
      try {
        if (ls) ls.setItem(full(key), raw);
        else memory.set(key, raw);
      } catch (_) {
        memory.set(key, raw);
      }
    },
    remove(key) {
      memory.delete(key);
      if (ls) ls.removeItem(full(key));
    },
  };
}
