// An OpenID Connect provider for the sign-in tests: the certified `oidc-provider` package on
// loopback, with its development sign-in pages (any password) and accounts given by the test.
// Polku is its public client: authorization code with PKCE (S256), no client secret.

import { createServer } from 'node:http';
import { once } from 'node:events';
import Provider from 'oidc-provider';

/** A free loopback port (for a server whose address must be known before it starts). */
export async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  await once(probe, 'close');
  return port;
}

/**
 * Starts the provider. `accounts` maps a login name to its claims (`name`, `polku_role`,
 * `polku_units`); the object is read at sign-in, so the test may fill it in later.
 */
export async function startIdp({ clientId, redirectUri, accounts }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: 'none',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    // Polku's claims go into the identity token itself, which is all Polku reads.
    conformIdTokenClaims: false,
    claims: { openid: ['sub', 'polku_role', 'polku_units'], profile: ['name'] },
    findAccount: async (_ctx, id) => {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account }) };
    },
    cookies: { keys: ['polku-browser-test-only'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  });
  provider.proxy = false;
  const calls = [];
  provider.on('grant.success', (ctx) => calls.push({ grant: ctx.oidc.params.code_verifier ? 'pkce' : 'plain' }));
  provider.on('grant.error', (_ctx, err) => calls.push({ error: err.message }));
  const server = createServer(provider.callback());
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    issuer,
    calls,
    close: async () => { server.close(); server.closeAllConnections?.(); },
  };
}
