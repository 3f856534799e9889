// A small JSON-schema checker for the subset the machine, launch and test-list schemas use
// (type, properties, required, additionalProperties, enum, pattern, minLength, minimum, maximum, items,
// oneOf/anyOf), so the adapter validates launch.json and the CLI validates machine config files
// and test lists with the same schemas the editor sees, with no extra dependency.

export interface JsonSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly description?: string;
  readonly markdownDescription?: string;
  readonly default?: unknown;
  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: JsonSchema;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly [other: string]: unknown;
}

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

function typeOf(value: unknown): JsonType | 'undefined' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'object') return typeof value as JsonType;
  return 'undefined';
}

function matchesType(value: unknown, type: JsonType): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

const describe = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** Checks `value` against `schema`; returns one message per problem, empty when valid. */
export function validateJson(schema: JsonSchema, value: unknown, path = ''): string[] {
  const where = path === '' ? 'value' : `'${path}'`;
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!types.some((type) => matchesType(value, type))) {
      return [`${where} must be ${types.map((type) => (type === 'integer' ? 'an integer' : type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`)).join(' or ')}, got ${describe(value)}`];
    }
  }
  if (schema.oneOf !== undefined || schema.anyOf !== undefined) {
    const alternatives = (schema.oneOf ?? schema.anyOf)!;
    const results = alternatives.map((alternative) => validateJson(alternative, value, path));
    const passing = results.filter((result) => result.length === 0).length;
    if (passing === 0) {
      // The alternative of the value's own type explains best what is wrong.
      const sameType = results.filter((_, index) => {
        const type = alternatives[index].type;
        return type === undefined || (typeof type === 'string' ? [type] : type).some((candidate) => matchesType(value, candidate));
      });
      const candidates = sameType.length > 0 ? sameType : results;
      return candidates.reduce((best, result) => (result.length < best.length ? result : best));
    }
  }
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.some((allowed) => allowed === value)) {
    problems.push(`${where} must be one of ${schema.enum.map(describe).join(', ')}, got ${describe(value)}`);
  }
  if (typeof value === 'string' && schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
    problems.push(`${where} has the wrong form: ${describe(value)}${schema.description !== undefined ? ` (${schema.description.replace(/\.$/, '')})` : ''}`);
  }
  if (typeof value === 'string' && schema.minLength !== undefined && value.length < schema.minLength) {
    problems.push(schema.minLength === 1 ? `${where} must not be empty` : `${where} must be at least ${schema.minLength} characters long`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${where} must be at least ${schema.minimum}, got ${value}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${where} must be at most ${schema.maximum}, got ${value}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, index) => problems.push(...validateJson(schema.items!, item, `${path}[${index}]`)));
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (object[name] === undefined) problems.push(`'${path === '' ? name : `${path}.${name}`}' is required`);
    }
    for (const [name, item] of Object.entries(object)) {
      const childPath = path === '' ? name : `${path}.${name}`;
      const property = schema.properties?.[name];
      if (property !== undefined) problems.push(...validateJson(property, item, childPath));
      else if (schema.additionalProperties === false) problems.push(`'${childPath}' is not a known attribute`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validateJson(schema.additionalProperties, item, childPath));
    }
  }
  return problems;
}
