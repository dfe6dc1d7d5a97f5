// The official TypeScript SDK's client (the one Claude Code and VS Code build on) given the /mcp/ URL only:
// it discovers the authorization server from the 401, registers, and asks for a sign-in. The test signs in
// and writes the code to stdin; the client then finishes the exchange, connects and lists the tools.
// Prints one JSON line per step.
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [serverUrl, callback] = process.argv.slice(2);
const state = {};
const provider = {
  get redirectUrl() { return callback; },
  get clientMetadata() {
    return { client_name: "TypeScript SDK client", redirect_uris: [callback], response_types: ["code"],
             grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none" };
  },
  clientInformation() { return state.client; },
  saveClientInformation(info) { state.client = info; },
  tokens() { return state.tokens; },
  saveTokens(tokens) { state.tokens = tokens; },
  redirectToAuthorization(url) { state.authorizationUrl = url.toString(); },
  saveCodeVerifier(verifier) { state.verifier = verifier; },
  codeVerifier() { return state.verifier; },
};
const say = (fields) => console.log(JSON.stringify(fields));

const first = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
try {
  await new Client({ name: "sdk-oauth-check", version: "1.0.0" }).connect(first);
  say({ step: "connect", connected: true });
  process.exit(1);  // without a sign-in nothing may connect
} catch (error) {
  say({ step: "connect", needs_authentication: error instanceof UnauthorizedError, error: String(error),
        client_id: state.client?.client_id, authorization_url: state.authorizationUrl });
}
const lines = createInterface({ input: process.stdin });
const code = (await lines[Symbol.asyncIterator]().next()).value.trim();
await first.finishAuth(code);
const client = new Client({ name: "sdk-oauth-check", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider }));
const { tools } = await client.listTools();
say({ step: "tools", tools: tools.map((tool) => tool.name).sort(), token_type: state.tokens?.token_type });
await client.close();
process.exit(0);
