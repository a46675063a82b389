// The TypeScript SDK's own OAuth client (what the MCP Inspector and mcp-remote are built on) against
// a server that answers 401: it reads the resource metadata, discovers the issuer, registers, runs
// the authorization-code flow with PKCE and calls one tool. The "browser" is a fetch that follows the
// test issuer's consent redirect (it consents at once) and hands the code back, as a callback page would.
// Usage: NODE_PATH=<install>/node_modules node ts_oauth_client.cjs URL TOOL ARGUMENTS_JSON
// Prints one JSON line: {isError, text, client_id} or {error}.
"use strict";
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { UnauthorizedError } = require("@modelcontextprotocol/sdk/client/auth.js");

const REDIRECT = "http://127.0.0.1:9/callback";

class MemoryProvider {
  constructor() {
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.code = undefined;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "ts-sdk-test-agent", redirect_uris: [REDIRECT], grant_types: ["authorization_code"],
      response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    const response = await fetch(url, { redirect: "manual" });
    const location = new URL(response.headers.get("location"));
    this.code = location.searchParams.get("code");
  }
}

async function connect(url, provider) {
  const client = new Client({ name: "k8s-mcp-server-oauth-test", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  return client;
}

async function main() {
  const [url, tool, args] = process.argv.slice(2);
  const provider = new MemoryProvider();
  let client;
  try {
    client = await connect(url, provider);
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !provider.code) throw err;
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    await transport.finishAuth(provider.code);
    client = await connect(url, provider);
  }
  const result = await client.callTool({ name: tool, arguments: JSON.parse(args) });
  const text = result.content.filter((c) => c.type === "text").map((c) => c.text).join("");
  process.stdout.write(JSON.stringify({ isError: Boolean(result.isError), text, client_id: provider.info && provider.info.client_id }) + "\n");
  await client.close();
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ error: String(err && err.message ? err.message : err) }) + "\n");
  process.exit(1);
});
