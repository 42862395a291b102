#!/usr/bin/env node
'use strict';
// The CLI is TypeScript compiled with the rest of Trellis into the repository's dist/
// (`npm run build`). Node resolves this file's symlinks (node_modules/.bin, the workspace
// link), so __dirname is apps/cli/bin whatever the working directory.
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
const main = path.join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`trellis: the CLI is not built: run \`npm run build\` in ${root}\n`);
  process.exit(1);
}
require(main);
