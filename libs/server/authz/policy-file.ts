import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { errorFields, type Logger } from '../logger';
import { AuthzPolicy } from './policy';

/**
 * The policy from `--authz-policy`, re-read when the file changes. A change that does not
 * parse is logged and the last good policy stays in force; at start a bad file is fatal.
 */
export class PolicyFile {
  private current: AuthzPolicy;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    intervalMs = 1000,
  ) {
    this.current = AuthzPolicy.parse(readFileSync(path, 'utf8'), path);
    watchFile(path, { interval: intervalMs, persistent: false }, this.reload);
    log.info('authorization policy loaded', { path });
  }

  get policy(): AuthzPolicy {
    return this.current;
  }

  close(): void {
    unwatchFile(this.path, this.reload);
  }

  private readonly reload = (): void => {
    try {
      this.current = AuthzPolicy.parse(readFileSync(this.path, 'utf8'), this.path);
      this.log.info('authorization policy reloaded', { path: this.path });
    } catch (err) {
      this.log.warn('authorization policy changed but does not load: keeping the previous one', { path: this.path, ...errorFields(err) });
    }
  };
}
