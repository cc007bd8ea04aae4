import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..');

/** What a tablet or router project gets when it depends on this package (after `make build`). */
describe('the published SDK', () => {
  it('resolves topo/client, topo/proto and topo/store through the exports map, with types', () => {
    const script = [
      "const client = require('topo/client');",
      "const proto = require('topo/proto');",
      "const store = require('topo/store');",
      'console.log([typeof client.TabletAgent, typeof client.RouterView, typeof proto.Tablet.encode, typeof store.openStore].join(" "));',
    ].join('');
    const out = execFileSync(process.execPath, ['-e', script], { cwd: repo, encoding: 'utf8' });
    expect(out.trim()).toBe('function function function function');
    for (const types of ['dist/libs/client/index.d.ts', 'dist/libs/proto/index.d.ts', 'dist/libs/store/index.d.ts']) {
      expect(existsSync(join(repo, types))).toBe(true);
    }
  });
});
