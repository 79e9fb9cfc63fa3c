/**
 * What DUO_DB / --db names: a SQLite file path, or a PostgreSQL URL (team mode). Shared by the
 * broker (which opens it) and the CLI (which reports it), so both tell them apart the same way
 * and neither ever prints a password.
 */

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The location with any password in a PostgreSQL URL replaced, for logs and messages. */
export function describeDbLocation(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
