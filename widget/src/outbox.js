// Messages the customer typed that the server has not acknowledged yet.
// Persisted so a reload or a network drop never loses them; each item has an
// id so it is removed exactly once, after the server's ack.

export class Outbox {
  constructor(store, key = 'outbox') {
    this.store = store;
    this.key = key;
  }

  all() {
    const items = this.store.get(this.key);
    return Array.isArray(items) ? items.filter((i) => i && i.id && typeof i.message === 'string') : [];
  }

  first() {
    return this.all()[0] || null;
  }

  has(id) {
    return this.all().some((i) => i.id === id);
  }

  add(item) {
    const items = this.all();
    if (!items.some((i) => i.id === item.id)) {
      items.push(item);
      this.store.set(this.key, items);
    }
  }

  remove(id) {
    this.store.set(this.key, this.all().filter((i) => i.id !== id));
  }
}
