// Digital Bazaar's VC libraries as the hub's interop peer: issue and verify W3C
// Verifiable Credentials (VC Data Model 2.0) secured with Data Integrity
// `eddsa-rdfc-2022`, through `@digitalbazaar/vc`, `@digitalbazaar/data-integrity`
// and `@digitalbazaar/eddsa-rdfc-2022-cryptosuite`.
//
// One JSON request on stdin, one JSON answer on stdout; every item of a request is
// handled in the same node process (loading jsonld costs more than the work).
//
//   {"command": "issue", "seed": "<64 hex>", "items": [
//       {"credential": {...}},                       // issued by the seed's did:key
//       {"presentation": {"credentials": [{...}], "challenge": "…", "domain": "…"}}]}
//   -> {"did": "did:key:z6Mk…", "verificationMethod": "did:key:z6Mk…#z6Mk…",
//       "documents": [<signed credential or presentation>, …]}
//
//   {"command": "verify", "now": "2025-01-01T00:00:00Z",       // optional
//    "ethr": {"rpcUrl": "…", "chainId": 1337, "registry": "0x…"},  // optional
//    "documents": {"https://…/status/1": {...}},                 // optional, see below
//    "items": [{"credential": {...}} | {"presentation": {...}, "challenge": "…", "domain": "…"}]}
//   -> {"results": [{"verified": true|false, "errors": ["…", …],
//                    "status": [{"statusPurpose": "revocation", "status": true|false}, …]}, …]}
//
// The document loader serves the bundled contexts only (the npm context packages and
// the hub's own context file), the `documents` given (status list credentials, as a
// verifier would take them from any mirror), and DIDs: did:key through
// `@digitalbazaar/did-method-key`, did:ethr through the standard `ethr-did-resolver`
// reading the chain's JSON-RPC. It never fetches anything else.
//
// Credentials with a `credentialStatus` are checked with
// `@digitalbazaar/vc-bitstring-status-list` (which verifies the list credential too);
// `status` is the bit of each entry (true: revoked / suspended), `verified` says
// whether the credential and its status lists verify.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as vc from '@digitalbazaar/vc'
import { DataIntegrityProof } from '@digitalbazaar/data-integrity'
import { checkStatus } from '@digitalbazaar/vc-bitstring-status-list'
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite'
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey'
import { driver as didKeyDriverFactory } from '@digitalbazaar/did-method-key'
import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context'
import { contexts as statusListContexts } from '@digitalbazaar/vc-bitstring-status-list-context'
import dataIntegrityContext from '@digitalbazaar/data-integrity-context'
import multikeyContext from '@digitalbazaar/multikey-context'
import didContext from 'did-context'
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'
import { JsonRpcProvider } from 'ethers'

const HUB_CONTEXT_URL = 'https://w3id.org/notary-hub/v1'
const HUB_CONTEXT_FILE = fileURLToPath(
  new URL('../../credentials/jsonld/contexts/notary-hub-v1.jsonld', import.meta.url)
)
const ED25519_2018 = 'Ed25519VerificationKey2018'

const CONTEXTS = new Map([
  ...credentialsContexts,
  ...statusListContexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...didContext.contexts,
  [HUB_CONTEXT_URL, JSON.parse(readFileSync(HUB_CONTEXT_FILE, 'utf8'))],
])

const didKeyDriver = didKeyDriverFactory()
didKeyDriver.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from })

function loaded(url, document) {
  return { contextUrl: null, documentUrl: url, document }
}

// Notaries set up before keys were published in base58 signed with keys that
// ethr-did-resolver renders from ERC-1056 `did/pub/Ed25519/veriKey/base64` attributes: an Ed25519VerificationKey2018
// with `publicKeyBase64`. The eddsa-rdfc-2022 cryptosuite builds its verifier with
// `Ed25519Multikey.from`, which takes Multikey (or a 2018 key in base58 only), so the
// verifier's DID layer presents the same raw key as a Multikey (Controlled
// Identifiers §2.2.2); id, controller and the key bytes are unchanged, and the
// credential is never touched.
async function asMultikey(method) {
  if (method.type !== ED25519_2018 || typeof method.publicKeyBase64 !== 'string') return method
  const raw = Buffer.from(method.publicKeyBase64, 'base64')
  if (raw.length !== 32) throw new Error(`${method.id}: not a 32-byte Ed25519 key`)
  const key = await Ed25519Multikey.fromJwk({
    jwk: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    id: method.id,
    controller: method.controller,
  })
  return key.export({ publicKey: true, includeContext: true })
}

function ethrResolver(ethr) {
  if (!ethr) return null
  const chainId = BigInt(ethr.chainId)
  const provider = new JsonRpcProvider(ethr.rpcUrl, chainId, { staticNetwork: true })
  const network = `0x${chainId.toString(16)}`
  const resolver = new Resolver(
    getResolver({ networks: [{ name: network, chainId, provider, registry: ethr.registry }] })
  )
  return { resolver, provider }
}

function makeDocumentLoader(ethr, documents = {}) {
  return async (url) => {
    const context = CONTEXTS.get(url)
    if (context !== undefined) return loaded(url, context)
    if (Object.hasOwn(documents, url)) return loaded(url, structuredClone(documents[url]))
    const [did, fragment] = url.split('#')
    if (did.startsWith('did:key:')) {
      return loaded(url, await didKeyDriver.get({ url }))
    }
    if (did.startsWith('did:ethr:') && ethr) {
      const { didDocument, didResolutionMetadata } = await ethr.resolver.resolve(did)
      if (!didDocument) {
        throw new Error(`${did}: ${didResolutionMetadata.error} ${didResolutionMetadata.message ?? ''}`)
      }
      if (fragment === undefined) return loaded(url, didDocument)
      const method = (didDocument.verificationMethod ?? []).find((m) => m.id === url)
      if (!method) throw new Error(`${url}: no such verification method`)
      // As resolved (a base58 2018 key or a Multikey); only a legacy base64 key is re-presented.
      return loaded(url, await asMultikey(method))
    }
    throw new Error(`document loader: ${url} is neither a bundled context nor a resolvable DID`)
  }
}

function suite() {
  return new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 })
}

function messages(result) {
  const found = []
  const add = (error) => {
    if (!error) return
    for (const one of [].concat(error)) {
      found.push(String(one?.message ?? one))
      if (one?.errors) add(one.errors)
    }
  }
  add(result.error)
  for (const r of result.results ?? []) add(r.error)
  for (const r of result.credentialResults ?? []) add(messages(r))
  add(result.presentationResult?.error)
  add(result.statusResult?.error)
  return [...new Set(found)]
}

async function verify(input) {
  const ethr = ethrResolver(input.ethr)
  if (ethr) {
    const served = BigInt(await ethr.provider.send('eth_chainId', []))
    if (served !== BigInt(input.ethr.chainId)) throw new Error(`chain ${served} is served`)
  }
  const documentLoader = makeDocumentLoader(ethr, input.documents ?? {})
  const now = input.now ?? undefined
  const results = []
  for (const item of input.items) {
    let result
    if (item.credential) {
      result = await vc.verifyCredential({
        credential: item.credential,
        suite: suite(),
        documentLoader,
        now,
        checkStatus,
      })
    } else {
      result = await vc.verify({
        presentation: item.presentation,
        challenge: item.challenge,
        domain: item.domain,
        suite: suite(),
        documentLoader,
        now,
        checkStatus,
      })
    }
    const status = (result.statusResult?.results ?? []).map((r) => ({
      statusPurpose: r.credentialStatus.statusPurpose,
      status: r.status,
    }))
    results.push({ verified: result.verified === true, errors: messages(result), status })
  }
  ethr?.provider.destroy()
  return { results }
}

async function issue(input) {
  const seed = Buffer.from(input.seed, 'hex')
  if (seed.length !== 32) throw new Error('seed: 32 bytes in hex')
  const keyPair = await Ed25519Multikey.generate({ seed })
  const { didDocument } = await didKeyDriver.fromKeyPair({ verificationKeyPair: keyPair })
  // did:key has one key for every purpose; the driver hands back its public half only,
  // so the generated pair (which holds the secret) is named after it.
  const method = didKeyDriver.publicMethodFor({ didDocument, purpose: 'assertionMethod' })
  keyPair.id = method.id
  keyPair.controller = didDocument.id
  const documentLoader = makeDocumentLoader(null)
  const signer = (key) =>
    new DataIntegrityProof({ signer: key.signer(), cryptosuite: eddsaRdfc2022 })
  const issueOne = (credential) =>
    vc.issue({
      credential: { ...credential, issuer: didDocument.id },
      suite: signer(keyPair),
      documentLoader,
    })
  const documents = []
  for (const item of input.items) {
    if (item.credential) {
      documents.push(await issueOne(item.credential))
      continue
    }
    const { credentials, challenge, domain } = item.presentation
    const verifiableCredential = []
    for (const credential of credentials) verifiableCredential.push(await issueOne(credential))
    const presentation = vc.createPresentation({ verifiableCredential, holder: didDocument.id })
    documents.push(
      await vc.signPresentation({ presentation, suite: signer(keyPair), challenge, domain, documentLoader })
    )
  }
  return { did: didDocument.id, verificationMethod: method.id, documents }
}

async function main() {
  const input = JSON.parse(readFileSync(0, 'utf8'))
  if (input.command === 'issue') return issue(input)
  if (input.command === 'verify') return verify(input)
  throw new Error(`unknown command ${JSON.stringify(input.command)}`)
}

main().then(
  (output) => process.stdout.write(JSON.stringify(output) + '\n', () => process.exit(0)),
  (error) => process.stderr.write(`${error?.stack ?? error}\n`, () => process.exit(1))
)
