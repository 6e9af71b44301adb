// Resolve did:ethr DIDs with the reference resolver (the `ethr-did-resolver` npm
// package, through `did-resolver`), for the interop tests to compare with ours.
//
// Input: one JSON object, as the first argument or on stdin:
//   { "rpcUrl": "http://127.0.0.1:8545", "chainId": 1337, "registry": "0x…",
//     "dids": ["did:ethr:0x539:0x…", "did:ethr:0x539:0x…?versionId=12", …],
//     "versions": [3, 7],          // optional: also resolve every DID at ?versionId=<v>
//     "accept": "application/did+json",  // optional: the resolver's `accept` option
//     "now": 1700000000 }          // optional: the unix time "now" is for the resolver
// Output (stdout): { "results": [ { "didUrl": "…", "result": <DIDResolutionResult> }, … ] }
//
// `now`: the resolver judges the latest version's expiries by `new Date()`. A test
// pins that instant so both implementations judge at the same second; only the
// argument-less `new Date()` and `Date.now()` answer it, every other use of Date is
// untouched (and time standing still only stops ethers' request timeouts from firing).

import { readFileSync } from 'node:fs'
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'
import { JsonRpcProvider } from 'ethers'

function readInput() {
  const text = process.argv.length > 2 ? process.argv[2] : readFileSync(0, 'utf8')
  return JSON.parse(text)
}

function pinClock(seconds) {
  const RealDate = Date
  const pinned = seconds * 1000
  class PinnedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(pinned)
      else super(...args)
    }
    static now() {
      return pinned
    }
  }
  globalThis.Date = PinnedDate
}

async function main() {
  const input = readInput()
  if (input.now !== undefined && input.now !== null) pinClock(input.now)
  const chainId = BigInt(input.chainId)
  const network = `0x${chainId.toString(16)}`
  // The resolver's own `rpcUrl` option builds `new JsonRpcProvider(rpcUrl, chainId)`,
  // which asks eth_chainId before every request; a static network skips those round
  // trips and changes nothing else (the chain id is checked once, below).
  const provider = new JsonRpcProvider(input.rpcUrl, chainId, { staticNetwork: true })
  const served = BigInt(await provider.send('eth_chainId', []))
  if (served !== chainId) throw new Error(`${input.rpcUrl} serves chain ${served}, not ${chainId}`)
  const resolver = new Resolver(
    getResolver({ networks: [{ name: network, chainId, provider, registry: input.registry }] })
  )
  const didUrls = []
  for (const did of input.dids) {
    didUrls.push(did)
    for (const version of input.versions ?? []) didUrls.push(`${did}?versionId=${version}`)
  }
  const options = input.accept === undefined ? {} : { accept: input.accept }
  // All at once: ethers batches the concurrent requests into JSON-RPC batches.
  const results = await Promise.all(
    didUrls.map(async (didUrl) => ({ didUrl, result: await resolver.resolve(didUrl, options) }))
  )
  provider.destroy()
  return { results }
}

main().then(
  (output) => process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(0)),
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`, () => process.exit(1))
  }
)
