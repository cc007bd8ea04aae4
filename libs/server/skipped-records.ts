import type { HandlerContext } from './handlers';

/**
 * What a list answers about records it skipped because they do not decode: their paths,
 * in the response, and a warning in the log so an operator finds and repairs them.
 */
export function reportSkipped(ctx: HandlerContext, method: string, paths: string[]): string[] {
  if (paths.length > 0) ctx.log.warn('undecodable records skipped', { method, count: paths.length, paths: paths.slice(0, 20) });
  return paths;
}
