#!/usr/bin/env node
'use strict';
// The CLI is TypeScript compiled into this package's dist/ (`npm run build`, which `npm pack`
// runs first). Node resolves this file's symlinks (node_modules/.bin, a global install, the
// workspace link), so __dirname is the package's bin/ whatever the working directory.
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  const packageDir = path.resolve(__dirname, '..');
  process.stderr.write(`trellis: the CLI is not built: run \`npm run build\` in ${packageDir}\n`);
  process.exit(1);
}
require(main);
