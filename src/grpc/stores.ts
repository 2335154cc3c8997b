// The stores a call works on: everything for a service token (and for every
// caller when authentication is off); for a user-scoped token, the store
// view that holds only that user's rows (Database.ownedBy), made once per
// user. Handlers reach the database only through this.
import type { Database, Stores } from '../store/database.js';
import type { CallContext } from './bridge.js';

export function storesFor(db: Database): (ctx: CallContext) => Stores {
  const views = new Map<string, Stores>();
  return ({ caller }) => {
    if (caller.userId === null) return db;
    let view = views.get(caller.userId);
    if (view === undefined) views.set(caller.userId, (view = db.ownedBy(caller.userId)));
    return view;
  };
}
