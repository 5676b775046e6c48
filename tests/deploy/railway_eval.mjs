// Evaluate .railway/railway.ts the way the Railway CLI does, with the official `railway` package,
// and print the result as JSON for tests/deploy/test_railway_iac.py.
//
// Run from .railway/ (so `tsx` resolves from its node_modules; `railway` depends on it):
//   node --import tsx <this file> <path to railway.ts> [environment]
// The CLI imports the module, calls its default export (the defineRailway program) with a context
// and the `project` helper, and works on the ProjectDefinition it returns. This does the same with
// the package's own createRailwayContext and project, builds the RailwayGraph from the resources
// and their variable references, and checks it with the package's validateGraph.

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [file, environment = "production"] = process.argv.slice(2);
// `railway/iac` as the configuration file itself resolves it: its ESM entry in the package
// installed beside the file (one module instance for both).
const packageDir = join(dirname(resolve(file)), "node_modules", "railway");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const iac = await import(pathToFileURL(join(packageDir, manifest.exports["./iac"].import.default)).href);
const { RAILWAY_GRAPH_VERSION, createRailwayContext, project, validateGraph } = iac;
const mod = await import(pathToFileURL(resolve(file)).href);
const program = mod.default;
if (typeof program !== "function") {
  throw new Error(`${file} must export default defineRailway(...)`);
}
const definition = await program(createRailwayContext({ command: "plan", environment }), project);
const resources = definition.resources ?? [];
const edges = [];
for (const resource of resources) {
  for (const [key, value] of Object.entries(resource.variables ?? {})) {
    if (value && value.type === "reference") {
      edges.push({ from: resource.address, to: value.resource, type: "variable", key });
    }
  }
}
const graph = {
  version: RAILWAY_GRAPH_VERSION,
  project: { name: definition.name },
  environments: [{ name: environment }],
  resources,
  edges,
};
process.stdout.write(JSON.stringify({ partial: mod.partial ?? null, graph, errors: validateGraph(graph) }));
