/**
 * How both apps' route schemas are validated (Fastify({ ajv: STRICT_AJV })): a value is taken as it was sent, never
 * coerced (fastify's default turns `"model": 5` into "5" and `"dimensions": "8"` into 8, where OpenAI answers 400),
 * nothing is added or removed, and every fault is reported, so that a route can answer the first one in the order
 * its API defines (routes/embeddings.ts) rather than the first one the validator met.
 */
export const STRICT_AJV = {
  customOptions: {
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    allErrors: true,
    allowUnionTypes: true,
  },
} as const;
