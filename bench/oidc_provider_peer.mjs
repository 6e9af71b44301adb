// panva's oidc-provider, configured for the grants the hub's token benchmark measures
// (issue 13 §11), so bench/oauth_side_by_side.py can drive both under the same load.
//
// Usage: node bench/oidc_provider_peer.mjs PORT
// Prints one JSON line {"url", "cc": [id, secret], "code": [id, secret]} once listening;
// then each stdin line "mint N" is answered by one JSON line {"codes": [[code, verifier]...]}.
//
// Configuration, matching the hub's work per request:
// - client_credentials (RFC 6749 §4.4), client_secret_basic;
// - authorization_code with PKCE S256 required (RFC 7636), ID tokens ES256 with pairwise
//   subjects (OpenID Connect Core 1.0 §8.1), refresh tokens rotated on use (RFC 9700 §4.14.2);
// - access tokens are RFC 9068 JWTs signed ES256 for one resource server
//   (RFC 8707 resource indicators, `accessTokenFormat: 'jwt'`), as the hub's;
// - introspection (RFC 7662) enabled. oidc-provider keeps no record of a JWT access token,
//   so it answers `active: false` for one; the introspection run therefore introspects an
//   opaque client-credentials token of a second resource server (`urn:bench:opaque`), which
//   it stores and looks up, as the hub looks its JWT up in its ledger.
// Storage is oidc-provider's in-memory adapter (its default, an LRU in this process, here
// with room for 1,000,000 entries instead of 1,000): no database round trip, unlike the
// hub on PostgreSQL.
// Codes are minted in-process through its models (Grant, AuthorizationCode), as the hub's
// benchmark issues its codes through `CodeIssuer.issue_code`.
import { createHash, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import Provider from 'oidc-provider'
// oidc-provider's own in-memory adapter and LRU, which it uses by default with room for
// 1,000 entries only: a run mints thousands of codes and grants, so the store is larger.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js'
import LRU from 'oidc-provider/lib/helpers/lru.js'

// stdout carries this script's JSON lines only: oidc-provider's notices go to stderr.
console.log = console.error
console.info = console.error

const port = Number(process.argv[2])
const issuer = `http://127.0.0.1:${port}`
const API = 'urn:bench:api'
const OPAQUE = 'urn:bench:opaque'
const REDIRECT = 'https://platform.test/callback'
const SCOPES = 'evidence:deposit evidence:read'
const secret = (label) => `${label}-${randomBytes(24).toString('base64url')}`
const cc = ['bench-cc', secret('cc')]
const code = ['bench-code', secret('code')]

const pairwiseKey = randomBytes(32)
const signingKey = {
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: 'bench-es256',
  alg: 'ES256',
  use: 'sig',
}

const resourceServer = (resource) => ({
  scope: SCOPES,
  audience: resource,
  accessTokenTTL: 3600,
  accessTokenFormat: resource === OPAQUE ? 'opaque' : 'jwt',
  jwt: { sign: { alg: 'ES256' } },
})

const store = new LRU({ maxSize: 1_000_000 })

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [signingKey] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  clients: [
    {
      client_id: cc[0],
      client_secret: cc[1],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
    {
      client_id: code[0],
      client_secret: code[1],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
    },
  ],
  scopes: ['openid', 'offline_access', 'evidence:deposit', 'evidence:read'],
  subjectTypes: ['public', 'pairwise'],
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  // as the hub's: HMAC-SHA256 over the sector and the account id (OpenID Connect Core §8.1)
  pairwiseIdentifier: (ctx, accountId, client) =>
    createHmac('sha256', pairwiseKey)
      .update(`${client.sectorIdentifier}\0${accountId}`)
      .digest('base64url'),
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 900,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 14 * 86400,
    Grant: 14 * 86400,
    Interaction: 3600,
    Session: 86400,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // a client introspects its own tokens, as the hub's benchmark client does
    introspection: {
      enabled: true,
      allowedPolicy: (ctx, client, token) => token.clientId === client.clientId,
    },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => resourceServer(resource),
    },
  },
})

async function mint(count) {
  const client = await provider.Client.find(code[0])
  const codes = []
  for (let index = 0; index < count; index += 1) {
    const accountId = `acct-${index}`
    const grant = new provider.Grant({ accountId, clientId: code[0] })
    grant.addOIDCScope('openid offline_access')
    grant.addResourceScope(API, 'evidence:read')
    const grantId = await grant.save()
    const verifier = randomBytes(48).toString('base64url')
    const issued = new provider.AuthorizationCode({
      accountId,
      client,
      grantId,
      redirectUri: REDIRECT,
      scope: 'openid offline_access evidence:read',
      resource: API,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      codeChallengeMethod: 'S256',
      nonce: `n${index}`,
      authTime: Math.floor(Date.now() / 1000),
    })
    codes.push([await issued.save(), verifier])
  }
  return codes
}

provider.on('server_error', (ctx, error) => console.error(error))

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: issuer, cc, code })}\n`)
})
server.keepAliveTimeout = 60_000

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(' ')
  if (command === 'mint') {
    process.stdout.write(`${JSON.stringify({ codes: await mint(Number(count)) })}\n`)
  }
}
server.close()
