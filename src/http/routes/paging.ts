/** Query-string schema of a page size: 1 to 1000, 100 by default. */
export const limitSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  default: 100,
  description: 'page size',
} as const;

/** Query-string schema of a `before` cursor: the `next` of the page before, for `what` older than it. */
export function beforeSchema(what: string) {
  return {
    type: 'integer',
    minimum: 1,
    description: `${what} older than this (the \`next\` cursor)`,
  } as const;
}
