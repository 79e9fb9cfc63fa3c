/**
 * Tool arguments, checked here rather than by the MCP SDK. The SDK's own message for a bad
 * argument ("MCP error -32602: Input validation error: … Too small: expected number to be >=0")
 * tells a model neither what is allowed nor what to do. So the SDK gets a schema that lets any
 * value through but advertises the exact JSON Schema of the real one in the tool listing, and
 * `parse` checks against the real one, explaining a mistake in one sentence.
 */
import * as z from 'zod';
import { DuoError } from '../../shared/errors.ts';

export interface ToolArguments<S extends z.ZodRawShape> {
  /** For registerTool: the JSON Schema of `shape`, accepting anything at run time. */
  advertised: z.ZodType;
  /** The arguments as the real schema reads them, or a bad_request error saying what to fix. */
  parse(args: unknown): z.infer<z.ZodObject<S>>;
}

export function toolArguments<S extends z.ZodRawShape>(tool: string, shape: S): ToolArguments<S> {
  const real = z.strictObject(shape);
  const { properties = {}, required = [] } = z.toJSONSchema(real, { io: 'input', target: 'draft-7' }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const advertised = z
    .looseObject(
      Object.fromEntries(Object.entries(properties).map(([key, schema]) => [key, z.unknown().optional().meta(schema)])),
    )
    .meta({ required, additionalProperties: false });
  return {
    advertised,
    parse(args) {
      const parsed = real.safeParse(args ?? {});
      if (parsed.success) return parsed.data;
      throw new DuoError('bad_request', explain(tool, shape, parsed.error.issues[0]!, args));
    },
  };
}

/** One sentence: which argument, what is wrong with it, what is allowed, what to do. */
function explain(tool: string, shape: z.ZodRawShape, issue: z.core.$ZodIssue, args: unknown): string {
  const names = Object.keys(shape);
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys.map((key) => `"${key}"`).join(', ');
    const known = names.length === 0 ? 'no arguments' : `only ${names.map((name) => `"${name}"`).join(', ')}`;
    return `${tool} has no argument ${unknown}; it takes ${known}. Call ${tool} again without it.`;
  }
  const name = String(issue.path[0] ?? '');
  const value = (args as Record<string, unknown> | undefined)?.[name];
  const field = shape[name] as z.ZodType | undefined;
  const allowed = describeField(field);
  const got = value === undefined ? '' : ` (got ${shown(value)})`;
  const leaveOut = field instanceof z.ZodOptional ? ', or leave it out' : '';
  return `The "${name}" argument of ${tool} ${problem(issue, value)}${got}.${allowed ? ` What it takes: ${allowed}` : ''} Call ${tool} again with a valid "${name}"${leaveOut}.`;
}

function problem(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return issue.expected === 'int' ? 'must be a whole number' : `must be a ${issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must list at least ${issue.minimum}`;
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must list at most ${issue.maximum}`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    default:
      return 'is not valid';
  }
}

/** The field's description, where "what is allowed" is written for the model. */
function describeField(field: z.ZodType | undefined): string {
  if (!field) return '';
  if (field.description) return field.description;
  return field instanceof z.ZodOptional ? describeField(field.unwrap() as z.ZodType) : '';
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
