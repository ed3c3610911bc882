import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Thrown for a usage mistake: the message is the one line the user sees. */
export class UsageError extends Error {}

/** parseArgs with strict checking, turning its errors into one-line usage errors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? String(err));
  }
}

/** `--catalog` with a channel: a channel runs over its own catalog, and naming another is refused. */
export function refuseOtherCatalog(
  channel: { id: string; catalog: string },
  catalog: string | undefined,
): void {
  if (catalog !== undefined && catalog !== channel.catalog)
    throw new UsageError(
      `channel "${channel.id}" runs over its own catalog "${channel.catalog}"; --catalog names the catalog of a rule set`,
    );
}
