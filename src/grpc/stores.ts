// The stores a call works on: everything for a service token (and for every
// caller when authentication is off); for a user-scoped token, the store
// view that holds only that user's rows (Database.ownedBy), made once per
// user, in one cache the server shares with every service. Handlers reach
// the database only through this.
import type { Database, Stores } from '../store/database.js';
import type { CallContext } from './bridge.js';

/** The stores a call may reach, by its caller. */
export type StoresFor = (ctx: CallContext) => Stores;

export function storesFor(db: Database): StoresFor {
  const views = new Map<string, Stores>();
  return ({ caller }) => {
    if (caller.userId === null) return db;
    let view = views.get(caller.userId);
    if (view === undefined) views.set(caller.userId, (view = db.ownedBy(caller.userId)));
    return view;
  };
}
