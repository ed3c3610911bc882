/** Query-string schema of a page size: 1 to 1000, 100 by default. */
export const limitSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 1000,
  default: 100,
  description: 'page size',
} as const;
