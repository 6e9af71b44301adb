// A relying party on panva's openid-client v6, against the hub (issue 13 §10).
//
// Usage: node openid_client_rp.mjs '<config JSON>'
//   config: {issuer, client_id, auth_method, client_secret?, private_jwk?, redirect_uri,
//            scope, id_token_alg}
//
// Phase 1: OpenID Connect Discovery 1.0 (`discovery`), then an authorisation URL with
// PKCE S256 (RFC 7636 §4), `state` and `nonce` (`buildAuthorizationUrl`), printed as one
// JSON line {"authorization_url", "state", "nonce"}.
// Phase 2: each line read from stdin is a callback URL the browser was sent to. For each,
// `authorizationCodeGrant` checks the response (state, RFC 9207 `iss`), exchanges the code
// with the PKCE verifier, validates the ID token (signature from the JWKS, iss, aud, exp,
// nonce), then `fetchUserInfo` (OpenID Connect Core 1.0 §5.3, `sub` matching the ID
// token's) and `refreshTokenGrant`; one JSON line answers: {"ok": true, ...} or
// {"ok": false, "name", "code", "error", "message", "cause", "cause_code"} when
// openid-client throws.
// `allowInsecureRequests` only because the test hub is plain http on loopback.
import { createInterface } from 'node:readline'
import * as client from 'openid-client'

const settings = JSON.parse(process.argv[2])
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`)

async function clientAuthentication() {
  switch (settings.auth_method) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(settings.client_secret)
    case 'client_secret_post':
      return client.ClientSecretPost(settings.client_secret)
    case 'private_key_jwt': {
      const key = await crypto.subtle.importKey(
        'jwk',
        settings.private_jwk,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['sign'],
      )
      return client.PrivateKeyJwt({ key, kid: settings.private_jwk.kid })
    }
    default:
      throw new Error(`unknown auth_method ${settings.auth_method}`)
  }
}

function failure(error) {
  return {
    ok: false,
    name: error.name,
    code: error.code ?? null,
    error: error.error ?? null,
    message: error.message,
    // openid-client wraps oauth4webapi's error, which says what failed
    cause: error.cause?.message ?? null,
    cause_code: error.cause?.code ?? null,
  }
}

async function exchange(config, checks, callback) {
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), checks)
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  return {
    ok: true,
    id_token_claims: claims,
    userinfo,
    token_type: tokens.token_type,
    scope: tokens.scope ?? null,
    refreshed_access_token: refreshed.access_token,
    refresh_rotated:
      typeof refreshed.refresh_token === 'string' &&
      refreshed.refresh_token !== tokens.refresh_token,
  }
}

async function main() {
  const metadata = { id_token_signed_response_alg: settings.id_token_alg }
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.client_id,
    metadata,
    await clientAuthentication(),
    { execute: [client.allowInsecureRequests] },
  )
  const verifier = client.randomPKCECodeVerifier()
  const checks = {
    pkceCodeVerifier: verifier,
    expectedState: client.randomState(),
    expectedNonce: client.randomNonce(),
    idTokenExpected: true,
  }
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirect_uri,
    scope: settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
  })
  say({
    authorization_url: url.href,
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    server: config.serverMetadata().issuer,
  })
  for await (const line of createInterface({ input: process.stdin })) {
    try {
      say(await exchange(config, checks, line.trim()))
    } catch (error) {
      say(failure(error))
    }
  }
}

main().catch((error) => {
  say(failure(error))
  process.exitCode = 1
})
