#!/usr/bin/env node
// Makes the npm `solc` package (the official compiler built to WebAssembly) answer like a native solc
// for py-solc-x: `--version` and `--standard-json` (input on stdin, output JSON on stdout).
// The solcjs CLI cannot be used directly: it prints a non-JSON line before the JSON.
// Usage: solc_node_wrapper.js --solcjs /abs/path/node_modules/solc [--version | --standard-json ...]
'use strict';
const args = process.argv.slice(2);
const at = args.indexOf('--solcjs');
const solc = require(at >= 0 ? args[at + 1] : 'solc');

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
} else if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8')));
  });
} else {
  process.stderr.write('solc_node_wrapper.js only supports --version and --standard-json\n');
  process.exit(2);
}
