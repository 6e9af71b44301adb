// An off-the-shelf verifier of a served hub's custody letter: Digital Bazaar's
// `@digitalbazaar/vc` with the `eddsa-rdfc-2022` cryptosuite, given only what any
// verifier has, as it is, with no conversion and no copy bundled from the hub:
//
// - the issuer's DID document from the standard `ethr-did-resolver` reading the
//   hub's chain over JSON-RPC (`/rpc`); its verification method exactly as resolved;
// - `https://w3id.org/notary-hub/v1` fetched from where the hub serves it
//   (`contextUrl`, e.g. http://HOST:PORT/contexts/notary-hub/v1);
// - the W3C contexts from their npm context packages;
// - the status list credential fetched from the URL the letter names (under `hubUrl`),
//   checked by `@digitalbazaar/vc-bitstring-status-list`.
//
// Input (stdin): {"rpcUrl", "chainId", "registry", "contextUrl", "hubUrl", "credential"}
// Output: {"verified": bool, "errors": ["…"], "loaded": {"<url>": "<where from>"}}

import { readFileSync } from 'node:fs'
import * as vc from '@digitalbazaar/vc'
import { DataIntegrityProof } from '@digitalbazaar/data-integrity'
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite'
import { checkStatus } from '@digitalbazaar/vc-bitstring-status-list'
import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context'
import { contexts as statusListContexts } from '@digitalbazaar/vc-bitstring-status-list-context'
import dataIntegrityContext from '@digitalbazaar/data-integrity-context'
import multikeyContext from '@digitalbazaar/multikey-context'
import didContext from 'did-context'
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'
import { JsonRpcProvider } from 'ethers'

const HUB_CONTEXT_URL = 'https://w3id.org/notary-hub/v1'
const W3C_CONTEXTS = new Map([
  ...credentialsContexts,
  ...statusListContexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...didContext.contexts,
])

function loaded(url, document) {
  return { contextUrl: null, documentUrl: url, document }
}

function documentLoaderFor(input, resolver, log) {
  return async (url) => {
    if (url === HUB_CONTEXT_URL) {
      const response = await fetch(input.contextUrl, { headers: { accept: 'application/ld+json' } })
      if (!response.ok) throw new Error(`${input.contextUrl}: HTTP ${response.status}`)
      log[url] = input.contextUrl
      return loaded(url, await response.json())
    }
    const context = W3C_CONTEXTS.get(url)
    if (context !== undefined) {
      log[url] = 'npm'
      return loaded(url, context)
    }
    if (url.startsWith(`${input.hubUrl}/credentials/status/`)) {
      const response = await fetch(url)
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
      log[url] = 'hub'
      return loaded(url, await response.json())
    }
    const [did, fragment] = url.split('#')
    if (did.startsWith('did:ethr:')) {
      const { didDocument, didResolutionMetadata } = await resolver.resolve(did)
      if (!didDocument) throw new Error(`${did}: ${didResolutionMetadata.error}`)
      log[url] = 'ethr-did-resolver'
      if (fragment === undefined) return loaded(url, didDocument)
      const method = (didDocument.verificationMethod ?? []).find((m) => m.id === url)
      if (!method) throw new Error(`${url}: no such verification method`)
      return loaded(url, method)
    }
    throw new Error(`document loader: ${url} is not loaded by this verifier`)
  }
}

function messages(result) {
  const found = []
  const add = (error) => {
    for (const one of [].concat(error ?? [])) {
      found.push(String(one?.message ?? one))
      if (one?.errors) add(one.errors)
    }
  }
  add(result.error)
  for (const r of result.results ?? []) add(r.error)
  add(result.statusResult?.error)
  return [...new Set(found)]
}

async function main() {
  const input = JSON.parse(readFileSync(0, 'utf8'))
  const chainId = BigInt(input.chainId)
  const provider = new JsonRpcProvider(input.rpcUrl, chainId, { staticNetwork: true })
  const network = `0x${chainId.toString(16)}`
  const resolver = new Resolver(
    getResolver({ networks: [{ name: network, chainId, provider, registry: input.registry }] })
  )
  const log = {}
  const result = await vc.verifyCredential({
    credential: input.credential,
    suite: new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }),
    documentLoader: documentLoaderFor(input, resolver, log),
    checkStatus,
  })
  provider.destroy()
  return { verified: result.verified === true, errors: messages(result), loaded: log }
}

main().then(
  (output) => process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(0)),
  (error) => process.stderr.write(`${error?.stack ?? error}\n`, () => process.exit(1))
)
