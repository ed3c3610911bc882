import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { formatProblem } from '../../catalog/definition.js';
import {
  applyDefinitionFiles,
  DEFINITION_FILE_PATTERN,
  type DefinitionFile,
  DefinitionsInvalidError,
} from '../../definitions/apply.js';
import { AppError } from '../../errors.js';
import type { FeedStateCache } from '../../publish/serve/feed-state-cache.js';
import type { Store } from '../../store/types.js';
import { apiErrors, apiSecurity, applyResultSchema } from '../schemas.js';

/** What the definitions route needs. */
export interface DefinitionRouteOptions {
  store: Store;
  states: FeedStateCache;
  /** Told after an apply (the scheduler re-reads the catalogs). */
  onCatalogChanged?: (() => void) | undefined;
  /** Where a relative `source.file` points when the request names no `base`: serve's `--dir`. */
  definitionsDir: string;
}

/** A folder's files are small; a whole folder in one request may still be large. */
const BODY_LIMIT = 32 * 1024 * 1024;

/** POST /api/definitions/apply: a definitions folder, sent as its files, applied all or nothing. */
export const definitionRoutes: FastifyPluginAsync<DefinitionRouteOptions> = async (app, opts) => {
  app.post<{ Body: { files: DefinitionFile[]; base?: string } }>(
    '/definitions/apply',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        tags: ['definitions'],
        security: apiSecurity,
        summary: 'Apply a definitions folder',
        description:
          'Applies the files of a definitions folder (`feeds/*.json`: catalogs and channels; ' +
          '`rules/*.json`: rule sets) as `feedwright apply` does: in one transaction, all of them or, ' +
          'when any file is faulty, none (422 `APPLY_REFUSED`, every problem in `details.problems`). ' +
          'Unchanged definitions write nothing; a changed one gets a new version. A relative ' +
          '`source.file` is resolved against `base`, or the folder `serve` applied at start.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['files'],
          properties: {
            files: {
              type: 'array',
              maxItems: 10_000,
              description: 'the folder’s JSON files, each with its path in the folder',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['path', 'content'],
                properties: {
                  path: {
                    type: 'string',
                    pattern: DEFINITION_FILE_PATTERN,
                    description: '`feeds/acme.json`, `rules/buffer-stock.json`',
                  },
                  content: { type: 'string', description: 'the file’s text' },
                },
              },
            },
            base: {
              type: 'string',
              minLength: 1,
              description:
                'the absolute path of the folder on the server, against which relative `source.file` paths resolve',
            },
          },
        },
        response: {
          200: { ...applyResultSchema, description: 'what was applied' },
          ...apiErrors('BAD_REQUEST', 'APPLY_REFUSED', 'PAYLOAD_TOO_LARGE'),
        },
      },
    },
    async (request) => {
      const { files, base } = request.body;
      if (base !== undefined && !path.isAbsolute(base))
        throw new AppError('BAD_REQUEST', `body.base must be an absolute path, got "${base}"`);
      try {
        const result = await applyDefinitionFiles(opts.store, files, base ?? opts.definitionsDir);
        // Channel definitions may have changed: their serving state is read again.
        opts.states.invalidate();
        opts.onCatalogChanged?.();
        return result;
      } catch (err) {
        if (!(err instanceof DefinitionsInvalidError)) throw err;
        throw new AppError(
          'APPLY_REFUSED',
          `${err.problems.length} problem(s), nothing applied: ${err.problems.map(formatProblem).join('; ')}`,
          { details: { problems: err.problems } },
        );
      }
    },
  );
};
