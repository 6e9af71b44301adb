#!/usr/bin/env node
// Reproducible build of the Solidity contracts.
//
//   node scripts/build_contracts.mjs           write the artifacts
//   node scripts/build_contracts.mjs --check   rebuild in memory; exit 1 listing every
//                                              artifact that differs from the committed one
//
// Two independent compilations, each with the pinned solc-js from node_modules:
//   chain_adapter/contracts/*.sol  ->  chain_adapter/contracts/build/<Contract>.json
//   tests/contracts/*.sol          ->  tests/contracts/build/<Contract>.json  (if any)
// Test contracts may import production ones by relative path
// (e.g. "../../chain_adapter/contracts/AnchorRegistry.sol"); imports are resolved
// inside the repository only.
//
// Every deployable contract (non-empty creation code) gets one artifact:
//   {abi, bytecode, compiler: {settings, version}, contractName, deployedBytecode, sourceHash}
// written with sorted keys, 2-space indent and a trailing newline, so that a
// rebuild from the same sources is byte-identical.
//
// Exit codes: 0 ok, 1 artifacts differ (--check), 2 compilation or usage error.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const TARGETS = [
  { sources: 'chain_adapter/contracts', out: 'chain_adapter/contracts/build' },
  { sources: 'tests/contracts', out: 'tests/contracts/build' },
];

// Recorded verbatim in every artifact under compiler.settings.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  // "paris" (the Merge) rather than solc's default: consortium chains such as
  // GoQuorum and Besu QBFT/IBFT networks often run a pre-Shanghai EVM, which lacks
  // PUSH0 (EIP-3855) and would reject Shanghai+ bytecode with an invalid opcode.
  evmVersion: 'paris',
  // No metadata hash and no CBOR trailer: the bytecode then depends on the source
  // text and these settings only, not on file paths, comments' metadata or the
  // machine that built it.
  metadata: { bytecodeHash: 'none', appendCBOR: false },
};

const OUTPUT_SELECTION = {
  '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
};

/** JSON with object keys sorted at every level; arrays keep their order. */
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
    return out;
  }
  return value;
}

function serialize(value) {
  return `${JSON.stringify(canonical(value), null, 2)}\n`;
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function toPosix(p) {
  return p.split(path.sep).join('/');
}

/** Resolve an import (already normalised by solc against the importing unit) inside ROOT. */
function findImports(importPath) {
  const abs = path.resolve(ROOT, importPath);
  if (abs !== ROOT && !abs.startsWith(ROOT + path.sep)) {
    return { error: `import outside the repository: ${importPath}` };
  }
  if (!existsSync(abs)) return { error: `file not found: ${importPath}` };
  return { contents: readFileSync(abs, 'utf8') };
}

/** Compile one target; returns Map(relative artifact path -> serialized JSON). */
function buildTarget(target) {
  const dir = path.join(ROOT, target.sources);
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => f.endsWith('.sol')).sort()
    : [];
  const artifacts = new Map();
  if (files.length === 0) return artifacts;

  const sources = {};
  for (const file of files) {
    // Source unit names are repository-relative POSIX paths: stable across machines.
    const unit = `${target.sources}/${file}`;
    sources[unit] = { content: readFileSync(path.join(dir, file), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: { ...SETTINGS, outputSelection: OUTPUT_SELECTION },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const problems = output.errors ?? [];
  for (const p of problems.filter((e) => e.severity !== 'error')) {
    process.stderr.write(p.formattedMessage ?? `${p.severity}: ${p.message}\n`);
  }
  const errors = problems.filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(e.formattedMessage ?? `${e.message}\n`);
    throw new BuildError(`compilation of ${target.sources} failed`);
  }

  const version = solc.version();
  for (const unit of Object.keys(sources)) {
    const contracts = output.contracts?.[unit] ?? {};
    for (const name of Object.keys(contracts).sort()) {
      const c = contracts[name];
      const bytecode = c.evm.bytecode.object;
      if (!bytecode) continue; // interfaces and abstract contracts
      const rel = toPosix(path.join(target.out, `${name}.json`));
      if (artifacts.has(rel)) {
        throw new BuildError(`two contracts named ${name} in ${target.sources}`);
      }
      artifacts.set(
        rel,
        serialize({
          contractName: name,
          abi: c.abi,
          bytecode: `0x${bytecode}`,
          deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
          compiler: { version, settings: SETTINGS },
          sourceHash: sha256(sources[unit].content),
        }),
      );
    }
  }
  return artifacts;
}

class BuildError extends Error {}

/** Differences between the fresh build and what is on disk under each target's out dir. */
function diff(targets, built) {
  const problems = [];
  for (const [rel, text] of built) {
    const abs = path.join(ROOT, rel);
    if (!existsSync(abs)) problems.push(`missing: ${rel}`);
    else if (readFileSync(abs, 'utf8') !== text) problems.push(`differs: ${rel}`);
  }
  for (const target of targets) {
    const out = path.join(ROOT, target.out);
    if (!existsSync(out)) continue;
    for (const file of readdirSync(out).filter((f) => f.endsWith('.json')).sort()) {
      const rel = `${target.out}/${file}`;
      if (!built.has(rel)) problems.push(`stale (no source builds it): ${rel}`);
    }
  }
  return problems;
}

function main(argv) {
  const args = argv.slice(2);
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: node scripts/build_contracts.mjs [--check]\n`);
    return 2;
  }
  const check = args.includes('--check');

  const built = new Map();
  try {
    for (const target of TARGETS) {
      for (const [rel, text] of buildTarget(target)) built.set(rel, text);
    }
  } catch (err) {
    if (err instanceof BuildError) {
      process.stderr.write(`build_contracts: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  if (check) {
    const problems = diff(TARGETS, built);
    if (problems.length > 0) {
      process.stderr.write(
        `build_contracts --check: ${problems.length} artifact(s) out of date ` +
          `(run \`npm run build:contracts\` and commit the result):\n`,
      );
      for (const p of problems) process.stderr.write(`  ${p}\n`);
      return 1;
    }
    process.stdout.write(`build_contracts --check: ${built.size} artifact(s) up to date\n`);
    return 0;
  }

  for (const [rel, text] of built) {
    const abs = path.join(ROOT, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    const current = existsSync(abs) ? readFileSync(abs, 'utf8') : null;
    if (current !== text) writeFileSync(abs, text);
    process.stdout.write(`${current === text ? 'unchanged' : 'wrote'}: ${rel}\n`);
  }
  for (const p of diff(TARGETS, built).filter((x) => x.startsWith('stale'))) {
    process.stderr.write(`warning: ${p} (delete it if its contract is gone)\n`);
  }
  return 0;
}

process.exitCode = main(process.argv);
