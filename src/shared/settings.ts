/**
 * Settings as the environment gives them (strings) or flags and tests do (numbers, booleans),
 * checked without zod: every hook reads the client's settings, and loading zod would cost a hook
 * more than all of its own work. The broker's zod schemas wrap the same checks (config.ts).
 */
import { DuoError } from './errors.ts';

/** A setting's value, or what is wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const bad = (problem: string): Checked<never> => ({ ok: false, problem });

/** A whole number of at least 1, given as a number or as up to 9 digits. */
export function positiveIntSetting(value: unknown): Checked<number> {
  const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) && number >= 1
    ? ok(number)
    : bad('must be a whole number of at least 1');
}

/** On or off, given as a boolean or as 1/0/true/false. */
export function booleanSettingOf(value: unknown): Checked<boolean> {
  if (typeof value === 'boolean') return ok(value);
  if (value === '1' || value === 'true') return ok(true);
  if (value === '0' || value === 'false') return ok(false);
  return bad('must be 1, 0, true or false');
}

/** A non-empty string. */
export function textSetting(value: unknown): Checked<string> {
  return typeof value === 'string' && value !== '' ? ok(value) : bad('must be a non-empty string');
}

/** One of `choices`. */
export function choiceSetting<T extends string>(choices: readonly T[]) {
  return (value: unknown): Checked<T> =>
    choices.includes(value as T) ? ok(value as T) : bad(`must be one of ${choices.join(', ')}`);
}

/** How one field of a config is read: its check, and its default when the field is absent. */
export interface Field<T> {
  check: (value: unknown) => Checked<T>;
  default?: T;
}

type Parsed<F extends Record<string, Field<unknown>>> = {
  [K in keyof F]: F[K] extends Field<infer T> ? (F[K] extends { default: T } ? T : T | undefined) : never;
};

/** The settings given, flags over the environment; unset and empty values count as absent. */
export function givenSettings(fromEnv: Record<string, unknown>, overrides: Record<string, unknown>) {
  return Object.entries({ ...fromEnv, ...overrides }).filter(([, value]) => value !== undefined && value !== '');
}

export function invalidConfig(what: string, why: string): DuoError {
  return new DuoError('bad_request', `Invalid ${what} configuration: ${why}.`);
}

/**
 * Reads `input` (environment first, flags over it) field by field: empty and undefined values
 * count as absent, unknown fields are refused. Throws DuoError('bad_request') naming the field.
 */
export function parseSettings<F extends Record<string, Field<unknown>>>(
  fields: F,
  what: string,
  fromEnv: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Parsed<F> {
  const input = givenSettings(fromEnv, overrides);
  const unknown = input.map(([key]) => key).filter((key) => !Object.hasOwn(fields, key));
  if (unknown.length > 0) throw invalidConfig(what, `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const given = new Map(input);
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(fields)) {
    if (!given.has(key)) {
      if (field.default !== undefined) result[key] = field.default;
      continue;
    }
    const checked = field.check(given.get(key));
    if (!checked.ok) throw invalidConfig(what, `"${key}": ${checked.problem}`);
    result[key] = checked.value;
  }
  return result as Parsed<F>;
}
