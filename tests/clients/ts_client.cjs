// A plan of MCP steps run by the TypeScript SDK's client (the format of mcp2_client.py).
// Usage: NODE_PATH=<install>/node_modules node ts_client.cjs PLAN.json -- one JSON line per step.
"use strict";
const fs = require("node:fs");
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { McpError } = require("@modelcontextprotocol/sdk/types.js");

const emit = (record) => process.stdout.write(JSON.stringify(record) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(path) {
  while (!fs.existsSync(path)) await sleep(20);
}

async function call(client, step) {
  let progress = 0;
  const controller = new AbortController();
  if (step.abort_when) waitFor(step.abort_when).then(() => controller.abort("test cancels"));
  // the SDK's default request timeout (60 s) stays; progress resets it, as hosts configure it
  const options = { signal: controller.signal, resetTimeoutOnProgress: true };
  if (step.progress) options.onprogress = () => { progress += 1; };
  try {
    const result = await client.callTool({ name: step.tool, arguments: step.arguments || {} }, undefined, options);
    const text = result.content.filter((c) => c.type === "text").map((c) => c.text).join("");
    return { op: "call", isError: Boolean(result.isError), text, structured: result.structuredContent ?? null, progress };
  } catch (err) {
    if (controller.signal.aborted) return { op: "aborted" };
    if (err instanceof McpError) return { op: "error", code: err.code, message: err.message, progress };
    return { op: "error", code: null, message: String(err && err.message ? err.message : err), progress };
  }
}

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const transport = new StreamableHTTPClientTransport(new URL(plan.url), { requestInit: { headers: plan.headers || {} } });
  const client = new Client({ name: "k8s-mcp-server-tests", version: "0" });
  await client.connect(transport);
  for (const step of plan.steps) {
    if (step.op === "list") emit({ op: "list", tools: (await client.listTools()).tools });
    else if (step.op === "call") emit(await call(client, step));
    else if (step.op === "touch") fs.writeFileSync(step.path, "");
    else if (step.op === "wait_file") await waitFor(step.path);
  }
  await client.close();
}

main().then(() => process.exit(0), (err) => { emit({ op: "crash", message: String(err) }); process.exit(1); });
