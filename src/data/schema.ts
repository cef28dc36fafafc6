/**
 * A small validator for the subset of JSON Schema that structured LLM answers need: type (object,
 * array, string, number, integer, boolean, null), properties, required, additionalProperties: false,
 * items, minItems / maxItems, minLength / maxLength, enum. Errors name the JSON path of the value,
 * `$.questions[2].question: expected string, got number`, so that a bad answer can be reported.
 */

export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

export interface JsonSchema {
  type?: JsonType;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  enum?: readonly (string | number | boolean | null)[];
}

function typeOf(value: unknown): JsonType | "undefined" {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "string" || typeof value === "boolean" || typeof value === "object")
    return typeof value as JsonType;
  return "undefined";
}

/** Every way `value` breaks `schema` (empty when it conforms). */
export function validateJson(value: unknown, schema: JsonSchema, path = "$"): string[] {
  const errors: string[] = [];
  const actual = typeOf(value);
  if (schema.type !== undefined && !(schema.type === actual || (schema.type === "number" && actual === "integer"))) {
    return [`${path}: expected ${schema.type}, got ${actual}`];
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string))
    errors.push(`${path}: expected one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      errors.push(`${path}: longer than ${schema.maxLength} characters`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errors.push(`${path}: ${value.length} items, expected at least ${schema.minItems}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errors.push(`${path}: ${value.length} items, expected at most ${schema.maxItems}`);
    if (schema.items)
      value.forEach((v, i) => errors.push(...validateJson(v, schema.items as JsonSchema, `${path}[${i}]`)));
  }
  if (actual === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${path}: missing property "${key}"`);
    for (const [key, v] of Object.entries(obj)) {
      const sub = schema.properties?.[key];
      if (sub) errors.push(...validateJson(v, sub, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property "${key}"`);
    }
  }
  return errors;
}
