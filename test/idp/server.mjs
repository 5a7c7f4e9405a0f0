// A real OpenID provider for sfmcp's tests, never for anything else:
// panva's oidc-provider (OpenID Certified), configured like an Okta custom
// authorization server, or, with --entra, showing Microsoft Entra ID's
// quirks. test/idptest starts it; it prints {"issuer":"http://127.0.0.1:PORT…"}
// on stdout once it listens, and exits when its stdin closes, so a test
// binary that dies leaves no provider behind.
//
// What oidc-provider 9.13.3 does, read in its source and checked by
// test/idptest:
//   - Loopback redirects: for application_type "native", a redirect URI
//     matches a registered one when they are equal, or when both are
//     http://127.0.0.1, http://localhost or http://[::1] URIs and equal
//     once their ports are removed (Client#redirectAllowed,
//     stripLoopbackPort). So registering http://127.0.0.1/callback admits
//     any port, as RFC 8252 §7.3 asks; web clients match exactly.
//   - PKCE: required for every client whose token_endpoint_auth_method is
//     "none" (pkce.required's default); S256 is the only method, and
//     discovery says so in code_challenge_methods_supported.
//   - offline_access: a refresh token is issued when the client may use
//     the refresh_token grant and offline_access was granted
//     (issueRefreshToken's default). openid is not needed, but at the
//     authorization endpoint offline_access is dropped unless prompt
//     includes consent (OpenID Connect Core §11, applied with or without
//     openid: actions/authorization/scopes.js). Okta needs no such prompt,
//     so consentForOfflineAccess below adds it. The device authorization
//     endpoint takes no prompt and keeps offline_access.
//   - rotateRefreshToken true: each refresh consumes the refresh token and
//     issues a new one; presenting a consumed one destroys it and revokes
//     the whole grant (its access and refresh tokens), answering
//     invalid_grant.
//
// For tests only, beside the provider: /_test/stats (its counters),
// /_test/secrets (every code, token and refresh token it issued, for a
// leak check to look for), and /_test/hold-refresh and
// /_test/release-refresh (refresh grants wait before the provider sees
// them, so a test can act while a client's refresh is in flight).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SFMCP_IDP_PORT || '0' },
    audience: { type: 'string', default: 'https://myorg-myaccount.snowflakecomputing.com' },
    'client-id': { type: 'string', default: 'sfmcp' },
    'redirect-uri': { type: 'string', multiple: true, default: ['http://127.0.0.1/callback'] },
    scope: { type: 'string', multiple: true, default: ['session:role:MCP_USERS'] },
    resource: { type: 'string', multiple: true, default: [] },
    'access-ttl': { type: 'string', default: '300' },
    'refresh-ttl': { type: 'string', default: '86400' },
    'issuer-path': { type: 'string', default: '' },
    entra: { type: 'boolean', default: false },
  },
});

const AUDIENCE = opt.audience;
// Resource indicators accepted: the audience itself and any the test adds
// (e.g. an MCP server's URL); each gives a token for AUDIENCE.
const RESOURCES = new Set([AUDIENCE, ...opt.resource]);
const ACCESS_TTL = Number(opt['access-ttl']);
const PREFIX = opt['issuer-path'].replace(/\/+$/, '');
const ENTRA = opt.entra;
// Entra's answer to a resource parameter on its v2 endpoints.
const AADSTS9010010 = "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.";

const stats = {
  codes_exchanged: 0,
  refreshes: 0,
  refresh_errors: 0,
  refresh_reuses: 0,
  grants_revoked: 0,
  device_codes_completed: 0,
  resource_refused: 0,
  refreshes_held: 0,
  refreshes_abandoned: 0,
};

// Every secret the provider issued: authorization and device codes, access,
// refresh and ID tokens. Only /_test/secrets reads it, for a leak check.
const issued = new Set();

// A fresh signing key per run: oidc-provider's built-in development key is
// public, and a test that verified against it would prove nothing.
function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }] };
}

// scp as Okta puts it in a custom authorization server's access token: the
// granted scopes that are Snowflake's, as an array. An Entra-style scope
// (api://APP/session:scope:R) appears by its name after the app's URI.
function scp(scope) {
  return (scope || '').split(' ').map((s) => s.slice(s.lastIndexOf('/') + 1)).filter((s) => s.startsWith('session:'));
}

function configuration() {
  const resourceServer = {
    scope: opt.scope.join(' '),
    audience: AUDIENCE,
    accessTokenTTL: ACCESS_TTL,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
  return {
    clients: [{
      client_id: opt['client-id'],
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: opt['redirect-uri'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    }],
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: ['openid', 'offline_access'],
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: !ENTRA },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (!RESOURCES.has(resource)) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    extraTokenClaims: async (ctx, token) => (token.kind === 'AccessToken' ? { scp: scp(token.scope) } : undefined),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ACCESS_TTL,
      RefreshToken: Number(opt['refresh-ttl']),
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: Number(opt['refresh-ttl']),
      Interaction: 600,
      Session: 3600,
      IdToken: 300,
    },
  };
}

function count(provider) {
  const grantType = (ctx) => ctx?.oidc?.params?.grant_type;
  provider.on('grant.success', (ctx) => {
    for (const k of ['access_token', 'refresh_token', 'id_token']) {
      if (ctx.body?.[k]) issued.add(ctx.body[k]);
    }
    switch (grantType(ctx)) {
      case 'authorization_code': stats.codes_exchanged += 1; break;
      case 'refresh_token': stats.refreshes += 1; break;
      case 'urn:ietf:params:oauth:grant-type:device_code': stats.device_codes_completed += 1; break;
      default:
    }
  });
  provider.on('grant.error', (ctx) => {
    if (grantType(ctx) === 'refresh_token') stats.refresh_errors += 1;
  });
  provider.on('grant.revoked', (ctx) => {
    stats.grants_revoked += 1;
    // The refresh grant revokes only when a consumed refresh token came back.
    if (ctx?.oidc?.route === 'token' && grantType(ctx) === 'refresh_token') stats.refresh_reuses += 1;
  });
  // An opaque code's value is its id.
  provider.on('authorization_code.saved', (code) => issued.add(code.jti));
  provider.on('device_code.saved', (code) => issued.add(code.jti));
}

// Refresh grants held before the provider sees them, while holding is on.
let holding = false;
const held = new Set();

// holdRefresh makes a refresh grant wait until /_test/release-refresh,
// and reports whether it may go on: a request whose client went away
// meanwhile (a killed daemon) is dropped unseen, as a request lost on
// its way would be, and counted as abandoned.
function holdRefresh(res) {
  stats.refreshes_held += 1;
  return new Promise((resolve) => {
    const wait = () => resolve(true);
    held.add(wait);
    res.once('close', () => {
      if (held.delete(wait)) {
        stats.refreshes_abandoned += 1;
        resolve(false);
      }
    });
  });
}

// testRoute answers the test-only routes, and says whether it did.
function testRoute(req, res, path) {
  switch (`${req.method} ${path}`) {
    case 'GET /_test/stats': json(res, 200, stats); return true;
    case 'GET /_test/secrets': json(res, 200, { secrets: [...issued] }); return true;
    case 'POST /_test/hold-refresh': holding = true; json(res, 200, {}); return true;
    case 'POST /_test/release-refresh':
      holding = false;
      for (const go of held) go();
      held.clear();
      json(res, 200, {});
      return true;
    default: return false;
  }
}

// isRefreshGrant reads a token request's form (left on req.body, where
// oidc-provider looks when the stream is spent) and says whether it is
// a refresh grant.
async function isRefreshGrant(req) {
  if (!req.body) req.body = await readForm(req);
  return new URLSearchParams(req.body.toString()).get('grant_type') === 'refresh_token';
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// entraRefusal answers a request that carries resource the way Entra's v2
// endpoints do, and says whether it did. A POST's body is read here and
// left on req.body, where oidc-provider looks when the stream is spent.
async function entraRefusal(provider, req, res, path, url) {
  if (!['/auth', '/token', '/device/auth'].includes(path)) return false;
  let params = url.searchParams;
  if (req.method === 'POST') {
    req.body = await readForm(req);
    params = new URLSearchParams(req.body.toString());
  }
  if (!params.has('resource')) return false;
  stats.resource_refused += 1;
  const error = { error: 'invalid_target', error_description: AADSTS9010010 };
  if (path === '/auth') {
    const client = await provider.Client.find(params.get('client_id') || '');
    const redirect = params.get('redirect_uri');
    if (client && redirect && client.redirectUriAllowed(redirect)) {
      const to = new URL(redirect);
      to.searchParams.set('error', error.error);
      to.searchParams.set('error_description', error.error_description);
      if (params.has('state')) to.searchParams.set('state', params.get('state'));
      res.writeHead(302, { location: to.href });
      res.end();
      return true;
    }
  }
  json(res, 400, error);
  return true;
}

// entraDiscovery removes what Entra's discovery document lacks: PKCE
// methods (it does S256 but does not say so) and RFC 9207's iss.
function entraDiscovery(body) {
  const doc = JSON.parse(body);
  delete doc.code_challenge_methods_supported;
  delete doc.authorization_response_iss_parameter_supported;
  return JSON.stringify(doc);
}

// withEntraResponses rewrites the provider's answers as Entra gives them:
// its discovery document, and authorization responses without iss.
function withEntraResponses(res, path, issuer) {
  if (path === '/.well-known/openid-configuration') {
    const { end, setHeader } = res;
    res.setHeader = (name, value) => (name.toLowerCase() === 'content-length' ? res : setHeader.call(res, name, value));
    res.end = (chunk, ...rest) => end.call(res, chunk ? entraDiscovery(chunk.toString()) : chunk, ...rest);
    return;
  }
  const { writeHead } = res;
  res.writeHead = (status, ...rest) => {
    const location = res.getHeader('location');
    if (typeof location === 'string') {
      const to = new URL(location, issuer);
      if (to.origin !== new URL(issuer).origin && to.searchParams.has('iss')) {
        to.searchParams.delete('iss');
        res.setHeader('location', to.href);
      }
    }
    return writeHead.call(res, status, ...rest);
  };
}

// consentForOfflineAccess keeps offline_access on a sign-in as Okta and
// Entra do. oidc-provider follows OpenID Connect Core §11 at the
// authorization endpoint: it drops offline_access unless prompt includes
// consent, with or without openid (checkScope). Native clients get the
// consent page anyway (the native_client_prompt check), so asking for
// consent changes no page; it only keeps offline_access. prompt=none is
// left alone (then no refresh token), and so are POSTed requests.
function consentForOfflineAccess(url) {
  const scope = (url.searchParams.get('scope') || '').split(' ');
  const prompt = (url.searchParams.get('prompt') || '').split(' ').filter(Boolean);
  if (scope.includes('offline_access') && !prompt.includes('consent') && !prompt.includes('none')) {
    url.searchParams.set('prompt', [...prompt, 'consent'].join(' '));
  }
}

function handler(provider, issuer) {
  const callback = provider.callback();
  return async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      if (testRoute(req, res, url.pathname)) return undefined;
      if (url.pathname !== PREFIX && !url.pathname.startsWith(`${PREFIX}/`)) return json(res, 404, { error: 'not_found' });
      const path = url.pathname.slice(PREFIX.length) || '/';
      if (ENTRA) {
        // Entra publishes OpenID discovery only, not RFC 8414's.
        if (path === '/.well-known/oauth-authorization-server') return json(res, 404, { error: 'not_found' });
        if (await entraRefusal(provider, req, res, path, url)) return undefined;
        withEntraResponses(res, path, issuer);
      }
      if (path === '/auth' && req.method === 'GET') consentForOfflineAccess(url);
      if (holding && path === '/token' && req.method === 'POST' && await isRefreshGrant(req) && !(await holdRefresh(res))) {
        return undefined;
      }
      // Mounted as express would mount it: oidc-provider finds its mount
      // path from originalUrl minus url.
      req.url = path + url.search;
      req.originalUrl = PREFIX + req.url;
      return callback(req, res);
    } catch (err) {
      return json(res, 400, { error: 'invalid_request', error_description: String(err.message) });
    }
  };
}

const server = createServer();
server.listen(Number(opt.port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}${PREFIX}`;
  const provider = new Provider(issuer, configuration());
  count(provider);
  server.on('request', handler(provider, issuer));
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
