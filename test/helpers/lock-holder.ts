/**
 * Run as a child process: opens the SQLite file given as argv[2], takes an exclusive write lock
 * (BEGIN EXCLUSIVE), prints "locked", and holds it until a line arrives on stdin, then commits,
 * prints "released" and exits. Fault tests use it to hold the broker's database from outside.
 */
import SQLite from 'better-sqlite3';

const path = process.argv[2];
if (!path) throw new Error('usage: lock-holder <db file>');
const db = new SQLite(path, { timeout: 5_000 });
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\n');
process.stdin.once('data', () => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
  process.exit(0);
});
