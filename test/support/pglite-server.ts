// A PGlite server with pgvector, in its own process (forked by pglite.ts),
// listening on 127.0.0.1 at the port given as the first argument: the
// database works on its own thread, as a real server does, so the client's
// event loop measures only the client. Ends on SIGTERM or when the parent
// goes away.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const db = await PGlite.create({ extensions: { vector } });
const server = new PGLiteSocketServer({ db, port: Number(process.argv[2]), host: '127.0.0.1', debug: process.env.PGLITE_DEBUG === '1' });
await server.start();
const stop = async () => {
  await server.stop();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
process.send!('ready');
